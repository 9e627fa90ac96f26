// Planner scenarios for the replace action (StopTask) and each of its brakes.

import { strict as assert } from "node:assert";
import type { Plan } from "../checker/domain/types";
import { plan } from "../checker/plan/planner";
import {
  healthyInstances,
  POLICY,
  runningTask,
  service,
  Sim,
  type SimService,
} from "./support/scenario";

const STEADY = { runningCount: 4, desiredCount: 4, deployments: 1, rolloutState: "COMPLETED" };

function world(
  opts: {
    n?: number;
    replaceAfterMs?: number;
    action?: typeof POLICY.action;
    services?: string[];
  } = {},
): Sim {
  const names = opts.services ?? ["api"];
  const services: SimService[] = names.map((name) => ({
    info: service(name),
    policy: {
      ...POLICY,
      replaceAfterMs: opts.replaceAfterMs ?? 5000,
      action: opts.action ?? "auto",
    },
    instances: healthyInstances(opts.n ?? 4, `${name}-`).map((i) => ({
      ...i,
      task: runningTask(i.id, { group: `service:${name}` }),
    })),
  }));
  const sim = new Sim(services);
  for (const name of names) sim.ecsServices.set(`c1/${name}`, STEADY);
  return sim;
}

const stops = (p: Plan): string[] =>
  p.actions.filter((a) => a.kind === "stop-task").map((a) => a.instanceId);
const holds = (p: Plan, rule: string): string[] =>
  p.holds.filter((h) => h.rule === rule).map((h) => h.instanceId);

describe("replace action (planner)", () => {
  it("leaves replacements to the cycle's end: a pass mid-cycle neither replaces nor holds", () => {
    const sim = world({ replaceAfterMs: 5000 });
    sim.find("srv-api", "api-1").probeOk = false;
    sim.steps(7);
    const mid = plan({ ...sim.input(), replacements: false });
    assert.deepEqual(stops(mid), []);
    assert.deepEqual(
      mid.holds.filter((h) => h.rule.startsWith("replace")),
      [],
    );
    assert.deepEqual(stops(sim.step()), ["api-1"], "the cycle's end replaces");
  });

  it("stops a task unhealthy for replace-after, once it is out of rotation, and not before", () => {
    const sim = world({ replaceAfterMs: 5000 });
    sim.find("srv-api", "api-1").probeOk = false;
    const plans = sim.steps(12);
    // Unhealthy from the 3rd cycle (+2s); replace-after 5s: the stop comes at +7s, once.
    const stopAt = plans.findIndex((p) => stops(p).length > 0);
    assert.equal(stopAt, 7);
    assert.deepEqual(stops(plans[7]!), ["api-1"]);
    assert.deepEqual(
      plans[2]!.actions.map((a) => a.kind),
      ["deregister"],
      "taken out of rotation first",
    );
    assert.equal(plans.flatMap(stops).length, 1);
    const stop = plans[7]!.actions.find((a) => a.kind === "stop-task")!;
    assert.ok(stop.kind === "stop-task");
    assert.match(
      stop.reason,
      /^cloudmap-health-checker: unhealthy for 5s \(8 consecutive failed checks \(last: HTTP 500\)\)/,
    );
    assert.equal(stop.ecsService, "c1/api");
    assert.match(stop.taskArn, /task\/c1\/api-1$/);
  });

  it("never replaces a healthy task, and is off by default", () => {
    const healthy = world();
    assert.equal(healthy.steps(20).flatMap(stops).length, 0);
    const off = world();
    off.services[0]!.policy = { ...POLICY, replaceAfterMs: undefined };
    off.find("srv-api", "api-0").probeOk = false;
    assert.equal(off.steps(20).flatMap(stops).length, 0);
  });

  it("counts ECS health status UNHEALTHY too", () => {
    const sim = world();
    sim.find("srv-api", "api-2").task = runningTask("api-2", {
      group: "service:api",
      health: "UNHEALTHY",
    });
    assert.deepEqual(sim.steps(10).flatMap(stops), ["api-2"]);
  });

  it("never replaces a standalone task", () => {
    const sim = world();
    const t = sim.find("srv-api", "api-0");
    t.task = runningTask("api-0", { group: undefined });
    t.probeOk = false;
    const plans = sim.steps(10);
    assert.equal(plans.flatMap(stops).length, 0);
    assert.ok(holds(plans[9]!, "replace-standalone-task").includes("api-0"));
  });

  it("never replaces while the service is short of tasks, or cannot be described", () => {
    const sim = world();
    sim.ecsServices.set("c1/api", { ...STEADY, runningCount: 3 });
    sim.find("srv-api", "api-0").probeOk = false;
    const plans = sim.steps(10);
    assert.equal(plans.flatMap(stops).length, 0);
    assert.match(
      plans[9]!.holds.find((h) => h.rule === "replace-service-short")!.detail,
      /runs 3 of 4 tasks/,
    );
    sim.ecsServices.clear();
    assert.ok(holds(sim.step(), "replace-service-unknown").includes("api-0"));
    sim.ecsServices.set("c1/api", STEADY);
    assert.deepEqual(stops(sim.step()), ["api-0"], "replaced once the brake releases");
  });

  it("never replaces during a deployment", () => {
    for (const state of [
      { ...STEADY, deployments: 2 },
      { ...STEADY, rolloutState: "IN_PROGRESS" },
    ]) {
      const sim = world();
      sim.ecsServices.set("c1/api", state);
      sim.find("srv-api", "api-0").probeOk = false;
      const plans = sim.steps(10);
      assert.equal(plans.flatMap(stops).length, 0);
      assert.ok(holds(plans[9]!, "replace-deployment").includes("api-0"));
    }
  });

  it("replaces at most one task per service per cooldown", () => {
    const sim = world({ n: 6 });
    sim.global = { ...sim.global, replaceCooldownMs: 10_000, maxReplacementsPerCycle: 5 };
    sim.find("srv-api", "api-0").probeOk = false;
    sim.find("srv-api", "api-1").probeOk = false;
    const plans = sim.steps(20);
    const when = plans.map((p, i) => [i, stops(p)] as const).filter(([, s]) => s.length > 0);
    assert.deepEqual(
      when.map(([, s]) => s.length),
      [1, 1],
    );
    assert.ok(when[1]![0] - when[0]![0] >= 10, "the second waits out the cooldown");
    assert.ok(plans.some((p) => holds(p, "replace-cooldown").length > 0));
  });

  it("caps replacements per cycle across services", () => {
    const sim = world({ services: ["api", "web"] });
    sim.find("srv-api", "api-0").probeOk = false;
    sim.find("srv-web", "web-0").probeOk = false;
    const plans = sim.steps(9);
    assert.equal(stops(plans[7]!).length, 1);
    assert.equal(plans[7]!.holds.filter((h) => h.rule === "replace-cycle-cap").length, 1);
    assert.equal(stops(plans[8]!).length, 1, "the other one next cycle");
  });

  it("never replaces when every task fails: the last one stays in rotation, none is stopped", () => {
    const sim = world({ n: 2 });
    for (const i of sim.services[0]!.instances) i.probeOk = false;
    const plans = sim.steps(12);
    assert.deepEqual(plans.flatMap(stops), []);
    // From the cycle it turns unhealthy (the 3rd) on, the last-instance rule keeps api-1 in.
    for (const p of plans.slice(2)) assert.deepEqual(holds(p, "last-instance"), ["api-1"]);
    // api-0, out of rotation and due from +7s, is held: both tasks fail, so the cause is shared.
    for (const p of plans.slice(7))
      assert.deepEqual(holds(p, "replace-service-failing"), ["api-0"]);
    assert.ok(
      plans.every((p) => p.actions.every((a) => a.instanceId !== "api-1")),
      "api-1 is neither taken out nor replaced",
    );
  });

  it("applies the percentage cap to replacements too", () => {
    const sim = world({ n: 4 });
    sim.services[0]!.policy = { ...sim.services[0]!.policy, maxUnhealthyPercent: 25 };
    for (const i of sim.services[0]!.instances.slice(0, 2)) i.probeOk = false;
    const plans = sim.steps(12);
    // 25 % of 4: api-0 goes out and is replaced; api-1, kept in rotation by the cap, is never
    // stopped however long it fails (half the tasks fail: not more than half, so no shared cause).
    assert.deepEqual(plans.flatMap(stops), ["api-0"]);
    for (const p of plans.slice(3)) assert.deepEqual(holds(p, "max-unhealthy-percent"), ["api-1"]);
    assert.ok(plans.every((p) => p.actions.every((a) => a.instanceId !== "api-1")));
  });

  it("holds replacements while the checker is degraded", () => {
    const sim = world({ n: 6 });
    for (const i of sim.services[0]!.instances.slice(0, 5)) i.probeOk = false;
    sim.global = { ...sim.global, degradedMinInstances: 100 };
    sim.steps(3); // api-0..api-2 removed within the cap (3 of 6)
    sim.global = { ...sim.global, degradedMinInstances: 5 };
    const plans = sim.steps(8);
    assert.equal(plans.flatMap(stops).length, 0);
    assert.ok(plans.every((p) => p.degraded));
    // Due for replacement from +7s (unhealthy at +2s, replace-after 5s): each held as degraded.
    const replacementHolds = (p: Plan): string[] =>
      p.holds
        .filter((h) => h.rule === "degraded" && /not replacing/.test(h.detail))
        .map((h) => h.instanceId)
        .sort();
    assert.deepEqual(replacementHolds(plans[3]!), [], "not yet due at +6s");
    for (const p of plans.slice(4)) {
      assert.deepEqual(replacementHolds(p), ["api-0", "api-1", "api-2"]);
    }
  });

  it("observe mode reports the replacement it would make and stops nothing", () => {
    const sim = world({ action: "observe" });
    sim.find("srv-api", "api-3").probeOk = false;
    const stopActions = sim
      .steps(12)
      .flatMap((p) => p.actions.filter((a) => a.kind === "stop-task"));
    assert.equal(stopActions.length, 1);
    assert.equal(stopActions[0]!.dryRun, true);
  });
});
