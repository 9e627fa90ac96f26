import { strict as assert } from "node:assert";
import { systemClock } from "../checker/clock";
import { parseConfig } from "../checker/config";
import type { ProbeResult } from "../checker/domain/types";
import { Checker } from "../checker/loop/checker";
import { createLogger } from "../checker/observability/logger";
import { Metrics } from "../checker/observability/metrics";
import { StatusBook } from "../checker/observability/status";
import type { Prober } from "../checker/ports";
import { autoConcurrency } from "../checker/probe";
import { LocalLease } from "../checker/state/local-lease";
import { MemoryStateStore } from "../checker/state/memory-store";
import { FAST, type LogLine } from "./support/checker-harness";
import { MEMORY_NAMESPACE, memoryNamespace, taskIdOf } from "./support/memory-ports";

/** A prober that passes everything and records whom it probed. */
class RecordingProber implements Prober {
  readonly hosts: string[] = [];
  private first: (() => void) | undefined;
  readonly firstProbe = new Promise<void>((resolve) => (this.first = resolve));
  async probe(target: { host: string }): Promise<ProbeResult> {
    this.hosts.push(target.host);
    this.first?.();
    return { ok: true, detail: "HTTP 200", latencyMs: 1, at: Date.now() };
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
        return { ok: true, detail: "HTTP 200", latencyMs: 1, at: Date.now() };
      await new Promise((r) => setTimeout(r, check.timeoutMs));
      return { ok: false, detail: "timeout", latencyMs: check.timeoutMs, at: Date.now() };
    } finally {
      this.inFlight--;
    }
  }
}

async function setup(count: number, prober: Prober = new RecordingProber(), settings = {}) {
  const { cloudMap, ecs } = memoryNamespace({
    count,
    port: 8080,
    addressOf: (i) => `127.0.${60 + Math.floor(i / 250)}.${(i % 250) + 1}`,
  });
  const logs: LogLine[] = [];
  const config = parseConfig({
    flags: { ...FAST, namespace: MEMORY_NAMESPACE.name, ...settings },
    env: {},
  });
  const checker = await Checker.create({
    config,
    cloudMap,
    ecs,
    prober,
    clock: systemClock,
    store: new MemoryStateStore(),
    lease: new LocalLease("test"),
    logger: createLogger("debug", { write: (l: string) => void logs.push(JSON.parse(l)) }),
    metrics: new Metrics(),
    status: new StatusBook(config.intervalMs, Date.now()),
  });
  return { cloudMap, ecs, prober: prober as RecordingProber, logs, checker };
}

describe("probe concurrency", () => {
  it("auto: enough probes in flight that hanging targets do not hold back the others", async () => {
    // 600 targets, 550 hanging until the timeout (150 ms), spread over 90 ms (FAST): a fixed
    // 64 in flight would start most probes late; auto sizes the pool for all of them.
    const prober = new HangingProber(50);
    const w = await setup(600, prober);
    await w.checker.runCycle();
    assert.equal(prober.probed, 600, "every instance probed");
    assert.ok(prober.maxInFlight > 64, `more than 64 in flight (${prober.maxInFlight})`);
    const fixed = new HangingProber(50);
    const f = await setup(600, fixed, { concurrency: "64" });
    await f.checker.runCycle();
    assert.equal(fixed.maxInFlight, 64, "a fixed setting is a hard limit");
  });

  it("sizes auto concurrency from count, timeout and spread, within its bounds", () => {
    assert.equal(autoConcurrency(100, 2000, 6000), 64, "small namespaces keep the floor");
    assert.equal(autoConcurrency(300, 2000, 6000), 150);
    assert.equal(autoConcurrency(20_000, 2000, 2000), 256, "capped");
    assert.equal(autoConcurrency(100, 500, 0), 150, "no spread: as if over one timeout");
  });
});

describe("a cycle's ECS read runs alongside its probes", () => {
  it("probes while DescribeTasks is still answering, then decides with ECS's answer", async () => {
    const w = await setup(4);
    let probedBeforeAnswer = 0;
    w.ecs.beforeDescribe = async () => {
      // Held back until a probe has started (or 2 s, if the cycle waited for ECS first).
      await Promise.race([w.prober.firstProbe, new Promise((r) => setTimeout(r, 2000))]);
      probedBeforeAnswer = w.prober.hosts.length;
    };
    // ECS says one task is stopping, and only DescribeTasks says so (ListTasks has not seen it).
    const id = taskIdOf(2);
    w.ecs.tasks.set(id, { ...w.ecs.tasks.get(id)!, lastStatus: "DEACTIVATING" });

    const report = await w.checker.runCycle();
    assert.ok(probedBeforeAnswer > 0, "probes started before DescribeTasks answered");
    assert.deepEqual(w.cloudMap.mutations, [`deregister ${id}`], "the answer was used at once");
    assert.match(report.actions[0]!.reason, /going away/);
  });

  it("does not probe a task that ListTasks already reports as going away", async () => {
    const w = await setup(4);
    const id = taskIdOf(1);
    w.ecs.tasks.set(id, { ...w.ecs.tasks.get(id)!, desiredStatus: "STOPPED" });
    await w.checker.runCycle();
    assert.equal(w.prober.hosts.length, 3);
    assert.ok(!w.prober.hosts.includes("127.0.60.2"), "the stopping task was not probed");
    assert.deepEqual(w.cloudMap.mutations, [`deregister ${id}`]);
  });

  it("a DescribeTasks failure during the probes leaves task state unavailable, never a crash", async () => {
    const w = await setup(4);
    w.ecs.beforeDescribe = async () => {
      await w.prober.firstProbe;
      throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    };
    const report = await w.checker.runCycle();
    assert.equal(report.probeStats.probed, 4, "the probes ran");
    assert.deepEqual(w.cloudMap.mutations, [], "nothing was decided from the failure");
    for (const i of report.services[0]!.instances)
      assert.equal(i.task, "ECS task state unavailable");
    assert.ok(w.logs.some((l) => l.msg === "DescribeTasks failed; ECS state unavailable"));
  });
});
