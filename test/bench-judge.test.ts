import { strict as assert } from "node:assert";
import { flapPlan, seededRandom } from "../bench/flap-plan";
import { judge, mutationOf, type Answer, type Mutation } from "../bench/judge";

const T = "127.10.0.1:8080";
const THRESHOLDS = { unhealthy: 3, healthy: 2 };

/** A timeline written as "pppfff": one answer a second from t = 1000, p passed, f failed. */
function timeline(text: string): Answer[] {
  return [...text].map((c, i) => ({ at: 1000 * (i + 1), ok: c === "p" }));
}

function mutation(direction: "in" | "out", at: number, instanceId = "i-1"): Mutation {
  return {
    at,
    operation: direction === "in" ? "RegisterInstance" : "DeregisterInstance",
    serviceId: "srv-1",
    instanceId,
    direction,
  };
}

function verdict(text: string, mutations: Mutation[]) {
  return judge(new Map([[T, timeline(text)]]), mutations, () => T, THRESHOLDS);
}

describe("bench judge (flap bench ground truth)", () => {
  it("a removal after three failures and a return after two passes are right", () => {
    const v = verdict("pfffpp", [mutation("out", 4500), mutation("in", 6200)]);
    assert.equal(v.removals, 1);
    assert.equal(v.reRegistrations, 1);
    assert.equal(v.wrongIn.length + v.wrongOut.length + v.premature.length, 0);
    assert.deepEqual(
      v.right.map((j) => j.sinceThresholdMs),
      [500, 200],
    );
  });

  it("a re-registration that arrives after the target failed again is wrong", () => {
    // Passed twice (the decision), then failed at 6000; the call waited behind the rate limit.
    const v = verdict("fffppf", [mutation("in", 6400)]);
    assert.equal(v.wrongIn.length, 1);
    const j = v.wrongIn[0]!;
    assert.equal(j.sinceAnswerMs, 400);
    assert.equal(j.streak, 1);
    assert.equal(j.latestOk, false);
    assert.deepEqual(
      j.recent.map((a) => a.ok),
      [false, false, true, true, false],
    );
    assert.equal(v.wrongOut.length, 0);
  });

  it("a removal that arrives after the target passed again is wrong", () => {
    const v = verdict("pfffp", [mutation("out", 5100)]);
    assert.equal(v.wrongOut.length, 1);
    assert.equal(v.wrongOut[0]!.sinceAnswerMs, 100);
    assert.equal(v.wrongIn.length, 0);
  });

  it("only answers up to the arrival count; one in the same millisecond counts as before", () => {
    // The failure at 6000 came after the call arrived at 5999: the call was right then.
    assert.equal(verdict("fffppf", [mutation("in", 5999)]).wrongIn.length, 0);
    assert.equal(verdict("fffppf", [mutation("in", 6000)]).wrongIn.length, 1);
  });

  it("right way round but short of the threshold is premature, not wrong", () => {
    const v = verdict("ppff", [mutation("out", 4100)]);
    assert.equal(v.premature.length, 1);
    assert.equal(v.premature[0]!.streak, 2);
    assert.equal(v.wrongOut.length, 0);
  });

  it("a mutation with no answer before it, or no target, is unjudged", () => {
    const none = judge(new Map([[T, timeline("pp")]]), [mutation("out", 500)], () => T, THRESHOLDS);
    assert.equal(none.unjudged.length, 1);
    const unknown = judge(new Map(), [mutation("out", 5000)], () => undefined, THRESHOLDS);
    assert.equal(unknown.unjudged.length, 1);
    assert.equal(unknown.removals, 1);
  });

  it("targets are told apart by the instance's address and port", () => {
    const other = "127.10.0.2:8080";
    const answers = new Map([
      [T, timeline("fff")],
      [other, timeline("ppp")],
    ]);
    const targetOf = (_s: string, id: string) => (id === "i-1" ? T : other);
    const v = judge(
      answers,
      [mutation("out", 3500, "i-1"), mutation("out", 3500, "i-2")],
      targetOf,
      THRESHOLDS,
    );
    assert.equal(v.right.length, 1);
    assert.equal(v.wrongOut.length, 1);
    assert.equal(v.wrongOut[0]!.mutation.instanceId, "i-2");
  });
});

describe("bench judge: calls as the endpoint recorded them", () => {
  const call = (operation: string, body: object, status = 200) => ({
    operation,
    body: JSON.stringify(body),
    receivedAt: 42,
    status,
    injected: false,
  });

  it("reads register, deregister and custom status, with the target from the attributes", () => {
    const attrs = { AWS_INSTANCE_IPV4: "127.10.0.1", AWS_INSTANCE_PORT: "8080" };
    const reg = mutationOf(
      call("RegisterInstance", { ServiceId: "s", InstanceId: "i", Attributes: attrs }),
    );
    assert.deepEqual(reg, {
      at: 42,
      operation: "RegisterInstance",
      serviceId: "s",
      instanceId: "i",
      direction: "in",
      target: T,
    });
    assert.equal(
      mutationOf(call("DeregisterInstance", { ServiceId: "s", InstanceId: "i" }))?.direction,
      "out",
    );
    const status = (Status: string) =>
      mutationOf(
        call("UpdateInstanceCustomHealthStatus", { ServiceId: "s", InstanceId: "i", Status }),
      )?.direction;
    assert.equal(status("HEALTHY"), "in");
    assert.equal(status("UNHEALTHY"), "out");
  });

  it("ignores reads and calls that failed", () => {
    assert.equal(mutationOf(call("ListInstances", { ServiceId: "s" })), undefined);
    assert.equal(
      mutationOf(call("DeregisterInstance", { ServiceId: "s", InstanceId: "i" }, 400)),
      undefined,
    );
  });
});

describe("bench flap plan", () => {
  const spec = {
    intervalMs: 2000,
    unhealthyThreshold: 3,
    healthyThreshold: 2,
    hangShare: 0.25,
    durationMs: 60_000,
  };

  it("is the same for the same seed, and alternates passing with failing or hanging", () => {
    const targets = Array.from({ length: 50 }, (_, i) => `127.10.0.${i + 1}`);
    const a = flapPlan(targets, 7, spec);
    assert.deepEqual(a, flapPlan(targets, 7, spec));
    assert.notDeepEqual(a, flapPlan(targets, 8, spec));
    const all = [...a.values()].flat();
    assert.ok(all.some((s) => s.mode === "hang") && all.some((s) => s.mode === "fail"));
    for (const switches of a.values()) {
      switches.forEach((s, i) => {
        assert.ok(s.atMs < spec.durationMs);
        assert.equal(s.mode === "pass", i % 2 === 1);
      });
    }
  });

  it("draws spells both shorter and longer than threshold x interval", () => {
    const switches = flapPlan(["127.10.0.1"], 3, { ...spec, durationMs: 3_600_000 }).get(
      "127.10.0.1",
    )!;
    const failing = switches
      .slice(0, -1)
      .map((s, i) => ({ s, ms: switches[i + 1]!.atMs - s.atMs }))
      .filter(({ s }) => s.mode !== "pass")
      .map(({ ms }) => ms);
    assert.ok(failing.some((ms) => ms < 6000) && failing.some((ms) => ms > 6000));
    const r = seededRandom(1);
    assert.ok(Array.from({ length: 100 }, r).every((x) => x >= 0 && x < 1));
  });
});
