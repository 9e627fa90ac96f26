// CloudWatch EMF records: valid by AWS's published schema and the specification, naming only
// the catalogued metrics, written as often as needed and no more (emf-cycles.test.ts: from the
// checker's own cycles).

import { strict as assert } from "node:assert";
import { runLoop } from "../checker/cycle/run-loop";
import { EmfPublisher, type CycleFigures } from "../checker/observability/emf";
import { createLogger } from "../checker/observability/logger";
import {
  DIMENSION,
  METRIC_NAMESPACE,
  METRICS,
  RECORDS,
  type RecordKind,
} from "../checker/observability/metric-catalog";
import { Metrics } from "../checker/observability/metrics";
import { StatusBook, type ActionRecord } from "../checker/observability/status";
import { emfFigures, emfProblems, emfRecords, emfValues, type EmfRecord } from "./support/emf";
import { VirtualClock } from "./support/virtual-clock";

const NS = { id: "ns-emf", name: "emf.local" };

function publisher(): { emf: EmfPublisher; lines: string[]; skipped: string[] } {
  const lines: string[] = [];
  const skipped: string[] = [];
  return {
    emf: new EmfPublisher(
      (l) => lines.push(l),
      NS,
      (w) => skipped.push(w),
    ),
    lines,
    skipped,
  };
}

const FIGURES: CycleFigures = {
  at: Date.UTC(2026, 11, 6, 4),
  startedAt: "2026-12-06T03:59:59.000Z",
  durationMs: 812,
  late: false,
  degraded: false,
  health: "ok",
  probed: 7,
  failed: 2,
  localErrors: 0,
  actions: 1,
  holds: [
    { rule: "max-unhealthy-percent" },
    { rule: "replace-cooldown" },
    { rule: "replace-cooldown" },
  ],
  replacementsHeld: 0,
  replacementsStopped: 0,
  storeErrors: 0,
  leaseHolder: true,
  services: new Map([
    ["api", { inRotation: 3, outOfRotation: 1, failed: 2 }],
    ["web", { inRotation: 3, outOfRotation: 0, failed: 0 }],
  ]),
};

function action(over: Partial<ActionRecord>): ActionRecord {
  return {
    at: "2026-12-06T04:00:00.000Z",
    kind: "deregister",
    service: "api",
    serviceId: "srv-api",
    instanceId: "task-1",
    reason: "3 consecutive failed checks (last: HTTP 503)",
    dryRun: false,
    outcome: "ok",
    ...over,
  };
}

/** Asserts the record is valid and shaped as the catalog defines its kind. */
function assertShaped(r: EmfRecord): RecordKind {
  assert.deepEqual(emfProblems(r), [], JSON.stringify(r));
  const kind = r["emf"] as RecordKind;
  const spec = RECORDS[kind];
  assert.ok(spec, `unknown record kind ${String(kind)}`);
  const [directive, ...more] = r._aws.CloudWatchMetrics;
  assert.equal(more.length, 0);
  assert.equal(directive!.Namespace, METRIC_NAMESPACE);
  assert.deepEqual(directive!.Dimensions, spec.dimensionSets);
  for (const m of directive!.Metrics) {
    assert.ok((spec.metrics as readonly string[]).includes(m.Name), `${kind} carries ${m.Name}`);
    assert.equal(m.Unit, METRICS[m.Name as keyof typeof METRICS].unit);
  }
  assert.equal(r[DIMENSION.namespace], NS.id);
  return kind;
}

describe("CloudWatch EMF records", () => {
  it("every kind of record is valid by the published schema and names only catalogued metrics", () => {
    const { emf, lines } = publisher();
    emf.cycle(FIGURES);
    for (const outcome of ["ok", "error", "dry-run", "stale"] as const) {
      emf.action(action({ outcome, ...(outcome === "error" ? { error: "Throttling" } : {}) }), 1);
    }
    emf.failedCycle(FIGURES.at, "ECS: AccessDenied");
    const records = emfRecords(lines.join("\n"));
    assert.equal(records.length, lines.length, "one JSON record a line");
    const kinds = records.map(assertShaped);
    // A cycle, a record per service, one per rule that held, four actions, a failed cycle.
    assert.deepEqual(kinds, [
      "cycle",
      "service",
      "service",
      "hold",
      "hold",
      "action",
      "action",
      "action",
      "action",
      "cycle",
    ]);
    const cycle = records[0]!;
    assert.deepEqual(emfFigures(cycle), {
      Cycles: 1,
      CycleDuration: 812,
      LateCycles: 0,
      Degraded: 0,
      Probes: 7,
      ProbeFailures: 2,
      ProbeLocalErrors: 0,
      InstancesInRotation: 6,
      InstancesOutOfRotation: 1,
      HeldActions: 3,
      ReplacementsHeld: 0,
      ReplacementsStopped: 0,
      StateStoreErrors: 0,
    });
    // Counts that are 0 are left out (each metric is billed for the hours it has data); what
    // the alarms read is always there.
    for (const absent of ["LateCycles", "Degraded", "ProbeLocalErrors", "StateStoreErrors"]) {
      assert.ok(!(absent in cycle), absent);
    }
    for (const present of ["Cycles", "CycleDuration", "Probes", "InstancesOutOfRotation"]) {
      assert.ok(present in cycle, present);
    }
    assert.equal(cycle._aws.Timestamp, FIGURES.at);
    assert.equal(cycle["startedAt"], FIGURES.startedAt);
    assert.equal(cycle["namespaceName"], NS.name);
    assert.deepEqual(
      records.slice(1, 3).map((r) => [r[DIMENSION.service], emfFigures(r)]),
      [
        ["api", { InstancesInRotation: 3, InstancesOutOfRotation: 1, ProbeFailures: 2 }],
        ["web", { InstancesInRotation: 3, InstancesOutOfRotation: 0, ProbeFailures: 0 }],
      ],
    );
    assert.deepEqual(
      records.slice(3, 5).map((r) => [r[DIMENSION.rule], emfValues(r)]),
      [
        ["max-unhealthy-percent", { HeldActions: 1 }],
        ["replace-cooldown", { HeldActions: 2 }],
      ],
    );
    const failed = records[9]!;
    assert.deepEqual(emfValues(failed), { Cycles: 0, Degraded: 1 });
    assert.match(String(failed["health"]), /AccessDenied/);
  });

  it("writes a steady service's record once a minute, and a change or a failure at once", () => {
    const { emf, lines } = publisher();
    const api = (inRotation: number, outOfRotation: number, failed = 0) =>
      new Map([["api", { inRotation, outOfRotation, failed }]]);
    const steps: Array<
      [number, Map<string, { inRotation: number; outOfRotation: number; failed: number }>]
    > = [
      [0, api(3, 0)], // first: written
      [10_000, api(3, 0)], // steady: not
      [20_000, api(2, 1, 1)], // a change and a failure: written
      [30_000, api(2, 1, 1)], // failing: written
      [40_000, api(2, 1)], // steady again: not
      [50_000, api(3, 0)], // back: written, with the 0 that ends the stretch out
      [70_000, api(3, 0)], // steady, 20 s since: not
      [110_000, api(3, 0)], // a minute since the last: written
      [120_000, new Map()], // gone: nothing
      [130_000, api(3, 0)], // back: written at once
    ];
    const written: Array<[number, Record<string, number>]> = [];
    for (const [t, services] of steps) {
      const before = lines.length;
      emf.cycle({ ...FIGURES, at: FIGURES.at + t, holds: [], services });
      for (const r of emfRecords(lines.slice(before).join("\n"))) {
        assertShaped(r);
        if (r["emf"] === "service") written.push([t, emfValues(r)]);
      }
    }
    assert.deepEqual(written, [
      [0, { InstancesInRotation: 3 }],
      [20_000, { InstancesInRotation: 2, InstancesOutOfRotation: 1, ProbeFailures: 1 }],
      [30_000, { InstancesInRotation: 2, InstancesOutOfRotation: 1, ProbeFailures: 1 }],
      [50_000, { InstancesInRotation: 3, InstancesOutOfRotation: 0 }],
      [110_000, { InstancesInRotation: 3 }],
      [130_000, { InstancesInRotation: 3 }],
    ]);
  });

  it("an action record counts its kind when done, else what became of it, and says why", () => {
    const cases: Array<[Partial<ActionRecord>, string]> = [
      [{ kind: "deregister" }, "Deregistrations"],
      [{ kind: "register" }, "Registrations"],
      [{ kind: "set-status", status: "UNHEALTHY" }, "MarkedUnhealthy"],
      [{ kind: "set-status", status: "HEALTHY" }, "MarkedHealthy"],
      [{ kind: "stop-task" }, "TasksStopped"],
      [{ kind: "stop-task", outcome: "error", error: "AccessDenied" }, "ActionErrors"],
      [{ kind: "deregister", outcome: "dry-run", dryRun: true }, "DryRunActions"],
      [{ kind: "register", outcome: "stale", error: "a probe failed since" }, "ActionsDropped"],
    ];
    for (const [over, metric] of cases) {
      const { emf, lines } = publisher();
      const a = action(over);
      emf.action(a, 5);
      const [r] = emfRecords(lines.join("\n"));
      assertShaped(r!);
      assert.deepEqual(emfValues(r!), { [metric]: 1 }, JSON.stringify(over));
      assert.equal(r![DIMENSION.service], "api");
      for (const key of ["kind", "instanceId", "serviceId", "outcome", "reason"] as const) {
        assert.equal(r![key], a[key], key);
      }
      assert.equal(r!["error"], a.error);
      assert.equal(r!["status"], a.status);
    }
  });

  it("skips a record whose dimension CloudWatch would refuse, says so once, and never throws", () => {
    const { emf, lines, skipped } = publisher();
    emf.cycle({
      ...FIGURES,
      services: new Map([
        ["caf\u00e9", { inRotation: 1, outOfRotation: 0, failed: 0 }],
        [" ", { inRotation: 1, outOfRotation: 0, failed: 0 }],
        ["ok", { inRotation: 1, outOfRotation: 0, failed: 0 }],
      ]),
    });
    const records = emfRecords(lines.join("\n"));
    records.forEach(assertShaped);
    assert.deepEqual(
      records.filter((r) => r["emf"] === "service").map((r) => r[DIMENSION.service]),
      ["ok"],
    );
    assert.equal(skipped.length, 1);
    const throwing = new EmfPublisher(() => {
      throw new Error("EPIPE");
    }, NS);
    throwing.cycle(FIGURES);
    throwing.action(action({}), 1);
  });

  it("a failed cycle reaches CloudWatch: the loop tells the checker", async () => {
    const told: string[] = [];
    const clock = new VirtualClock();
    const controller = new AbortController();
    const loop = runLoop(
      {
        runCycle: () => Promise.reject(new Error("boom")),
        cycleFailed: (e) => {
          told.push(e);
          controller.abort();
        },
      },
      {
        clock,
        logger: createLogger("silent"),
        metrics: new Metrics(),
        status: new StatusBook(1000, clock.now()),
        intervalMs: 1000,
      },
      controller.signal,
    );
    await clock.run(clock.now() + 5000);
    await loop;
    assert.equal(told.length, 1);
    assert.match(told[0]!, /boom/);
  });
});
