// The replacement brakes one by one, then in order: each holds back exactly what it names.

import { strict as assert } from "node:assert";
import type { EcsServiceState } from "../checker/domain/types";
import {
  cooldown,
  cycleCap,
  deploying,
  firstBrake,
  isReplacementCandidate,
  REPLACE_BRAKES,
  serviceShort,
  serviceUnknown,
  standaloneTask,
  whileDegraded,
  type ReplaceContext,
} from "../checker/plan/replace-brakes";
import { runningTask, Sim, taskIn, healthyInstances, POLICY, service } from "./support/scenario";

const STEADY: EcsServiceState = {
  runningCount: 4,
  desiredCount: 4,
  deployments: 1,
  rolloutState: "COMPLETED",
};
const NOW = 10_000_000;

function ctx(over: Partial<ReplaceContext> = {}): ReplaceContext {
  return {
    now: NOW,
    global: {
      degradedFailPercent: 80,
      degradedMinInstances: 5,
      replaceCooldownMs: 300_000,
      maxReplacementsPerCycle: 1,
    },
    degraded: false,
    ecsServices: new Map([["c1/api", STEADY]]),
    lastReplacement: new Map(),
    replacedThisCycle: new Set(),
    countThisCycle: 0,
    ...over,
  };
}
const api = { ecsService: "c1/api" };

describe("replacement brakes", () => {
  it("lets a candidate of a steady, described service through every brake", () => {
    for (const brake of REPLACE_BRAKES) assert.equal(brake(api, ctx()), undefined, brake.name);
    assert.equal(firstBrake(api, ctx()), undefined);
  });

  it("whileDegraded: a degraded checker replaces nothing", () => {
    assert.equal(whileDegraded(api, ctx({ degraded: true }))?.rule, "degraded");
  });

  it("standaloneTask: a task no ECS service owns is never stopped", () => {
    assert.equal(standaloneTask({ ecsService: undefined }, ctx())?.rule, "replace-standalone-task");
    assert.equal(standaloneTask(api, ctx()), undefined);
  });

  it("serviceUnknown: without DescribeServices' answer, no replacement", () => {
    const held = serviceUnknown(api, ctx({ ecsServices: new Map() }));
    assert.equal(held?.rule, "replace-service-unknown");
    assert.match(held!.detail, /c1\/api could not be described/);
    assert.equal(serviceUnknown(api, ctx({ ecsServices: undefined }))?.rule, held!.rule);
  });

  it("serviceShort: a service running fewer tasks than it wants loses none", () => {
    const short = new Map([["c1/api", { ...STEADY, runningCount: 3 }]]);
    const held = serviceShort(api, ctx({ ecsServices: short }));
    assert.equal(held?.rule, "replace-service-short");
    assert.match(held!.detail, /runs 3 of 4 tasks/);
    const over = new Map([["c1/api", { ...STEADY, runningCount: 5 }]]);
    assert.equal(serviceShort(api, ctx({ ecsServices: over })), undefined);
  });

  it("deploying: two deployments or a rollout in progress hold replacements", () => {
    const two = new Map([["c1/api", { ...STEADY, deployments: 2 }]]);
    assert.equal(deploying(api, ctx({ ecsServices: two }))?.rule, "replace-deployment");
    const rolling = new Map([["c1/api", { ...STEADY, rolloutState: "IN_PROGRESS" }]]);
    assert.match(deploying(api, ctx({ ecsServices: rolling }))!.detail, /IN_PROGRESS/);
    const unknownState = new Map([["c1/api", { ...STEADY, rolloutState: undefined }]]);
    assert.equal(deploying(api, ctx({ ecsServices: unknownState })), undefined);
  });

  it("cooldown: one replacement per service per cooldown, counting this cycle's", () => {
    const recent = new Map([["c1/api", NOW - 299_999]]);
    assert.equal(cooldown(api, ctx({ lastReplacement: recent }))?.rule, "replace-cooldown");
    const old = new Map([["c1/api", NOW - 300_000]]);
    assert.equal(cooldown(api, ctx({ lastReplacement: old })), undefined);
    const same = ctx({ replacedThisCycle: new Set(["c1/api"]) });
    assert.equal(cooldown(api, same)?.rule, "replace-cooldown");
    assert.equal(cooldown({ ecsService: "c1/web" }, same), undefined, "another service is free");
  });

  it("cycleCap: no more replacements than the cap across the namespace", () => {
    assert.equal(cycleCap(api, ctx({ countThisCycle: 1 }))?.rule, "replace-cycle-cap");
    assert.equal(cycleCap(api, ctx({ countThisCycle: 0 })), undefined);
  });

  it("names the first brake that applies, in the order of the list", () => {
    const everything = ctx({
      degraded: true,
      ecsServices: new Map([["c1/api", { ...STEADY, runningCount: 1, deployments: 3 }]]),
      countThisCycle: 9,
    });
    assert.equal(firstBrake(api, everything)?.rule, "degraded");
    assert.equal(
      firstBrake(api, { ...everything, degraded: false })?.rule,
      "replace-service-short",
    );
    assert.equal(
      firstBrake(
        api,
        ctx({
          ecsServices: new Map([["c1/api", { ...STEADY, deployments: 2 }]]),
          countThisCycle: 9,
        }),
      )?.rule,
      "replace-deployment",
    );
    assert.equal(firstBrake(api, ctx(), [cycleCap]), undefined, "a custom list applies alone");
  });
});

describe("replacement candidates", () => {
  function removed(): Sim {
    const sim = new Sim([
      {
        info: service("api"),
        policy: { ...POLICY, replaceAfterMs: 5000 },
        instances: healthyInstances(4, "api-"),
      },
    ]);
    sim.find("srv-api", "api-1").probeOk = false;
    sim.steps(3); // out of rotation after the threshold of 3
    return sim;
  }

  it("is an instance unhealthy for replace-after, out of rotation, whose task still serves", () => {
    const sim = removed();
    const st = sim.state.get("srv-api/api-1")!;
    assert.equal(st.inRotation, false);
    const since = st.unhealthySince!;
    const task = runningTask("api-1");
    assert.equal(isReplacementCandidate(st, task, false, since + 4999, 5000), false, "too soon");
    assert.equal(isReplacementCandidate(st, task, false, since + 5000, 5000), true);
  });

  it("is never an instance still in rotation, unless this plan takes it out", () => {
    const sim = removed();
    const st = { ...sim.state.get("srv-api/api-1")!, inRotation: true };
    const later = st.unhealthySince! + 60_000;
    assert.equal(isReplacementCandidate(st, runningTask("api-1"), false, later, 5000), false);
    assert.equal(isReplacementCandidate(st, runningTask("api-1"), true, later, 5000), true);
  });

  it("is never a healthy instance, nor a task that is stopping or unknown", () => {
    const sim = removed();
    const st = sim.state.get("srv-api/api-1")!;
    const later = st.unhealthySince! + 60_000;
    const healthy = sim.state.get("srv-api/api-0")!;
    assert.equal(isReplacementCandidate(healthy, runningTask("api-0"), false, later, 5000), false);
    assert.equal(
      isReplacementCandidate(st, taskIn("DEACTIVATING", "STOPPED"), false, later, 5000),
      false,
    );
    assert.equal(isReplacementCandidate(st, { kind: "unavailable" }, false, later, 5000), false);
  });
});
