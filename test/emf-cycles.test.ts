// CloudWatch EMF records from the checker's own cycles, on a clock the test drives: the figures
// /status shows for the same cycle, state store errors, and the storm brakes' holds.

import { strict as assert } from "node:assert";
import { parseConfig } from "../checker/config";
import type { ProbeResult } from "../checker/domain/types";
import { Checker } from "../checker/cycle/checker";
import { createLogger } from "../checker/observability/logger";
import { DIMENSION } from "../checker/observability/metric-catalog";
import { Metrics } from "../checker/observability/metrics";
import { StatusBook } from "../checker/observability/status";
import type { Prober } from "../checker/ports";
import { LocalLease } from "../checker/state/local-lease";
import { MemoryStateStore } from "../checker/state/memory-store";
import { FAST, type LogLine } from "./support/checker-harness";
import {
  cycleFiguresOf,
  emfFigures,
  emfProblems,
  emfRecords,
  emfValues,
  type EmfRecord,
  type StatusBody,
} from "./support/emf";
import { MEMORY_NAMESPACE, memoryNamespace, MemoryEcs } from "./support/memory-ports";
import { VirtualClock } from "./support/virtual-clock";

/** Fails the probes of the first `failing` instances (127.0.60.1 ...). */
class FailingProber implements Prober {
  constructor(
    private readonly clock: VirtualClock,
    public failing: number,
  ) {}
  async probe(target: { host: string }): Promise<ProbeResult> {
    const i = Number(target.host.split(".").pop()) - 1;
    const ok = i >= this.failing;
    return { ok, detail: ok ? "HTTP 200" : "HTTP 503", latencyMs: 1, at: this.clock.now() };
  }
}

/** A store whose writes fail while `down`. */
class FlakyStore extends MemoryStateStore {
  down = false;
  refused = 0;
  override async put(...args: Parameters<MemoryStateStore["put"]>): Promise<void> {
    if (this.down) {
      this.refused++;
      throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
    }
    return super.put(...args);
  }
}

/** ECS that describes every service as steady. */
class SteadyEcs extends MemoryEcs {
  override async describeServices(keys: readonly string[]) {
    return new Map(
      keys.map((k) => [
        k,
        { runningCount: 4, desiredCount: 4, deployments: 1, rolloutState: "COMPLETED" },
      ]),
    );
  }
}

async function memoryChecker(failing: number, settings = {}) {
  const clock = new VirtualClock();
  const { cloudMap, ecs: plain } = memoryNamespace({
    count: 4,
    perService: 4,
    port: 8080,
    addressOf: (i) => `127.0.60.${i + 1}`,
  });
  const ecs = new SteadyEcs();
  for (const [k, v] of plain.tasks) ecs.tasks.set(k, v);
  const config = parseConfig({
    flags: { ...FAST, namespace: MEMORY_NAMESPACE.name, ...settings },
    env: {},
  });
  const lines: string[] = [];
  const logs: LogLine[] = [];
  const status = new StatusBook(config.intervalMs, clock.now());
  const store = new FlakyStore();
  const prober = new FailingProber(clock, failing);
  const checker = await Checker.create({
    config,
    cloudMap,
    ecs,
    prober,
    clock,
    store,
    lease: new LocalLease("test"),
    logger: createLogger("debug", { write: (l: string) => void logs.push(JSON.parse(l)) }),
    metrics: new Metrics(),
    status,
    emf: (l) => lines.push(l),
  });
  const cycle = async (): Promise<void> => {
    let done = false;
    const running = checker.runCycle().finally(() => (done = true));
    for (let k = 0; !done; k++) {
      if (k > 10_000) throw new Error("the cycle did not end");
      await clock.run(clock.now() + 50);
    }
    await running;
  };
  const records = (): EmfRecord[] => emfRecords(lines.join("\n"));
  return { checker, status, store, prober, cycle, records, clock };
}

/** The cycle record of the last cycle in /status, and its service records. */
function lastCycleRecords(records: EmfRecord[], status: StatusBook) {
  const startedAt = status.lastCycle!.startedAt;
  const mine = records.filter((r) => r["startedAt"] === startedAt);
  return {
    cycle: mine.find((r) => r["emf"] === "cycle")!,
    services: mine.filter((r) => r["emf"] === "service"),
    holds: mine.filter((r) => r["emf"] === "hold"),
  };
}

describe("CloudWatch EMF records from the checker's cycles (virtual clock)", () => {
  it("carry the figures /status shows for the same cycle, and one record per action", async () => {
    const w = await memoryChecker(1);
    for (let i = 0; i < 3; i++) await w.cycle();
    const body = w.status.toJSON(w.clock.now()) as StatusBody;
    const { cycle, services } = lastCycleRecords(w.records(), w.status);
    w.records().forEach(assertShapedAnyNamespace);
    const last = body.lastCycle;
    assert.deepEqual(emfFigures(cycle), cycleFiguresOf(body));
    assert.equal(cycle["actions"], last.actions);
    assert.equal(services.length, 1);
    assert.deepEqual(emfFigures(services[0]!), {
      InstancesInRotation: 3,
      InstancesOutOfRotation: 1,
      ProbeFailures: 1,
    });
    const actions = w.records().filter((r) => r["emf"] === "action");
    assert.deepEqual(
      actions.map((r) => [r["instanceId"], r["kind"], emfValues(r)]),
      body.recentActions.map((a) => [a.instanceId, a.kind, { Deregistrations: 1 }]),
    );
    assert.equal(actions.length, 1);
  });

  it("count state store errors in the cycle they happen, with the checker degraded", async () => {
    const w = await memoryChecker(1, { replaceAfter: "off" });
    await w.cycle();
    w.store.down = true;
    await w.cycle();
    const { cycle } = lastCycleRecords(w.records(), w.status);
    const v = emfFigures(cycle);
    assert.ok(w.store.refused >= 1);
    assert.equal(v["StateStoreErrors"], w.store.refused, "each refused write of the cycle");
    assert.equal(v["Degraded"], 1);
    assert.match(String(cycle["health"]), /state store/);
    assert.equal(v["InstancesOutOfRotation"], 0, "nothing removed without its record");
    w.store.down = false;
    await w.cycle();
    const after = emfFigures(lastCycleRecords(w.records(), w.status).cycle);
    assert.equal(after["StateStoreErrors"], 0, "a count per record, not a running total");
    assert.equal(after["Degraded"], 0);
  });

  it("count replacements the storm brakes hold, with a record for the rule", async () => {
    // 3 of 4 tasks fail: the removal cap keeps 2 in, and the 2 out are never replaced while most
    // of the service fails (replace-service-failing).
    const w = await memoryChecker(3, { replaceAfter: "1s" });
    for (let i = 0; i < 12; i++) await w.cycle();
    const { cycle, holds } = lastCycleRecords(w.records(), w.status);
    assert.equal(emfFigures(cycle)["ReplacementsHeld"], 2);
    assert.equal(emfFigures(cycle)["InstancesOutOfRotation"], 2);
    const rules = Object.fromEntries(
      holds.map((h) => [h[DIMENSION.rule], emfValues(h)["HeldActions"]]),
    );
    assert.equal(rules["replace-service-failing"], 2);
    assert.ok((rules["max-unhealthy-percent"] ?? 0) >= 1, JSON.stringify(rules));
  });
});

/** As assertShaped, for the memory namespace's ID. */
function assertShapedAnyNamespace(r: EmfRecord): void {
  assert.deepEqual(emfProblems(r), [], JSON.stringify(r));
  assert.equal(r[DIMENSION.namespace], MEMORY_NAMESPACE.id);
}
