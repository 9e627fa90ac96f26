// Scenarios for the rules that decide, within a cycle, when and what to plan.

import { strict as assert } from "node:assert";
import type { Action, GlobalPolicy } from "../checker/domain/types";
import {
  ecsServicesToDescribe,
  mayDecideNow,
  nextBacklog,
  resultsToldApart,
  servicesToPlanFirst,
  unsteadyTaskIds,
  type PassMoment,
} from "../checker/plan/cycle-rules";
import { ProbeLog } from "../checker/state/probe-log";
import { healthyInstances, POLICY, runningTask, service, Sim } from "./support/scenario";

const GLOBAL: GlobalPolicy = {
  degradedFailPercent: 80,
  degradedMinInstances: 5,
  replaceCooldownMs: 300_000,
  maxReplacementsPerCycle: 1,
};

function sim(n = 6, healthyThreshold = 2, replaceAfterMs?: number): Sim {
  return new Sim([
    {
      info: service("api"),
      policy: { ...POLICY, healthyThreshold, replaceAfterMs },
      instances: healthyInstances(n, "api-").map((i) => ({
        ...i,
        task: runningTask(i.id, { group: "service:api" }),
      })),
    },
  ]);
}

describe("cycle rules", () => {
  describe("unsteadyTaskIds: which tasks ECS must be asked about afresh", () => {
    it("asks about none while every instance is healthy and in rotation", () => {
      const s = sim();
      s.steps(2);
      assert.deepEqual([...unsteadyTaskIds(s.state.values(), () => 2)], []);
    });

    it("leaves a failing instance in rotation: a removal rests on probes, not on ECS", () => {
      const s = sim();
      s.step();
      s.find("srv-api", "api-1").probeOk = false;
      s.step();
      assert.equal(s.state.get("srv-api/api-1")!.consecutiveFailures, 1);
      assert.deepEqual([...unsteadyTaskIds(s.state.values(), () => 2)], []);
    });

    it("asks about an unhealthy instance the cap keeps in rotation", () => {
      const s = sim();
      s.step();
      const st = s.state.get("srv-api/api-1")!;
      s.state.set(st.key, { ...st, verdict: "unhealthy", consecutiveFailures: 3 });
      assert.deepEqual([...unsteadyTaskIds(s.state.values(), () => 2)], ["api-1"]);
    });

    it("leaves a removed instance whose probes still fail, until its first success", () => {
      const s = sim();
      s.find("srv-api", "api-1").probeOk = false;
      s.steps(4);
      assert.equal(s.state.get("srv-api/api-1")!.inRotation, false);
      assert.deepEqual([...unsteadyTaskIds(s.state.values(), () => 2)], []);
      s.find("srv-api", "api-1").probeOk = true;
      s.step(); // one success of two: the put-back is next, so ECS is asked first
      assert.deepEqual([...unsteadyTaskIds(s.state.values(), () => 2)], ["api-1"]);
    });

    it("asks about a removed instance at once where one success puts it back", () => {
      const s = sim(6, 1);
      s.find("srv-api", "api-1").probeOk = false;
      s.steps(4);
      assert.deepEqual([...unsteadyTaskIds(s.state.values(), () => 1)], ["api-1"]);
      assert.deepEqual(
        [...unsteadyTaskIds(s.state.values(), () => undefined)],
        ["api-1"],
        "an unknown service counts as threshold 1: asking is the safe side",
      );
    });
  });

  describe("mayDecideNow: whether a pass before the cycle's end may act", () => {
    const moment: PassMoment = {
      now: 1000,
      passBy: 2000,
      aborted: false,
      mayAct: true,
      lastDegraded: false,
      probed: 10,
      failed: 1,
    };

    it("may, in time, as the holder, after a sound cycle, with sound probes so far", () => {
      assert.equal(mayDecideNow(moment, GLOBAL), true);
    });

    it("may not once the cycle's end has the rest, nor when aborted or not the holder", () => {
      assert.equal(mayDecideNow({ ...moment, now: 2000 }, GLOBAL), false);
      assert.equal(mayDecideNow({ ...moment, aborted: true }, GLOBAL), false);
      assert.equal(mayDecideNow({ ...moment, mayAct: false }, GLOBAL), false);
    });

    it("may not after a degraded cycle, nor while this cycle's probes so far look degraded", () => {
      assert.equal(mayDecideNow({ ...moment, lastDegraded: true }, GLOBAL), false);
      assert.equal(mayDecideNow({ ...moment, probed: 10, failed: 9 }, GLOBAL), false);
      assert.equal(
        mayDecideNow({ ...moment, probed: 4, failed: 4 }, GLOBAL),
        true,
        "too few probes for the degraded rule",
      );
    });
  });

  describe("resultsToldApart: where one failure removes, results wait for enough others", () => {
    const history = new ProbeLog(60_000);
    for (let at = 100; at <= 500; at += 100) history.record(at, true);
    const ctx = { hairTrigger: true, namespaceProbes: 20, history, global: GLOBAL };

    it("waits until degradedMinInstances probes landed since the oldest pending result", () => {
      assert.equal(resultsToldApart(100, ctx), true, "5 probes since 100");
      assert.equal(resultsToldApart(101, ctx), false, "4 probes since 101");
    });

    it("does not wait with thresholds above 1, in a namespace below the minimum, or with nothing pending", () => {
      assert.equal(resultsToldApart(450, { ...ctx, hairTrigger: false }), true);
      assert.equal(resultsToldApart(450, { ...ctx, namespaceProbes: 4 }), true);
      assert.equal(resultsToldApart(undefined, ctx), true);
    });
  });

  describe("servicesToPlanFirst: what is planned before any probe lands", () => {
    const inst = (
      id: string,
      over: Partial<{ registered: boolean; ecsTask: boolean; inRotation: boolean }> = {},
    ) => ({
      instanceId: id,
      registered: true,
      ecsTask: true,
      inRotation: true,
      ...over,
    });
    const services = [
      { serviceId: "srv-a", instances: [inst("a1"), inst("a2")] },
      { serviceId: "srv-b", instances: [inst("b1")] },
      { serviceId: "srv-c", instances: [inst("c1")] },
    ];

    it("plans a service whose task ECS is stopping while it is in rotation", () => {
      assert.deepEqual([...servicesToPlanFirst(services, new Set(), (t) => t === "a2")], [0]);
    });

    it("does not for a leaving task already out, unregistered, or not an ECS task", () => {
      for (const over of [{ inRotation: false }, { registered: false }, { ecsTask: false }]) {
        const one = [{ serviceId: "srv-a", instances: [inst("a1", over)] }];
        assert.deepEqual(
          [...servicesToPlanFirst(one, new Set(), () => true)],
          [],
          JSON.stringify(over),
        );
      }
    });

    it("plans the services the rate limit left changes undone in", () => {
      assert.deepEqual([...servicesToPlanFirst(services, new Set(["srv-c"]), () => false)], [2]);
    });
  });

  describe("nextBacklog: what the next cycle starts on", () => {
    const action = (k: number, serviceId: string): Action =>
      ({ kind: "deregister", key: `${serviceId}/i${k}`, serviceId }) as unknown as Action;
    const actions = [
      action(1, "srv-a"),
      action(2, "srv-a"),
      action(3, "srv-b"),
      action(4, "srv-c"),
    ];

    it("is the services of undone actions, as many actions as the rate limit allows an interval", () => {
      assert.deepEqual([...nextBacklog(actions, new Set(), 1, 2000)], ["srv-a"]);
      assert.deepEqual([...nextBacklog(actions, new Set(), 1, 3000)], ["srv-a", "srv-b"]);
      assert.deepEqual(
        [...nextBacklog(actions, new Set(["srv-a/i1", "srv-a/i2"]), 1, 2000)],
        ["srv-b", "srv-c"],
      );
    });

    it("is empty once everything was done", () => {
      assert.deepEqual([...nextBacklog(actions, new Set(actions.map((a) => a.key)), 1, 2000)], []);
    });
  });

  describe("ecsServicesToDescribe: DescribeServices only for replacement candidates", () => {
    it("describes nothing in a healthy namespace, or where replacing is off", () => {
      const s = sim(6, 2, 5000);
      s.steps(2);
      assert.deepEqual(ecsServicesToDescribe(s.input().services, s.state), []);
      const off = sim(6, 2, undefined);
      off.find("srv-api", "api-1").probeOk = false;
      off.steps(4);
      assert.deepEqual(ecsServicesToDescribe(off.input().services, off.state), []);
    });

    it("describes the ECS service of an unhealthy instance where replacing is on", () => {
      const s = sim(6, 2, 5000);
      s.find("srv-api", "api-1").probeOk = false;
      s.steps(4);
      assert.deepEqual(ecsServicesToDescribe(s.input().services, s.state), ["c1/api"]);
    });
  });
});
