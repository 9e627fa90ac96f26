// The verify flow on fake ports and a clock the test drives: its steps, verdicts and cleanup
// (end to end against moto in verify-e2e.test.ts).

import { strict as assert } from "node:assert";
import type { TrafficLine } from "../checker/verify/client";
import { runVerify, type VerifyPorts } from "../programs/verify/flow";

interface World {
  now: number;
  /** Which echo tasks the proxies send to, as a function of time and what was done. */
  served: (t: number) => string[];
  events: string[];
  registered: Set<string>;
}

function fakes(w: World, opts: { failAt?: string } = {}): VerifyPorts {
  const lines: TrafficLine[] = [];
  let logged = w.now;
  return {
    deployer: {
      stackName: "cmhc-verify-t",
      up: async () => {
        w.events.push("up");
        return {
          cluster: "c1",
          namespaceId: "ns-1",
          discoveryName: "cmhc-verify-t",
          logGroupName: "/g",
        };
      },
      destroy: async () => void w.events.push("destroy"),
      leftovers: async () => ["cmhc-verify-old"],
      destroyStack: async (n) => void w.events.push(`destroy ${n}`),
    },
    cloudMap: {
      listServices: async () => [{ id: "srv-1", name: "cmhc-verify-t" } as never],
      listInstances: async () =>
        [...w.registered].map((id) => ({
          serviceId: "srv-1",
          instanceId: id,
          attributes: { AWS_INSTANCE_PORT: "8080" },
        })),
      deregisterInstance: async (_s, id) => {
        if (opts.failAt === "deregister") throw new Error("AccessDenied");
        w.events.push(`deregister ${id}`);
        w.registered.delete(id);
      },
      registerInstance: async (_s, id, attributes) => {
        w.events.push(`register ${id} ${JSON.stringify(attributes)}`);
        w.registered.add(id);
      },
    },
    stopTask: async (_c, id) => void w.events.push(`stop ${id}`),
    traffic: async (_g, from) => {
      // One line per second up to now, 10 answers for each task served then.
      for (; logged + 1000 <= w.now; logged += 1000) {
        const at = logged + 1000;
        lines.push({
          kind: "verify-traffic",
          at,
          sent: 20,
          counts: Object.fromEntries(w.served(at).map((t) => [t, 10])),
          errors: 0,
        });
      }
      return lines.filter((l) => l.at >= from);
    },
    now: () => w.now,
    sleep: async (ms, signal) => {
      signal.throwIfAborted();
      w.now += ms;
    },
    progress: () => undefined,
  };
}

const OPTS = { quietMs: 30_000, boundMs: 300_000, startMs: 600_000, pollMs: 1000, keep: false };

describe("verify flow (fake ports, driven clock)", () => {
  function world(lagMs: number | undefined): World {
    const w: World = {
      now: 1_000_000,
      events: [],
      registered: new Set(["a", "b"]),
      served: () => [],
    };
    let deregAt: number | undefined;
    let regAt: number | undefined;
    let stopAt: number | undefined;
    const origin = w.now;
    w.served = (t) =>
      ["a", "b"].filter((id) => {
        if (t < origin + 3000) return false; // tasks starting
        if (id === "b") return stopAt === undefined || t < stopAt + 2000;
        if (lagMs === undefined) return true; // proxies ignore Cloud Map
        if (
          deregAt !== undefined &&
          t >= deregAt + lagMs &&
          (regAt === undefined || t < regAt + lagMs)
        )
          return false;
        return true;
      });
    const push = w.events.push.bind(w.events);
    w.events.push = (...e: string[]) => {
      for (const x of e) {
        if (x.startsWith("deregister")) deregAt = w.now;
        if (x.startsWith("register")) regAt = w.now;
        if (x.startsWith("stop")) stopAt = w.now;
      }
      return push(...e);
    };
    return w;
  }

  it("measures a lag of 12 s, re-registers with the same attributes, stops B, destroys", async () => {
    const w = world(12_000);
    const r = await runVerify(fakes(w), OPTS, new AbortController().signal);
    // The last second A was served ends 11-12 s after the deregistration (1 s resolution).
    assert.equal(r.deregistration.ok, true);
    assert.ok(
      r.deregistration.afterS! >= 11 && r.deregistration.afterS! <= 12,
      `${r.deregistration.afterS}`,
    );
    assert.equal(r.reRegistration.ok, true);
    assert.ok(r.reRegistration.afterS! >= 12 && r.reRegistration.afterS! <= 14);
    assert.equal(r.stopTask.ok, true);
    assert.ok(r.stopTask.afterS! >= 1 && r.stopTask.afterS! <= 2, `${r.stopTask.afterS}`);
    assert.equal(
      r.verdict,
      `deregistration honoured after ${r.deregistration.afterS} s; re-registration after ${r.reRegistration.afterS} s; StopTask drained in ${r.stopTask.afterS} s`,
    );
    assert.deepEqual(
      w.events.filter((e) => !e.startsWith("register")),
      ["destroy cmhc-verify-old", "up", "deregister a", "stop b", "destroy"],
    );
    assert.ok(w.events.includes(`register a {"AWS_INSTANCE_PORT":"8080"}`));
  });

  it("says not honoured within the bound when the proxies ignore Cloud Map", async () => {
    const w = world(undefined);
    const r = await runVerify(fakes(w), OPTS, new AbortController().signal);
    assert.deepEqual(r.deregistration, { ok: false });
    assert.match(r.verdict, /^deregistration not honoured within 300 s: keep replacement on; /);
    assert.equal(w.events.at(-1), "destroy");
  });

  it("notes when ECS puts the deregistered task back by itself", async () => {
    const w = world(undefined);
    const ports = fakes(w);
    const dereg = ports.cloudMap.deregisterInstance;
    const cloudMap = {
      ...ports.cloudMap,
      deregisterInstance: async (s: string, id: string) => {
        await dereg(s, id);
        w.registered.add(id); // ECS re-registers it at once
      },
    };
    const r = await runVerify({ ...ports, cloudMap }, OPTS, new AbortController().signal);
    assert.ok(r.ecsReRegisteredAfterS !== undefined);
    assert.match(r.verdict, /^ECS put A back in Cloud Map after/);
  });

  it("destroys the stack when a step fails, and leaves it with keep", async () => {
    const w = world(5000);
    await assert.rejects(
      runVerify(fakes(w, { failAt: "deregister" }), OPTS, new AbortController().signal),
      /AccessDenied/,
    );
    assert.equal(w.events.at(-1), "destroy");
    const k = world(5000);
    await runVerify(fakes(k), { ...OPTS, keep: true }, new AbortController().signal);
    assert.ok(!k.events.includes("destroy"));
  });

  it("stops and destroys when aborted, and reports echo tasks that never get traffic", async () => {
    const w = world(5000);
    const c = new AbortController();
    c.abort(new Error("SIGINT"));
    await assert.rejects(runVerify(fakes(w), OPTS, c.signal), /SIGINT/);
    assert.equal(w.events.at(-1), "destroy");
    const silent = world(5000);
    silent.served = () => [];
    await assert.rejects(
      runVerify(fakes(silent), { ...OPTS, startMs: 20_000 }, new AbortController().signal),
      /did not both get traffic within 20 s/,
    );
    assert.equal(silent.events.at(-1), "destroy");
  });
});
