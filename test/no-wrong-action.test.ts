// Planner scenarios for "no wrong action, ever": never put a failing target back, never send a
// decision a later probe contradicts, never count the checker's own probe error against a
// target, never remove on failures that the checker's own network caused.

import { strict as assert } from "node:assert";
import { instanceKey, type Action, type Plan } from "../checker/domain/types";
import { foldPlan } from "../checker/plan/apply";
import { staleBecause, type SendContext } from "../checker/plan/at-send";
import { plan } from "../checker/plan/planner";
import { judgeStreak } from "../checker/plan/probe-window";
import { ProbeLog } from "../checker/state/probe-log";
import {
  healthyInstances,
  POLICY,
  service,
  Sim,
  taskIn,
  type SimService,
} from "./support/scenario";

function sim(n: number, policy: Partial<typeof POLICY> = {}): Sim {
  const svc: SimService = {
    info: service("api"),
    policy: { ...POLICY, ...policy },
    instances: healthyInstances(n),
  };
  return new Sim([svc]);
}

const kinds = (p: Plan): string[] => p.actions.map((a) => `${a.kind} ${a.instanceId}`);
const KEY0 = instanceKey("srv-api", "t0");

/** Fails t0 until the planner takes it out. */
function takeOutFirst(s: Sim): void {
  s.services[0]!.instances[0]!.probeOk = false;
  const plans = s.steps(POLICY.unhealthyThreshold);
  assert.deepEqual(kinds(plans.at(-1)!), ["deregister t0"]);
}

describe("no wrong action: recoveries follow the current streak", () => {
  it("never re-registers a target that failed again while AWS refused its re-registration", () => {
    const s = sim(4);
    takeOutFirst(s);
    const t0 = s.services[0]!.instances[0]!;
    s.actionsSucceed = false; // RegisterInstance answers 500
    t0.probeOk = true;
    const planned = s.steps(3).map(kinds);
    assert.deepEqual(planned, [[], ["register t0"], ["register t0"]]);
    t0.probeOk = false; // fails again, once: below the unhealthy threshold of 3
    assert.deepEqual(kinds(s.step()), [], "not put back on the step it fails");
    s.actionsSucceed = true; // AWS is back
    assert.deepEqual(kinds(s.step()), [], "not put back while it still fails");
    t0.probeOk = true;
    assert.deepEqual(kinds(s.step()), [], "one success is not the healthy threshold of 2");
    assert.deepEqual(kinds(s.step()), ["register t0"], "put back after two in a row");
    assert.equal(s.state.get(KEY0)!.inRotation, true);
  });

  it("never re-registers a target that failed again while ECS state was unavailable", () => {
    const s = sim(4);
    takeOutFirst(s);
    const t0 = s.services[0]!.instances[0]!;
    const running = t0.task;
    t0.task = { kind: "unavailable" };
    t0.probeOk = true;
    const held = s.steps(2);
    assert.deepEqual(held.map(kinds), [[], []]);
    assert.equal(held[1]!.holds[0]?.rule, "task-not-running");
    t0.probeOk = false;
    s.step();
    t0.task = running; // ECS answers again
    assert.deepEqual(kinds(s.step()), [], "ECS back, target failing: stays out");
    t0.probeOk = true;
    assert.deepEqual(s.steps(2).map(kinds), [[], ["register t0"]]);
  });

  it("a failure out of rotation makes the verdict unhealthy at once, so /status tells the truth", () => {
    const s = sim(4);
    takeOutFirst(s);
    const t0 = s.services[0]!.instances[0]!;
    t0.task = { kind: "unavailable" };
    t0.probeOk = true;
    s.steps(2);
    assert.equal(s.state.get(KEY0)!.verdict, "healthy");
    t0.probeOk = false;
    s.step();
    assert.equal(s.state.get(KEY0)!.verdict, "unhealthy");
    assert.equal(s.state.get(KEY0)!.consecutiveSuccesses, 0);
  });
});

describe("no wrong action: the checker's own probe errors", () => {
  it("counts a probe that failed inside the checker for nothing: no failure, no removal, not probed", () => {
    const s = sim(6);
    for (const i of s.services[0]!.instances) i.probeLocal = true;
    for (const p of s.steps(10)) {
      assert.deepEqual(p.actions, []);
      assert.deepEqual(p.probeStats, { probed: 0, failed: 0 });
    }
    const st = s.state.get(KEY0)!;
    assert.equal(st.consecutiveFailures, 0);
    assert.equal(st.verdict, "healthy");
    assert.equal(st.lastProbe, undefined, "the last probe shown is the target's last answer");
  });

  it("neither breaks a failure streak nor a success streak", () => {
    const s = sim(6);
    const t0 = s.services[0]!.instances[0]!;
    t0.probeOk = false;
    s.steps(2);
    t0.probeLocal = true;
    s.steps(3);
    assert.equal(s.state.get(KEY0)!.consecutiveFailures, 2);
    t0.probeLocal = false;
    assert.deepEqual(kinds(s.step()), ["deregister t0"], "the third real failure removes it");
  });
});

describe("no wrong action: the degraded rule over a failure streak", () => {
  const global = { degradedFailPercent: 80, degradedMinInstances: 5 };

  it("holds a removal whose streak began when most of the namespace's probes began failing", () => {
    // An outage of the checker's own network that began in the middle of the last cycle: this
    // cycle's probes so far look fine (the pass sees few of them), the span since t0's first
    // failure does not.
    const s = sim(10, { unhealthyThreshold: 2 });
    s.steps(3);
    const t0 = s.services[0]!.instances[0]!;
    t0.probeOk = false;
    const from = s.now;
    for (let k = 0; k < 40; k++) s.history.record(from + k, false); // the rest of the namespace
    s.step();
    for (let k = 0; k < 40; k++) s.history.record(s.now + k, false);
    const p = s.step();
    assert.deepEqual(kinds(p), []);
    assert.equal(p.degraded, false, "the cycle's own share does not say degraded");
    assert.equal(p.holds[0]?.rule, "degraded");
    assert.match(p.holds[0]!.detail, /probes since this target's first failure failed/);
  });

  it("removes on one failure only once enough of the namespace's probes landed after it", () => {
    const s = sim(10, { unhealthyThreshold: 1 });
    s.steps(2);
    const t0 = s.services[0]!.instances[0]!;
    t0.probeOk = false;
    // A pass that holds t0's failure and one other result: too few to tell.
    const failed = s.input().services[0]!.instances[0]!;
    s.history.record(s.now, false);
    s.history.record(s.now, true);
    const first = planOne(s, [failed], 10);
    assert.deepEqual(first.actions, []);
    assert.deepEqual(first.waits, [{ key: KEY0, serviceId: "srv-api", missing: 3 }]);
    for (let k = 0; k < 3; k++) s.history.record(s.now + 1, true);
    const second = planOne(s, [], 10);
    assert.deepEqual(
      second.actions.map((a) => `${a.kind} ${a.instanceId}`),
      ["deregister t0"],
    );
  });

  it("does not apply below degraded-min-instances, as per cycle", () => {
    assert.deepEqual(judgeStreak(0, new ProbeLog(1000), 4, global), { kind: "ok" });
    const log = new ProbeLog(1000);
    log.record(10, false);
    assert.deepEqual(judgeStreak(10, log, 5, global), { kind: "wait", missing: 4 });
    for (let k = 0; k < 4; k++) log.record(11, false);
    assert.deepEqual(judgeStreak(10, log, 5, global), { kind: "degraded", probed: 5, failed: 5 });
    for (let k = 0; k < 20; k++) log.record(12, true);
    assert.deepEqual(judgeStreak(10, log, 5, global), { kind: "ok" });
  });
});

/** One pass over service 0 with only `probed` instances' probes in it (the rest not landed). */
function planOne(
  s: Sim,
  probed: ReturnType<Sim["input"]>["services"][number]["instances"],
  namespaceProbes: number,
): Plan {
  const base = s.input();
  const withProbes = new Map(probed.map((o) => [o.key, o]));
  const services = base.services.map((svc) => ({
    ...svc,
    instances: svc.instances.map((o) => withProbes.get(o.key) ?? { ...o, probe: undefined }),
  }));
  const p = plan({ ...base, services, namespaceProbes, probeStats: { probed: 2, failed: 1 } });
  foldPlan(s.state, p);
  return p;
}

describe("no wrong action: every action is checked again right before it is sent", () => {
  const global = { degradedFailPercent: 80, degradedMinInstances: 5 };
  const common = {
    key: KEY0,
    serviceId: "srv-api",
    serviceName: "api",
    instanceId: "t0",
    reason: "r",
    dryRun: false,
  };
  const register: Action = {
    ...common,
    kind: "register",
    attributes: {},
    creatorRequestId: "x",
    basis: { kind: "probes", at: 100 },
  };
  const deregister: Action = {
    ...common,
    kind: "deregister",
    attributes: {},
    basis: { kind: "probes", at: 100, failingSince: 80 },
  };
  const ctx = (okAt?: number, failAt?: number, history = new ProbeLog(1000)): SendContext => ({
    latest: { okAt, failAt },
    taskGoingAway: false,
    history,
    namespaceProbes: 10,
    global,
  });

  it("drops a re-registration once a failure landed after the decision", () => {
    assert.equal(staleBecause(register, ctx(100, 90)), undefined);
    assert.match(staleBecause(register, ctx(100, 101))!, /failed a check after the decision/);
    const status: Action = {
      ...common,
      kind: "set-status",
      status: "HEALTHY",
      basis: register.basis,
    };
    assert.match(staleBecause(status, ctx(100, 150))!, /failed/);
  });

  it("drops a re-registration once ECS says the task is going away", () => {
    assert.match(
      staleBecause(register, { ...ctx(100, 90), taskGoingAway: true })!,
      /task is going away/,
    );
  });

  it("drops a removal once a pass landed after the decision", () => {
    assert.equal(staleBecause(deregister, ctx(50, 100)), undefined);
    assert.match(staleBecause(deregister, ctx(120, 100))!, /passed a check after the decision/);
    const stop: Action = {
      ...common,
      kind: "stop-task",
      cluster: "c1",
      taskArn: "arn",
      ecsService: "c1/api",
      basis: deregister.basis,
    };
    assert.match(staleBecause(stop, ctx(101, 100))!, /passed/);
  });

  it("drops a removal once most of the namespace's probes since its streak began fail", () => {
    const log = new ProbeLog(1000);
    for (let k = 0; k < 10; k++) log.record(90 + k, true);
    assert.equal(staleBecause(deregister, ctx(50, 100, log)), undefined);
    for (let k = 0; k < 50; k++) log.record(101, false); // the checker's network went down
    assert.match(staleBecause(deregister, ctx(50, 101, log))!, /checker's own network/);
  });

  it("never drops what ECS says: a task going away leaves whatever its probes say", () => {
    const leaving: Action = { ...deregister, basis: { kind: "task" } };
    assert.equal(staleBecause(leaving, ctx(500, 100)), undefined);
  });

  it("a planned action carries what it rests on", () => {
    const s = sim(4);
    const t0 = s.services[0]!.instances[0]!;
    t0.probeOk = false;
    const start = s.now;
    const plans = s.steps(3);
    const out = plans[2]!.actions[0]!;
    assert.deepEqual(out.basis, { kind: "probes", at: start + 2000, failingSince: start });
    t0.probeOk = true;
    const back = s.steps(2)[1]!.actions[0]!;
    assert.deepEqual(back.basis, { kind: "probes", at: start + 4000 });
    t0.task = taskIn("DEACTIVATING", "STOPPED");
    s.services[0]!.instances[1]!.task = taskIn("DEACTIVATING", "STOPPED");
    const leaving = s.step().actions.find((a) => a.instanceId === "t1")!;
    assert.deepEqual(leaving.basis, { kind: "task" });
  });
});

describe("probe log", () => {
  it("counts exactly the results at or after a moment, failures apart", () => {
    const log = new ProbeLog(60_000);
    log.record(1, true);
    log.record(2, false);
    log.record(2, true);
    log.record(3, false);
    assert.deepEqual(log.since(0), { probed: 4, failed: 2 });
    assert.deepEqual(log.since(2), { probed: 3, failed: 2 });
    assert.deepEqual(log.since(3), { probed: 1, failed: 1 });
    assert.deepEqual(log.since(4), { probed: 0, failed: 0 });
  });

  it("keeps its span however many results land, and forgets what is older", () => {
    const log = new ProbeLog(1000);
    for (let t = 0; t < 10_000; t++) log.record(t, t % 4 === 0);
    const recent = log.since(9000);
    assert.deepEqual(recent, { probed: 1000, failed: 750 });
    const all = log.since(0);
    assert.ok(all.probed >= 1000 && all.probed < 10_000, `kept ${all.probed}`);
    assert.equal(all.failed, Math.round(all.probed * 0.75));
  });
});
