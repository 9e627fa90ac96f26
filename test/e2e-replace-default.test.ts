// Replacement's default end to end (moto): with only the interval, thresholds and grace shortened,
// a Service Connect task that keeps failing is stopped once, after replace-after `auto` (1 min);
// a service whose every task fails is never churned; and replacements whose successors fail
// again stop after STORM_FAILURES. moto reports runningCount 3 for every ECS service and launches
// no tasks, so the test plays ECS: each stopped task's successor is run and registered by hand.

import { strict as assert } from "node:assert";
import { makeChecker, type Harness } from "./support/checker-harness";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy";
import { moto } from "./support/root-hooks";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World, type WorldService } from "./support/world";
import { STORM_FAILURES } from "../checker/plan/replace-storm";

describe("replacement by default, with its storm brakes (moto)", function () {
  this.timeout(150_000);
  let world: World;
  let proxy: FaultProxy;
  let targets: HttpTarget[];
  let octet = 120;

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init("defaults.local");
    proxy = await startFaultProxy(moto().endpoint);
    targets = [];
  });
  afterEach(async () => {
    await Promise.all(targets.map((t) => t.close()));
    await proxy.close();
  });

  async function target(): Promise<HttpTarget> {
    const t = await startHttpTarget({ host: `127.0.${octet}.${targets.length + 1}` });
    targets.push(t);
    return t;
  }

  async function service(
    name: string,
    n: number,
  ): Promise<{ svc: WorldService; ids: string[]; t: HttpTarget[] }> {
    octet++;
    await world.createEcsService(name, 3);
    const ids = await world.runTasks(name, n);
    const svc = await world.serviceConnectService(name);
    const t: HttpTarget[] = [];
    for (const id of ids) {
      const x = await target();
      t.push(x);
      await world.registerTask(svc, id, x);
    }
    return { svc, ids, t };
  }

  const stopCalls = (): Array<{ task: string; reason: string }> =>
    proxy.succeeded("StopTask").map((c) => {
      const body = JSON.parse(c.body) as { task: string; reason: string };
      return { task: body.task.slice(body.task.lastIndexOf("/") + 1), reason: body.reason };
    });

  async function cycleFor(h: Harness, ms: number, after?: () => Promise<void>): Promise<void> {
    const until = Date.now() + ms;
    do {
      await h.checker.runCycle();
      await after?.();
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < until);
  }

  it("stops a persistently failing Service Connect task once after 1 min; never one of a service whose every task fails", async () => {
    const api = await service("api", 3);
    const web = await service("web", 3);
    // Only interval, thresholds and grace are shortened (FAST): replace-after stays `auto`.
    const h = await makeChecker({ namespace: "defaults.local", endpoint: proxy.endpoint });
    api.t[0]!.mode = "fail";
    for (const t of web.t) t.mode = "fail";
    const failedAt = Date.now();
    await cycleFor(h, 40_000);
    assert.deepEqual(stopCalls(), [], "nothing before replace-after (1 min)");
    await cycleFor(h, 35_000);
    const stops = stopCalls();
    assert.deepEqual(
      stops.map((s) => s.task),
      [api.ids[0]],
    );
    assert.match(
      stops[0]!.reason,
      /^cloudmap-health-checker: unhealthy for (6\d|7\d)s \(\d+ consecutive failed checks \(last: HTTP 500/,
    );
    assert.ok(Date.now() - failedAt >= 60_000);
    // web: taken out within the cap, never replaced; the brake is logged once, with its hint.
    assert.ok(proxy.succeeded("DeregisterInstance").length >= 2, "deregistration goes on");
    const held = h.logs.filter(
      (l) => l["rule"] === "replace-service-failing" && l.level === "warn",
    );
    assert.equal(held.length, 1);
    assert.equal(held[0]!["service"], "web");
    assert.match(String(held[0]!["hint"]), /path or port/);
    assert.match(
      await h.metrics.render(),
      /cmhc_held_actions_total\{service="web",rule="replace-service-failing"\} [1-9]/,
    );
  });

  it(`stops replacing a service after ${STORM_FAILURES} replacements whose successors failed again, and says so`, async () => {
    const api = await service("api", 3);
    const h = await makeChecker({
      namespace: "defaults.local",
      endpoint: proxy.endpoint,
      settings: { replaceAfter: "1s", replaceCooldown: "1s" },
    });
    api.t[0]!.mode = "fail";
    // Play ECS: each stopped task's successor starts, registers, and fails like the one before.
    let seen = 0;
    const successors = async (): Promise<void> => {
      const stops = stopCalls();
      for (; seen < stops.length; seen++) {
        const [id] = await world.runTasks("api", 1);
        const t = await target();
        t.mode = "fail";
        await world.registerTask(api.svc, id!, t);
      }
    };
    const until = Date.now() + 40_000;
    while (h.status.replacementsStopped.length === 0 && Date.now() < until) {
      await cycleFor(h, 500, successors);
    }
    await cycleFor(h, 5_000, successors); // and no replacement after it
    assert.equal(stopCalls().length, STORM_FAILURES, "three replacements, then none");
    const warn = h.logs.filter((l) => l.msg.startsWith("not replacing tasks in c1/api"));
    assert.equal(warn.length, 1);
    assert.equal(warn[0]!.level, "warn");
    assert.ok(h.logs.some((l) => l["rule"] === "replace-not-helping"));
    assert.deepEqual(
      h.status.replacementsStopped.map((s) => [s.ecsService, s.failedReplacements]),
      [["c1/api", STORM_FAILURES]],
    );
    const health = h.status.health(Date.now());
    assert.equal(health.ok, true);
    assert.match(health.reason, /not replacing tasks in c1\/api/);
    assert.match(await h.metrics.render(), /cmhc_replacements_stopped\{ecs_service="c1\/api"\} 1/);
    // Every failing successor is still taken out of rotation: the brake holds only StopTask.
    const out = new Set(
      proxy
        .succeeded("DeregisterInstance")
        .map((c) => (JSON.parse(c.body) as { InstanceId: string }).InstanceId),
    );
    assert.equal(out.size, STORM_FAILURES + 1);
  });
});
