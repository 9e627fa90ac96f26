import { strict as assert } from "node:assert";
import { parseConfig } from "../checker/config";
import type { ProbeResult } from "../checker/domain/types";
import { Checker } from "../checker/cycle/checker";
import { createLogger } from "../checker/observability/logger";
import { Metrics } from "../checker/observability/metrics";
import { StatusBook } from "../checker/observability/status";
import type { Prober } from "../checker/ports";
import { ADAPTIVE_MAX } from "../checker/probe/schedule";
import { autoConcurrency, ProbeConcurrency } from "../checker/probe";
import { LocalLease } from "../checker/state/local-lease";
import { MemoryStateStore } from "../checker/state/memory-store";
import { FAST, type LogLine } from "./support/checker-harness";
import { MEMORY_NAMESPACE, memoryNamespace, taskIdOf } from "./support/memory-ports";
import { VirtualClock } from "./support/virtual-clock";

/** The clock of the test's checker: virtual, driven by `cycle` (set afresh by `setup`). */
let clock = new VirtualClock();

/** Targets that all answer, each after `ms`; counts in-flight. */
class SlowProber implements Prober {
  inFlight = 0;
  maxInFlight = 0;
  probed = 0;
  constructor(private readonly ms: number) {}
  async probe(): Promise<ProbeResult> {
    this.probed++;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    await clock.sleep(this.ms);
    this.inFlight--;
    return { ok: true, detail: "HTTP 200", latencyMs: this.ms, at: clock.now() };
  }
}

/** A prober that passes everything and records whom it probed. */
class RecordingProber implements Prober {
  readonly hosts: string[] = [];
  private first: (() => void) | undefined;
  readonly firstProbe = new Promise<void>((resolve) => (this.first = resolve));
  async probe(target: { host: string }): Promise<ProbeResult> {
    this.hosts.push(target.host);
    this.first?.();
    return { ok: true, detail: "HTTP 200", latencyMs: 1, at: clock.now() };
  }
}

/** Targets that hang until the probe's timeout, except the first `healthy`; counts in-flight. */
class HangingProber implements Prober {
  inFlight = 0;
  maxInFlight = 0;
  probed = 0;
  constructor(private readonly healthy: number) {}
  async probe(target: { host: string }, check: { timeoutMs: number }): Promise<ProbeResult> {
    this.probed++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const last =
      Number(target.host.split(".").pop()) - 1 + 250 * (Number(target.host.split(".")[2]) - 60);
    try {
      if (last < this.healthy)
        return { ok: true, detail: "HTTP 200", latencyMs: 1, at: clock.now() };
      await clock.sleep(check.timeoutMs);
      return { ok: false, detail: "timeout", latencyMs: check.timeoutMs, at: clock.now() };
    } finally {
      this.inFlight--;
    }
  }
}

async function setup(
  count: number,
  prober: Prober = new RecordingProber(),
  settings = {},
  perService = 1000,
) {
  const { cloudMap, ecs } = memoryNamespace({
    count,
    port: 8080,
    perService,
    addressOf: (i) => `127.0.${60 + Math.floor(i / 250)}.${(i % 250) + 1}`,
  });
  const logs: LogLine[] = [];
  const config = parseConfig({
    flags: { ...FAST, namespace: MEMORY_NAMESPACE.name, ...settings },
    env: {},
  });
  const metrics = new Metrics();
  clock = new VirtualClock();
  const status = new StatusBook(config.intervalMs, clock.now());
  const checker = await Checker.create({
    config,
    cloudMap,
    ecs,
    prober,
    clock,
    store: new MemoryStateStore(),
    lease: new LocalLease("test"),
    logger: createLogger("debug", { write: (l: string) => void logs.push(JSON.parse(l)) }),
    metrics,
    status,
  });
  return { cloudMap, ecs, prober: prober as RecordingProber, logs, checker, metrics, status };
}

/** One cycle, with the virtual clock driven until it ends (bounded, so a hang fails the test). */
async function cycle(w: { checker: Checker }): Promise<Awaited<ReturnType<Checker["runCycle"]>>> {
  let done = false;
  const running = w.checker.runCycle().finally(() => (done = true));
  for (let k = 0; !done; k++) {
    if (k > 10_000) throw new Error("the cycle did not end within 500 s of virtual time");
    await clock.run(clock.now() + 50);
  }
  return running;
}

describe("probe concurrency", () => {
  it("auto: enough probes in flight that hanging targets do not hold back the others", async () => {
    // 600 targets, 550 hanging until the timeout (150 ms), spread over 90 ms (FAST): a fixed
    // 64 in flight would start most probes late; auto sizes the pool for all of them.
    const prober = new HangingProber(50);
    const w = await setup(600, prober);
    await cycle(w);
    assert.equal(prober.probed, 600, "every instance probed");
    assert.ok(prober.maxInFlight > 64, `more than 64 in flight (${prober.maxInFlight})`);
    const fixed = new HangingProber(50);
    const f = await setup(600, fixed, { concurrency: "64" });
    await cycle(f);
    assert.equal(fixed.maxInFlight, 64, "a fixed setting is a hard limit");
  });

  it("auto: more in flight where every target answers, but slowly", async () => {
    // 1,200 targets that each take 60 ms (below the 150 ms timeout) over a 90 ms spread: 256 in
    // flight would start the last ones some 200 ms late; by the mean probe time, about 1,200.
    const prober = new SlowProber(60);
    const w = await setup(1200, prober);
    await cycle(w);
    assert.equal(prober.probed, 1200, "every instance probed");
    assert.ok(prober.maxInFlight > 256, `more than 256 in flight (${prober.maxInFlight})`);
  });

  it("sizes auto concurrency by the mean probe time, up to its ceiling", () => {
    const loop = { busy: 0.2, t: 0, utilization: () => loop.busy, now: () => (loop.t += 1000) };
    const c = new ProbeConcurrency(loop);
    const limit = c.limit(20_000, 2000, 2000);
    assert.equal(limit(), autoConcurrency(20_000, 2000, 2000), "no probe time yet: the floor");
    for (let i = 0; i < 1000; i++) c.observe(2);
    assert.equal(limit(), 256, "fast targets: the floor");
    for (let i = 0; i < 5000; i++) c.observe(100);
    assert.ok(Math.abs(limit() - 1500) <= 2, `100 ms each: 1.5 x 10,000/s x 0.1 s (${limit()})`);
    c.observe(Number.NaN);
    c.observe(-5);
    assert.ok(Math.abs(limit() - 1500) <= 2, "nonsense times are ignored");
    for (let i = 0; i < 5000; i++) c.observe(1500);
    assert.equal(limit(), ADAPTIVE_MAX, "hanging targets: capped");
    loop.busy = 0.9;
    assert.equal(limit(), 256, "the checker's own CPU is the bottleneck: no more in flight");
    loop.busy = 0.3;
    assert.equal(limit(), ADAPTIVE_MAX, "and again once it has time to spare");
    assert.equal(c.limit(100, 2000, 8000)(), 64, "a small namespace needs few");
  });

  it("sizes auto concurrency from count, timeout and spread, within its bounds", () => {
    assert.equal(autoConcurrency(100, 2000, 6000), 64, "small namespaces keep the floor");
    assert.equal(autoConcurrency(300, 2000, 6000), 150);
    assert.equal(autoConcurrency(20_000, 2000, 2000), 256, "capped");
    assert.equal(autoConcurrency(100, 500, 0), 150, "no spread: as if over one timeout");
  });
});

describe("a cycle's ECS read runs alongside its probes", () => {
  // With an explicit protocol: `auto` waits (briefly) for the protocol of tasks new to it.
  const HTTP = { checkProtocol: "http" };

  it("probes while DescribeTasks is still answering, then decides with ECS's answer", async () => {
    const w = await setup(4, undefined, HTTP);
    let probedBeforeAnswer = 0;
    w.ecs.beforeDescribe = async () => {
      // Held back until a probe has started (or 2 s, if the cycle waited for ECS first).
      await Promise.race([w.prober.firstProbe, clock.sleep(2000)]);
      probedBeforeAnswer = w.prober.hosts.length;
    };
    // ECS says one task is stopping, and only DescribeTasks says so (ListTasks has not seen it).
    const id = taskIdOf(2);
    w.ecs.tasks.set(id, { ...w.ecs.tasks.get(id)!, lastStatus: "DEACTIVATING" });

    const report = await cycle(w);
    assert.ok(probedBeforeAnswer > 0, "probes started before DescribeTasks answered");
    assert.deepEqual(w.cloudMap.mutations, [`deregister ${id}`], "the answer was used at once");
    assert.match(report.actions[0]!.reason, /going away/);
  });

  it("does not probe a task that ListTasks already reports as going away", async () => {
    const w = await setup(4);
    const id = taskIdOf(1);
    w.ecs.tasks.set(id, { ...w.ecs.tasks.get(id)!, desiredStatus: "STOPPED" });
    await cycle(w);
    assert.equal(w.prober.hosts.length, 3);
    assert.ok(!w.prober.hosts.includes("127.0.60.2"), "the stopping task was not probed");
    assert.deepEqual(w.cloudMap.mutations, [`deregister ${id}`]);
  });

  it("asks ECS about a task it took out only once it passes again, before putting it back", async () => {
    const prober = new TimedProber(new Set(["127.0.60.2"]));
    const w = await setup(4, prober);
    const asked: string[] = [];
    const describe = w.ecs.describeTasks.bind(w.ecs);
    w.ecs.describeTasks = async (refs) => {
      asked.push(...refs.map((r) => r.taskId));
      return describe(refs);
    };
    const id = taskIdOf(1);
    await cycle(w);
    await cycle(w); // the second failure takes it out
    assert.deepEqual(w.cloudMap.mutations, [`deregister ${id}`]);
    asked.length = 0;
    await cycle(w);
    await cycle(w);
    assert.ok(!asked.includes(id), "out and still failing: nothing for ECS to decide");
    prober.failing = new Set();
    await cycle(w); // first success
    asked.length = 0;
    await cycle(w); // second success puts it back
    assert.ok(asked.includes(id), "ECS was asked before the re-registration");
    assert.deepEqual(w.cloudMap.mutations, [`deregister ${id}`, `register ${id}`]);
  });

  it("a DescribeTasks failure during the probes leaves task state unavailable, never a crash", async () => {
    const w = await setup(4, undefined, HTTP);
    w.ecs.beforeDescribe = async () => {
      await w.prober.firstProbe;
      throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    };
    const report = await cycle(w);
    assert.equal(report.probeStats.probed, 4, "the probes ran");
    assert.deepEqual(w.cloudMap.mutations, [], "nothing was decided from the failure");
    for (const i of report.services[0]!.instances)
      assert.equal(i.task, "ECS task state unavailable");
    assert.ok(w.logs.some((l) => l.msg === "DescribeTasks failed; ECS state unavailable"));
  });
});

describe("auto protocol in a cycle", () => {
  it("waits at most a tenth of the interval for new tasks' protocol; then probes them next cycle", async () => {
    const w = await setup(4);
    // ECS answers DescribeTasks only after 5 s: longer than the wait (300 ms interval: 30 ms).
    let hold = true;
    w.ecs.beforeDescribe = async () => {
      if (hold) await clock.sleep(5000);
    };
    const first = await cycle(w);
    // Had the cycle waited for ECS (5 s), the tasks would have been probed (in TCP, below).
    assert.equal(first.probeStats.probed, 0, "nothing probed before its protocol is known");
    assert.deepEqual(w.status.protocols["svc-0"]?.instances, { pending: 4 });
    assert.match(String(w.status.protocols["svc-0"]?.pending), /ECS task not described yet/);
    assert.ok(w.logs.some((l) => /check protocol \(auto\) is not known yet/.test(l.msg)));
    hold = false;
    await clock.run(clock.now() + 6000);
    // The tasks are known now; memory ECS names no task definition: TCP, the weakest check.
    const second = await cycle(w);
    assert.equal(second.probeStats.probed, 4);
    assert.deepEqual(w.status.protocols["svc-0"], {
      instances: { tcp: 4 },
      source: { tcp: "auto: ECS gave no task definition" },
    });
  });
});

/** Fails the hosts in `failing` (all, when it is "all"), and notes when each probe started. */
class TimedProber implements Prober {
  readonly started: number[] = [];
  readonly order: string[] = [];
  constructor(public failing: Set<string> | "all" = new Set()) {}
  async probe(target: { host: string }): Promise<ProbeResult> {
    this.started.push(clock.now());
    this.order.push(target.host);
    const ok = this.failing !== "all" && !this.failing.has(target.host);
    return { ok, detail: ok ? "HTTP 200" : "HTTP 500", latencyMs: 1, at: clock.now() };
  }
}

/** Cloud Map mutations with the time each was made. */
function timeMutations(w: Awaited<ReturnType<typeof setup>>): Array<{ what: string; at: number }> {
  const timed: Array<{ what: string; at: number }> = [];
  const dereg = w.cloudMap.deregisterInstance.bind(w.cloudMap);
  const reg = w.cloudMap.registerInstance.bind(w.cloudMap);
  w.cloudMap.deregisterInstance = async (s, i) => {
    timed.push({ what: `deregister ${i}`, at: clock.now() });
    return dereg(s, i);
  };
  w.cloudMap.registerInstance = async (s, i, a) => {
    timed.push({ what: `register ${i}`, at: clock.now() });
    return reg(s, i, a);
  };
  return timed;
}

// Probes spread over 1.2 s of a 2 s cycle: one landing early is decided on at once, not after
// the last probe (waiting for it cost up to the spread in reaction time).
const SLOW = { interval: "2s", timeout: "400ms", unhealthyThreshold: "2", healthyThreshold: "2" };

describe("decisions as probes land", () => {
  const hostOf = (i: number) => `127.0.60.${i + 1}`;
  const indexOf = (host: string) => Number(host.split(".")[3]) - 1;

  it("takes a failing target out, and puts it back, before the cycle's last probe starts", async () => {
    const prober = new TimedProber();
    const w = await setup(20, prober, SLOW);
    const timed = timeMutations(w);
    await cycle(w); // learns the order (offsets are stable across cycles)
    const first = prober.order[0]!;
    const id = taskIdOf(indexOf(first));
    prober.failing = new Set([first]);
    await cycle(w);
    prober.started.length = 0;
    const report = await cycle(w);
    assert.deepEqual(
      timed.map((t) => t.what),
      [`deregister ${id}`],
    );
    const last = Math.max(...prober.started);
    assert.ok(timed[0]!.at < last - 500, "removed while later probes were still to come");
    assert.equal(report.actions.length, 1, "the mid-cycle action is in the cycle's report");
    assert.match(report.actions[0]!.reason, /2 consecutive failed checks/);
    assert.equal(report.services[0]!.instances.filter((i) => i.probe).length, 20);

    prober.failing = new Set();
    await cycle(w);
    prober.started.length = 0;
    await cycle(w);
    assert.deepEqual(timed[1]?.what, `register ${id}`);
    assert.ok(timed[1]!.at < Math.max(...prober.started) - 500, "put back as early");
  });

  it("takes a task ECS is stopping out before probing the rest", async () => {
    const prober = new TimedProber();
    const w = await setup(20, prober, SLOW, 5);
    const timed = timeMutations(w);
    await cycle(w);
    const id = taskIdOf(7);
    w.ecs.tasks.set(id, { ...w.ecs.tasks.get(id)!, desiredStatus: "STOPPED" });
    prober.started.length = 0;
    await cycle(w);
    assert.deepEqual(
      timed.map((t) => t.what),
      [`deregister ${id}`],
    );
    assert.ok(timed[0]!.at < Math.max(...prober.started) - 500);
    const passes = w.logs.filter((l) => l.msg === "decided mid-cycle");
    assert.deepEqual(
      passes.map((p) => p["services"]),
      [1],
      "planned its own service only",
    );
  });

  it("plans only the service a result came from, not the whole namespace", async () => {
    const prober = new TimedProber(new Set([hostOf(7)])); // in the second of four services
    const w = await setup(20, prober, SLOW, 5);
    for (let c = 0; c < 3; c++) await cycle(w);
    assert.deepEqual(w.cloudMap.mutations, [`deregister ${taskIdOf(7)}`]);
    const passes = w.logs.filter((l) => l.msg === "decided mid-cycle");
    assert.equal(passes.length, 1, "the removal was decided as the probe landed");
    assert.equal(passes[0]!["services"], 1, "over its own service only");
  });

  it("keeps the caps across passes: never more out than max-unhealthy-percent", async () => {
    const prober = new TimedProber();
    const w = await setup(10, prober, { ...SLOW, maxUnhealthyPercent: "30" });
    const timed = timeMutations(w);
    prober.failing = new Set([0, 1, 2, 3, 4, 5].map(hostOf));
    await cycle(w);
    const report = await cycle(w);
    assert.equal(timed.length, 3, `3 of 10 out, no more: ${timed.map((t) => t.what).join(", ")}`);
    assert.deepEqual(
      report.holds.map((h) => h.rule),
      ["max-unhealthy-percent", "max-unhealthy-percent", "max-unhealthy-percent"],
    );
  });

  it("starts the next cycle on what the rate limit left undone, and acts by the cycle's end", async () => {
    // Two services of 20; ten of the first fail.
    const prober = new TimedProber(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(hostOf)));
    const w = await setup(40, prober, { ...SLOW, maxMutationsPerSecond: "2" }, 20);
    const timed = timeMutations(w);
    await cycle(w); // first failures
    const cycle2 = clock.now();
    const second = await cycle(w); // all ten unhealthy: two tokens a second
    const done2 = timed.length;
    w.logs.length = 0;
    assert.ok(done2 >= 1 && done2 < 10, `the rate limit leaves some undone (${done2} of 10)`);
    for (const t of timed)
      assert.ok(t.at <= cycle2 + 1800, "no mutation starts in the interval's last tenth");
    assert.ok(second.durationMs <= 2000);
    prober.started.length = 0;
    await cycle(w);
    assert.ok(timed.length > done2, "the next cycle went on with them");
    assert.ok(
      timed[done2]!.at < Math.max(...prober.started),
      "from its start, not after its last probe",
    );
    const first = w.logs.find((l) => l.msg === "decided mid-cycle");
    assert.equal(first?.["services"], 1, "the pass at its start plans the service left undone");
  });

  it("starts the next cycle on only as many undone changes as the rate limit allows in an interval", async () => {
    // Four services of 10; three of each fail: 12 removals at 1 a second, 2 s apart.
    const failing = [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32];
    const prober = new TimedProber(new Set(failing.map(hostOf)));
    const w = await setup(40, prober, { ...SLOW, maxMutationsPerSecond: "1" }, 10);
    await cycle(w);
    await cycle(w); // all twelve unhealthy; about two removed
    w.logs.length = 0;
    await cycle(w);
    const first = w.logs.find((l) => l.msg === "decided mid-cycle");
    assert.ok(first, "a pass at the cycle's start");
    assert.ok(
      (first["services"] as number) <= 2,
      `the services of the next two changes, not all four (${String(first["services"])})`,
    );
    assert.ok(w.cloudMap.mutations.length >= 3, "and it went on removing");
  });

  it("acts on nothing while the probes so far say the checker's own network failed", async () => {
    // Threshold 1: one failed probe would remove a target, so the first few wait for more.
    const prober = new TimedProber("all");
    const w = await setup(20, prober, {
      ...SLOW,
      unhealthyThreshold: "1",
      degradedMinInstances: "5",
    });
    const timed = timeMutations(w);
    const report = await cycle(w);
    assert.equal(report.degraded, true);
    assert.equal(timed.length, 0, "nothing done");
    assert.ok(report.services[0]!.instances.every((i) => i.verdict === "healthy"));
    // The next cycle starts degraded too: its early probes decide nothing before the end says.
    prober.failing = new Set([hostOf(0)]);
    const next = await cycle(w);
    assert.equal(next.degraded, false);
    assert.deepEqual(
      timed.map((t) => t.what),
      [`deregister ${taskIdOf(0)}`],
    );
    assert.ok(timed[0]!.at >= Math.max(...prober.started), "decided at the cycle's end");
  });
});

describe("reading a namespace of many services", () => {
  it("reads a few services at a time, and keeps their order", async () => {
    const w = await setup(16 * 5, new RecordingProber(), {}, 5); // 16 services of 5
    let inFlight = 0;
    let most = 0;
    w.cloudMap.discoverRevision = async () => {
      most = Math.max(most, ++inFlight);
      await clock.sleep(20);
      inFlight--;
      return "1";
    };
    const report = await cycle(w);
    assert.ok(most > 1 && most <= 8, `between 2 and 8 reads at once (${most})`);
    assert.deepEqual(
      report.services.map((s) => s.name),
      w.cloudMap.services.map((s) => s.name),
    );
    assert.equal(report.probeStats.probed, 80);
  });
});

describe("where a cycle's time goes", () => {
  it("charges waiting on Cloud Map and ECS to their phases, apart from the probes", async () => {
    const w = await setup(4);
    const sleep = (ms: number) => clock.sleep(ms);
    const revision = w.cloudMap.discoverRevision.bind(w.cloudMap);
    w.cloudMap.discoverRevision = async (...args) => {
      await sleep(150);
      return revision(...args);
    };
    const listGoingAway = w.ecs.listGoingAway.bind(w.ecs);
    w.ecs.listGoingAway = async () => {
      await sleep(100);
      return listGoingAway();
    };
    const report = await cycle(w);
    const { phases } = report;
    assert.ok(phases.read >= 140, `read ${phases.read} ms`);
    assert.ok(phases.ecs >= 90, `ecs ${phases.ecs} ms`);
    assert.ok(phases.probe < phases.read, `the probes took ${phases.probe} ms of their own`);
    const sum = Object.values(phases).reduce((a, b) => a + b, 0);
    assert.equal(sum, report.durationMs, "the phases add up to the cycle");
    assert.deepEqual(w.status.lastCycle?.phases, phases, "/status shows them");
    const text = await w.metrics.render();
    for (const phase of ["lease", "read", "ecs", "probe", "decide", "act"])
      assert.match(text, new RegExp(`cmhc_cycle_phase_seconds_count\\{phase="${phase}"\\} 1`));
  });
});
