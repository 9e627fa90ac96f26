import { strict as assert } from "node:assert";
import { instanceKey, type InstanceState, type Plan } from "../checker/domain/types";
import { foldPlan } from "../checker/plan/apply";
import { isDecisive } from "../checker/plan/decisive";
import { plan } from "../checker/plan/planner";
import {
  attrs,
  healthyInstances,
  POLICY,
  runningTask,
  service,
  Sim,
  taskIn,
  type SimService,
} from "./support/scenario";

function oneService(
  n: number,
  opts: { custom?: boolean; policy?: Partial<typeof POLICY> } = {},
): Sim {
  const svc: SimService = {
    info: service("api", opts.custom ?? false),
    policy: { ...POLICY, ...opts.policy },
    instances: healthyInstances(n),
  };
  return new Sim([svc]);
}

function kinds(p: Plan): string[] {
  return p.actions.map(
    (a) => `${a.kind}${a.kind === "set-status" ? `:${a.status}` : ""} ${a.instanceId}`,
  );
}

describe("planner", () => {
  it("leaves a healthy service alone and never rewrites an unchanged status", () => {
    const sim = oneService(3);
    for (const p of sim.steps(10)) assert.deepEqual(p.actions, []);
  });

  it("deregisters after exactly the unhealthy threshold, keeping every attribute", () => {
    const sim = oneService(4);
    sim.find("srv-api", "t1").probeOk = false;
    const plans = sim.steps(3);
    assert.deepEqual(kinds(plans[0]!), []);
    assert.deepEqual(kinds(plans[1]!), []);
    assert.deepEqual(kinds(plans[2]!), ["deregister t1"]);
    const action = plans[2]!.actions[0]!;
    assert.equal(action.kind, "deregister");
    if (action.kind === "deregister") assert.deepEqual(action.attributes, attrs("t1"));
    assert.match(action.reason, /3 consecutive failed checks \(last: HTTP 500\)/);
    // Nothing more while it stays down.
    for (const p of sim.steps(5)) assert.deepEqual(p.actions, []);
  });

  it("re-registers after exactly the healthy threshold, with the same attributes and a stable token", () => {
    const sim = oneService(4);
    const t1 = sim.find("srv-api", "t1");
    t1.probeOk = false;
    sim.steps(3);
    assert.equal(t1.registered, false);
    t1.probeOk = true;
    const first = sim.step();
    assert.deepEqual(first.actions, []);
    // Make the register "fail" once: the retry must carry the same CreatorRequestId.
    sim.actionsSucceed = false;
    const second = sim.step();
    sim.actionsSucceed = true;
    const third = sim.step();
    assert.deepEqual(kinds(second), ["register t1"]);
    assert.deepEqual(kinds(third), ["register t1"]);
    const [a, b] = [second.actions[0]!, third.actions[0]!];
    assert.ok(a.kind === "register" && b.kind === "register");
    assert.deepEqual(b.attributes, attrs("t1"));
    assert.equal(a.creatorRequestId, b.creatorRequestId);
    assert.ok(b.creatorRequestId.length <= 64);
    assert.equal(t1.registered, true);
    for (const p of sim.steps(3)) assert.deepEqual(p.actions, []);
  });

  it("does not act on a flapping instance whose failures never reach the threshold", () => {
    const sim = oneService(3);
    const t0 = sim.find("srv-api", "t0");
    for (let i = 0; i < 20; i++) {
      t0.probeOk = i % 3 !== 2 ? false : true; // fail, fail, ok, fail, fail, ok ...
      assert.deepEqual(sim.step().actions, []);
    }
  });

  it("damps recovery: a flapping removed instance is not put back until M successes in a row", () => {
    const sim = oneService(4);
    const t0 = sim.find("srv-api", "t0");
    t0.probeOk = false;
    sim.steps(3);
    for (let i = 0; i < 10; i++) {
      t0.probeOk = i % 2 === 0;
      assert.deepEqual(sim.step().actions, []);
    }
    assert.equal(t0.registered, false);
  });

  it("returns the new state of what it planned only; foldPlan keeps the rest", () => {
    const other: SimService = {
      info: service("web", false),
      policy: POLICY,
      instances: healthyInstances(3),
    };
    const sim = new Sim([oneService(3).services[0]!, other]);
    sim.steps(2);
    const before = new Map(sim.state);
    sim.find("srv-api", "t1").probeOk = false;
    const input = sim.input();
    const p = plan({ ...input, services: input.services.slice(0, 1) }); // a pass over "api"
    assert.deepEqual([...p.updates.keys()].sort(), ["srv-api/t0", "srv-api/t1", "srv-api/t2"]);
    assert.equal(sim.state.get("srv-api/t1")!.consecutiveFailures, 0, "the input is not changed");
    foldPlan(sim.state, p);
    assert.equal(sim.state.get("srv-api/t1")!.consecutiveFailures, 1);
    for (const key of ["srv-web/t0", "srv-web/t1", "srv-web/t2"]) {
      assert.equal(sim.state.get(key), before.get(key), `${key} kept as it was`);
    }
  });

  it("never takes out a target the cap held once its last check passed", () => {
    const sim = oneService(4, { policy: { maxUnhealthyPercent: 50 } });
    for (const id of ["t0", "t1", "t2"]) sim.find("srv-api", id).probeOk = false;
    sim.steps(3);
    assert.deepEqual(sim.state.get("srv-api/t2")!.inRotation, true, "held by the cap");
    for (const id of ["t0", "t1"]) sim.find("srv-api", id).probeOk = true;
    sim.step();
    sim.find("srv-api", "t2").probeOk = true;
    assert.deepEqual(kinds(sim.step()), ["register t0", "register t1"]);
    // The cap is free now; t2's one passing check is its latest word (no probe this time).
    sim.find("srv-api", "t2").probeOk = undefined;
    assert.deepEqual(kinds(sim.step()), []);
    sim.find("srv-api", "t2").probeOk = false;
    assert.deepEqual(kinds(sim.step()), ["deregister t2"], "it goes if it fails again");
  });

  it("takes a stopping task out at once, past the cap, and never puts it back", () => {
    const sim = oneService(2, { policy: { maxUnhealthyPercent: 0 } });
    const t0 = sim.find("srv-api", "t0");
    t0.task = taskIn("DEACTIVATING", "STOPPED");
    const p = sim.step();
    assert.deepEqual(kinds(p), ["deregister t0"]);
    assert.match(p.actions[0]!.reason, /going away/);
    // Even if its endpoint answers, a going-away task stays out; once STOPPED it is forgotten.
    for (const p2 of sim.steps(3)) assert.deepEqual(p2.actions, []);
    t0.task = taskIn("STOPPED", "STOPPED");
    const last = sim.step();
    assert.deepEqual(last.actions, []);
    assert.ok(last.forget.includes(instanceKey("srv-api", "t0")));
    assert.equal(sim.state.has(instanceKey("srv-api", "t0")), false);
  });

  it("treats desiredStatus STOPPED on a RUNNING task as going away", () => {
    const sim = oneService(3);
    sim.find("srv-api", "t2").task = taskIn("RUNNING", "STOPPED");
    assert.deepEqual(kinds(sim.step()), ["deregister t2"]);
  });

  it("never re-registers a recovered instance whose task has since stopped or vanished", () => {
    const sim = oneService(4);
    const t1 = sim.find("srv-api", "t1");
    t1.probeOk = false;
    sim.steps(3);
    t1.probeOk = true;
    t1.task = { kind: "missing" };
    for (const p of sim.steps(4)) assert.deepEqual(p.actions, []);
    assert.equal(sim.state.has(instanceKey("srv-api", "t1")), false);
  });

  it("holds a recovery while the task is not RUNNING or ECS cannot be read", () => {
    const sim = oneService(4);
    const t1 = sim.find("srv-api", "t1");
    t1.probeOk = false;
    sim.steps(3);
    t1.probeOk = true;
    t1.task = { kind: "unavailable" };
    sim.step();
    const p = sim.step();
    assert.deepEqual(p.actions, []);
    assert.equal(p.holds[0]?.rule, "task-not-running");
    t1.task = runningTask("t1");
    assert.deepEqual(kinds(sim.step()), ["register t1"]);
  });

  it("counts ECS health status UNHEALTHY as a failure even when probes pass", () => {
    const sim = oneService(4);
    sim.find("srv-api", "t3").task = runningTask("t3", { health: "UNHEALTHY" });
    const plans = sim.steps(3);
    assert.deepEqual(kinds(plans[2]!), ["deregister t3"]);
    assert.match(plans[2]!.actions[0]!.reason, /ECS reports the task UNHEALTHY/);
  });

  it("ignores failures during the startup grace period, then counts them", () => {
    const sim = oneService(4, { policy: { startupGraceMs: 5000 } });
    const t0 = sim.find("srv-api", "t0");
    t0.task = runningTask("t0", { startedAt: sim.now });
    t0.probeOk = false;
    // Cycles at +0s..+4s are in grace; failures count from +5s, so removal at +7s.
    const plans = sim.steps(8);
    plans.slice(0, 7).forEach((p) => assert.deepEqual(p.actions, []));
    assert.deepEqual(kinds(plans[7]!), ["deregister t0"]);
  });

  it("uses first-seen time for grace when ECS gives no startedAt", () => {
    const sim = oneService(4, { policy: { startupGraceMs: 3000 } });
    const t0 = sim.find("srv-api", "t0");
    t0.task = { kind: "not-ecs" };
    t0.probeOk = false;
    const plans = sim.steps(6);
    plans.slice(0, 5).forEach((p) => assert.deepEqual(p.actions, []));
    assert.deepEqual(kinds(plans[5]!), ["deregister t0"]);
  });

  it("caps removals at max-unhealthy-percent and keeps the rest in rotation", () => {
    const sim = oneService(4);
    for (const id of ["t0", "t1", "t2"]) sim.find("srv-api", id).probeOk = false;
    const p = sim.steps(3)[2]!;
    assert.deepEqual(kinds(p), ["deregister t0", "deregister t1"]);
    assert.deepEqual(
      p.holds.map((h) => [h.instanceId, h.rule]),
      [["t2", "max-unhealthy-percent"]],
    );
    assert.match(p.holds[0]!.detail, /2\/4 already out of rotation \(max 50%\)/);
    // When one recovers and goes back, the held one may go.
    sim.find("srv-api", "t0").probeOk = true;
    const later = sim.steps(2);
    assert.deepEqual(kinds(later[1]!), ["register t0"]);
    assert.deepEqual(kinds(sim.step()), ["deregister t2"]);
  });

  it("never removes the last instance in rotation, even at 100 %", () => {
    const sim = oneService(2, { policy: { maxUnhealthyPercent: 100 } });
    for (const i of sim.services[0]!.instances) i.probeOk = false;
    const p = sim.steps(3)[2]!;
    assert.deepEqual(kinds(p), ["deregister t0"]);
    assert.deepEqual(
      p.holds.map((h) => h.rule),
      ["last-instance"],
    );
    const single = oneService(1, { policy: { maxUnhealthyPercent: 100 } });
    single.services[0]!.instances[0]!.probeOk = false;
    const q = single.steps(3)[2]!;
    assert.deepEqual(q.actions, []);
    assert.deepEqual(
      q.holds.map((h) => h.rule),
      ["last-instance"],
    );
  });

  it("reports a degraded checker and acts on nothing when most probes fail at once", () => {
    const a: SimService = {
      info: service("a"),
      policy: POLICY,
      instances: healthyInstances(5, "a"),
    };
    const b: SimService = {
      info: service("b"),
      policy: POLICY,
      instances: healthyInstances(5, "b"),
    };
    const sim = new Sim([a, b]);
    for (const i of [...a.instances, ...b.instances].slice(0, 9)) i.probeOk = false;
    for (const p of sim.steps(6)) {
      assert.equal(p.degraded, true);
      assert.deepEqual(p.actions, []);
      assert.deepEqual(p.probeStats, { probed: 10, failed: 9 });
    }
    // Counters froze while degraded: when the network comes back, nobody is removed.
    for (const i of [...a.instances, ...b.instances]) i.probeOk = true;
    for (const p of sim.steps(3)) {
      assert.equal(p.degraded, false);
      assert.deepEqual(p.actions, []);
    }
  });

  it("is not degraded below the minimum instance count", () => {
    const sim = oneService(4, { policy: { maxUnhealthyPercent: 100 } });
    for (const i of sim.services[0]!.instances) i.probeOk = false;
    const p = sim.steps(3)[2]!;
    assert.equal(p.degraded, false);
    assert.equal(p.actions.length, 3);
  });

  it("still removes going-away tasks while degraded (ECS, not the network, says so)", () => {
    const sim = oneService(6);
    for (const i of sim.services[0]!.instances) i.probeOk = false;
    sim.find("srv-api", "t4").task = taskIn("STOPPING", "STOPPED");
    const p = sim.step();
    assert.equal(p.degraded, true);
    assert.deepEqual(kinds(p), ["deregister t4"]);
  });

  it("observe mode reports each would-be action once and changes nothing", () => {
    const sim = oneService(4, { policy: { action: "observe" } });
    const t1 = sim.find("srv-api", "t1");
    t1.probeOk = false;
    const plans = sim.steps(8);
    const all = plans.flatMap((p) => p.actions);
    assert.equal(all.length, 1);
    assert.equal(all[0]!.kind, "deregister");
    assert.equal(all[0]!.dryRun, true);
    assert.equal(t1.registered, true);
    t1.probeOk = true;
    const back = sim.steps(3).flatMap((p) => p.actions);
    assert.deepEqual(
      back.map((a) => [a.kind, a.dryRun]),
      [["register", true]],
    );
  });

  it("sets custom health status on services with a custom health config", () => {
    const sim = oneService(4, { custom: true });
    const t1 = sim.find("srv-api", "t1");
    t1.probeOk = false;
    const p = sim.steps(3)[2]!;
    assert.deepEqual(kinds(p), ["set-status:UNHEALTHY t1"]);
    assert.equal(t1.registered, true);
    t1.probeOk = true;
    assert.deepEqual(kinds(sim.steps(2)[1]!), ["set-status:HEALTHY t1"]);
    assert.equal(t1.customStatus, "HEALTHY");
  });

  it("puts an initially UNHEALTHY custom-health instance to HEALTHY once it passes", () => {
    const sim = oneService(3, { custom: true });
    sim.find("srv-api", "t2").customStatus = "UNHEALTHY";
    const plans = sim.steps(3);
    assert.deepEqual(kinds(plans[0]!), []);
    assert.deepEqual(kinds(plans[1]!), ["set-status:HEALTHY t2"]);
    assert.deepEqual(kinds(plans[2]!), []);
  });

  it("honours an explicit action over auto, and refuses custom-status where it cannot work", () => {
    const dereg = oneService(4, { custom: true, policy: { action: "deregister" } });
    dereg.find("srv-api", "t0").probeOk = false;
    assert.deepEqual(kinds(dereg.steps(3)[2]!), ["deregister t0"]);

    const wrong = oneService(4, { policy: { action: "custom-status" } });
    wrong.find("srv-api", "t0").probeOk = false;
    const p = wrong.steps(3)[2]!;
    assert.deepEqual(
      p.actions.map((a) => [a.kind, a.dryRun]),
      [["deregister", true]],
    );
    assert.match(p.warnings[0]!, /no custom health config/);
  });

  it("retries a failed mutation next cycle and issues it once it succeeds", () => {
    const sim = oneService(4);
    sim.find("srv-api", "t0").probeOk = false;
    sim.actionsSucceed = false;
    const plans = sim.steps(4);
    assert.deepEqual(kinds(plans[2]!), ["deregister t0"]);
    assert.deepEqual(kinds(plans[3]!), ["deregister t0"]);
    sim.actionsSucceed = true;
    assert.deepEqual(kinds(sim.step()), ["deregister t0"]);
    for (const p of sim.steps(3)) assert.deepEqual(p.actions, []);
  });

  it("skips malformed instances and unknown tasks without acting on them", () => {
    const sim = oneService(4);
    const t0 = sim.find("srv-api", "t0");
    t0.problem = "AWS_INSTANCE_IPV4 missing";
    t0.probeOk = undefined;
    sim.find("srv-api", "t1").task = { kind: "missing" };
    sim.find("srv-api", "t1").probeOk = false;
    for (const p of sim.steps(4)) {
      assert.deepEqual(p.actions, []);
      assert.deepEqual(
        p.skips.map((s) => s.instanceId),
        ["t0", "t1"],
      );
    }
  });

  it("removes again when someone re-registers an instance that is still failing", () => {
    const sim = oneService(4);
    sim.settleMs = 2000;
    const t0 = sim.find("srv-api", "t0");
    t0.probeOk = false;
    sim.steps(3);
    assert.equal(t0.registered, false);
    // A stale listing right after the change must not trigger a second deregistration...
    t0.registered = true;
    assert.deepEqual(sim.step().actions, []);
    // ...but once the change has settled, a listing that still shows it means it came back.
    assert.deepEqual(kinds(sim.step()), ["deregister t0"]);
  });

  it("forgets instances that left Cloud Map on their own", () => {
    const sim = oneService(3);
    sim.step();
    sim.find("srv-api", "t2").registered = false;
    const p = sim.step();
    assert.ok(p.forget.includes(instanceKey("srv-api", "t2")));
    assert.equal(sim.state.size, 2);
  });
});

// The loop decides as probes land: several passes a cycle, each with the probes since the last.
describe("planner passes within a cycle", () => {
  it("folds each probe once: a pass without an instance's probe leaves its counters, ECS health included", () => {
    const sim = oneService(6);
    const t1 = sim.find("srv-api", "t1");
    const t3 = sim.find("srv-api", "t3");
    t1.probeOk = false;
    t3.task = runningTask("t3", { health: "UNHEALTHY" });
    sim.step(); // one check each: 1 failure for t1 and t3
    // Passes whose batches hold neither instance's probe: nothing counts, nothing is decided.
    t1.probeOk = undefined;
    t3.probeOk = undefined;
    for (const p of sim.steps(4)) assert.deepEqual(p.actions, []);
    assert.equal(sim.state.get(instanceKey("srv-api", "t1"))!.consecutiveFailures, 1);
    assert.equal(sim.state.get(instanceKey("srv-api", "t3"))!.consecutiveFailures, 1);
    // Their next probes land: checks 2 and 3 remove both (threshold 3).
    t1.probeOk = false;
    t3.probeOk = true;
    sim.step();
    assert.deepEqual(kinds(sim.step()), ["deregister t1", "deregister t3"]);
  });

  it("judges degraded on the cycle's probes so far, not on one pass's batch", () => {
    const sim = oneService(10, { policy: { unhealthyThreshold: 1 } });
    for (const i of sim.services[0]!.instances) i.probeOk = i.id < "t6" ? undefined : false;
    // This batch alone (4 of 4 failed) would be degraded; the 40 probes so far are not.
    for (let k = 0; k < 40; k++) sim.history.record(sim.now, k >= 4);
    const calm = plan({ ...sim.input(), probeStats: { probed: 40, failed: 4 } });
    assert.equal(calm.degraded, false);
    assert.deepEqual(calm.probeStats, { probed: 40, failed: 4 });
    assert.equal(calm.actions.length, 4);
    // And a batch of one success in a cycle that mostly failed is degraded: nothing is done.
    for (const i of sim.services[0]!.instances) i.probeOk = i.id === "t0" ? true : undefined;
    const bad = plan({ ...sim.input(), probeStats: { probed: 9, failed: 8 } });
    assert.equal(bad.degraded, true);
    assert.deepEqual(bad.actions, []);
  });

  it("says which probe results may decide something", () => {
    const policy = { unhealthyThreshold: 3, healthyThreshold: 2 };
    const fail = { ok: false, detail: "HTTP 500", latencyMs: 1, at: 0 };
    const pass = { ok: true, detail: "HTTP 200", latencyMs: 1, at: 0 };
    const st = (over: Partial<InstanceState>): InstanceState => ({
      key: "k",
      serviceId: "s",
      instanceId: "i",
      attributes: {},
      verdict: "healthy",
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      firstSeen: 0,
      inRotation: true,
      removedByChecker: false,
      removedAt: undefined,
      mutatedAt: undefined,
      removalReason: undefined,
      lastProbe: undefined,
      unhealthySince: undefined,
      taskArn: undefined,
      ...over,
    });
    assert.equal(isDecisive(st({ consecutiveFailures: 1 }), fail, policy), false);
    assert.equal(isDecisive(st({ consecutiveFailures: 2 }), fail, policy), true, "3rd failure");
    assert.equal(isDecisive(st({ consecutiveFailures: 5 }), pass, policy), false);
    assert.equal(
      isDecisive(st({ verdict: "unhealthy", consecutiveFailures: 5 }), fail, policy),
      false,
      "held in rotation by a cap: the cycle's end looks again",
    );
    const out = { verdict: "unhealthy" as const, inRotation: false, removedByChecker: true };
    assert.equal(isDecisive(st(out), pass, policy), false, "1st success of 2");
    assert.equal(isDecisive(st({ ...out, consecutiveSuccesses: 1 }), pass, policy), true);
    assert.equal(isDecisive(st({ ...out, verdict: "healthy" }), pass, policy), true);
    assert.equal(isDecisive(st(out), fail, policy), false);
    assert.equal(isDecisive(undefined, fail, policy), false, "new: 1 failure of 3");
    assert.equal(isDecisive(undefined, fail, { ...policy, unhealthyThreshold: 1 }), true);
    assert.equal(isDecisive(undefined, pass, policy), false);
  });
});
