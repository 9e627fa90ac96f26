// Planner scenarios for replacement's default (`auto`: on for services ECS manages) and the two
// brakes against restart storms: a failure most of a service's tasks share, and replacements
// whose successors fail again.

import { strict as assert } from "node:assert";
import type { Plan } from "../checker/domain/types";
import { CycleReporter } from "../checker/observability/cycle-report";
import { createLogger } from "../checker/observability/logger";
import { Metrics } from "../checker/observability/metrics";
import { StatusBook } from "../checker/observability/status";
import { AUTO_REPLACE_AFTER_MS } from "../checker/plan/replace-brakes";
import { STORM_FAILURES, STORM_RELEASE_MS, stormedServices } from "../checker/plan/replace-storm";
import {
  healthyInstances,
  POLICY,
  runningTask,
  service,
  Sim,
  type SimInstance,
} from "./support/scenario";

const STEADY = { runningCount: 4, desiredCount: 4, deployments: 1, rolloutState: "COMPLETED" };

function world(opts: { n?: number; replaceAfterMs?: number | "auto"; ecsManaged?: boolean } = {}) {
  const info = service("api");
  const sim = new Sim([
    {
      info: opts.ecsManaged === false ? { ...info, ecsService: undefined } : info,
      policy: {
        ...POLICY,
        replaceAfterMs: "replaceAfterMs" in opts ? opts.replaceAfterMs : "auto",
      },
      instances: healthyInstances(opts.n ?? 4, "api-").map((i) => ({
        ...i,
        task: runningTask(i.id, { group: "service:api" }),
      })),
    },
  ]);
  sim.ecsServices.set("c1/api", STEADY);
  return sim;
}

const stops = (p: Plan): string[] =>
  p.actions.filter((a) => a.kind === "stop-task").map((a) => a.instanceId);
const removals = (p: Plan): string[] =>
  p.actions.filter((a) => a.kind === "deregister").map((a) => a.instanceId);
const holds = (p: Plan, rule: string): string[] =>
  p.holds.filter((h) => h.rule === rule).map((h) => h.instanceId);

/** Like ECS: each stopped task's successor starts at once, and answers as `ok` says. */
function successors(sim: Sim, ok: () => boolean): SimInstance[] {
  const started: SimInstance[] = [];
  sim.replaceWith = (_stopped, now) => {
    const id = `api-r${started.length + 1}`;
    const s: SimInstance = {
      id,
      probeOk: ok(),
      registered: true,
      task: runningTask(id, { group: "service:api", startedAt: now }),
    };
    started.push(s);
    return s;
  };
  return started;
}

describe("replace-after auto (the default)", () => {
  it("replaces a failing task of a service ECS manages after 1 min, once", () => {
    const sim = world();
    sim.find("srv-api", "api-1").probeOk = false;
    const plans = sim.steps(70);
    // Unhealthy from the 3rd cycle (+2 s); auto waits AUTO_REPLACE_AFTER_MS: the stop at +62 s.
    assert.equal(AUTO_REPLACE_AFTER_MS, 60_000);
    assert.deepEqual(removals(plans[2]!), ["api-1"], "out of rotation first");
    assert.equal(
      plans.findIndex((p) => stops(p).length > 0),
      62,
    );
    assert.deepEqual(plans.flatMap(stops), ["api-1"]);
    const stop = plans[62]!.actions.find((a) => a.kind === "stop-task")!;
    assert.match(
      stop.reason,
      /unhealthy for 60s \(\d+ consecutive failed checks \(last: HTTP 500\)\)/,
    );
  });

  it("never replaces in a service ECS does not manage, nor when set off", () => {
    for (const sim of [world({ ecsManaged: false }), world({ replaceAfterMs: undefined })]) {
      sim.find("srv-api", "api-1").probeOk = false;
      const plans = sim.steps(90);
      assert.deepEqual(plans.flatMap(stops), []);
      assert.deepEqual(plans.flatMap(removals), ["api-1"], "deregistration goes on");
      assert.ok(plans.every((p) => p.holds.every((h) => !h.rule.startsWith("replace"))));
    }
  });

  it("an explicit replace-after applies to a service ECS does not manage", () => {
    const sim = world({ ecsManaged: false, replaceAfterMs: 5000 });
    sim.find("srv-api", "api-1").probeOk = false;
    assert.deepEqual(sim.steps(10).flatMap(stops), ["api-1"]);
  });
});

describe("brake: a failure most of the service's tasks share", () => {
  it("holds while more than half fail, still deregisters, and replaces once most pass", () => {
    const sim = world({ replaceAfterMs: 5000 });
    for (const id of ["api-0", "api-1", "api-2"]) sim.find("srv-api", id).probeOk = false;
    const plans = sim.steps(12);
    // The cap (50 %) takes two out; 3 of 4 fail: neither is replaced.
    assert.deepEqual(plans.flatMap(removals), ["api-0", "api-1"]);
    assert.deepEqual(plans.flatMap(stops), []);
    const held = plans[11]!.holds.filter((h) => h.rule === "replace-service-failing");
    assert.deepEqual(held.map((h) => h.instanceId).sort(), ["api-0", "api-1"]);
    assert.match(held[0]!.detail, /3 of the service's 4 checked tasks fail/);
    // Two recover: 1 of 4 fails, and the one left failing is replaced.
    sim.find("srv-api", "api-1").probeOk = true;
    sim.find("srv-api", "api-2").probeOk = true;
    const after = sim.steps(5);
    assert.deepEqual(after.flatMap(stops), ["api-0"]);
  });

  it("exactly half failing is not service-wide", () => {
    const sim = world({ replaceAfterMs: 5000 });
    for (const id of ["api-0", "api-1"]) sim.find("srv-api", id).probeOk = false;
    const plans = sim.steps(10);
    assert.deepEqual(plans.flatMap(stops), ["api-0"]);
    assert.ok(plans.every((p) => holds(p, "replace-service-failing").length === 0));
  });
});

describe("brake: replacements that do not help", () => {
  function storm(): { sim: Sim; plans: Plan[]; started: SimInstance[] } {
    const sim = world({ replaceAfterMs: 5000 });
    sim.global = { ...sim.global, replaceCooldownMs: 10_000 };
    const started = successors(sim, () => false);
    sim.find("srv-api", "api-0").probeOk = false;
    return { sim, plans: sim.steps(60), started };
  }

  it(`stops after ${STORM_FAILURES} replacements whose successors were taken out again`, () => {
    const { sim, plans, started } = storm();
    // api-0 at +7 s, then each failing successor once the cooldown allows: three stops in all.
    assert.deepEqual(plans.flatMap(stops), ["api-0", "api-r1", "api-r2"]);
    assert.equal(started.length, 3);
    // The third successor is taken out (deregistration is never braked) but not replaced.
    assert.ok(plans.flatMap(removals).includes("api-r3"));
    assert.deepEqual([...stormedServices(sim.storms)], ["c1/api"]);
    const last = plans[59]!.holds.find((h) => h.rule === "replace-not-helping");
    assert.equal(last?.instanceId, "api-r3");
    assert.match(last.detail, /taken out again 3 times within 30 min/);
  });

  it("resumes once a task started since passes for 5 min, and a flapping task counts once", () => {
    const { sim, started } = storm();
    const r3 = started[2]!;
    // r3 recovers and is put back; while it has passed less than 5 min, replacing stays stopped.
    r3.probeOk = true;
    sim.steps(STORM_RELEASE_MS / 1000 - 10);
    assert.deepEqual([...stormedServices(sim.storms)], ["c1/api"]);
    sim.steps(20);
    assert.deepEqual([...stormedServices(sim.storms)], [], "released");
    // Failing again, it is replaced again.
    r3.probeOk = false;
    assert.deepEqual(sim.steps(10).flatMap(stops), ["api-r3"]);
  });

  it("counts each successor once however often it flaps", () => {
    const sim = world({ replaceAfterMs: 5000 });
    sim.global = { ...sim.global, replaceCooldownMs: 10_000 };
    const started = successors(sim, () => false);
    sim.find("srv-api", "api-0").probeOk = false;
    sim.steps(12); // api-0 replaced at +7 s; api-r1 out by +11 s
    const r1 = started[0]!;
    for (let k = 0; k < 4; k++) {
      r1.probeOk = true;
      sim.steps(3); // back in
      r1.probeOk = false;
      sim.steps(3); // out again
    }
    assert.equal(sim.storms.get("c1/api")?.failures.size, 1);
    assert.deepEqual([...stormedServices(sim.storms)], []);
  });
});

describe("reporting the brakes", () => {
  function reporter(): {
    r: CycleReporter;
    lines: Array<Record<string, unknown>>;
    status: StatusBook;
  } {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger("info", {
      write: (s: string) => {
        lines.push(JSON.parse(s) as Record<string, unknown>);
      },
    });
    const status = new StatusBook(1000, 0);
    const r = new CycleReporter({
      logger,
      metrics: new Metrics(),
      status,
      clock: { now: () => 0, sleep: async () => undefined },
      intervalMs: 1000,
    });
    return { r, lines, status };
  }

  it("logs a service-wide hold once per service, with a hint, until it lifts", () => {
    const { r, lines } = reporter();
    const sim = world({ replaceAfterMs: 5000 });
    for (const id of ["api-0", "api-1", "api-2"]) sim.find("srv-api", id).probeOk = false;
    for (const p of sim.steps(20)) r.plan(p);
    const brakeLines = lines.filter((l) => l.rule === "replace-service-failing");
    assert.equal(brakeLines.length, 1);
    assert.match(String(brakeLines[0]!.hint), /check's path or port/);
  });

  it("says loudly that replacing stopped: warn line, /status, /healthz detail (still 200)", () => {
    const { r, lines, status } = reporter();
    const { sim } = (() => {
      const s = world({ replaceAfterMs: 5000 });
      s.global = { ...s.global, replaceCooldownMs: 10_000 };
      successors(s, () => false);
      s.find("srv-api", "api-0").probeOk = false;
      for (const p of s.steps(60)) {
        r.plan(p);
        r.storms(p.storms);
      }
      return { sim: s };
    })();
    const warn = lines.filter((l) => String(l.msg).startsWith("not replacing tasks in c1/api"));
    assert.equal(warn.length, 1, "once, as it starts");
    assert.equal(warn[0]!.level, "warn");
    assert.deepEqual(
      status.replacementsStopped.map((s) => [s.ecsService, s.failedReplacements]),
      [["c1/api", 3]],
    );
    status.lastCycleCompletedAt = 0;
    const h = status.health(0);
    assert.equal(h.ok, true);
    assert.match(h.reason, /not replacing tasks in c1\/api/);
    assert.equal(lines.filter((l) => l.rule === "replace-not-helping").length, 1);
    assert.ok(sim.storms.size > 0);
  });
});
