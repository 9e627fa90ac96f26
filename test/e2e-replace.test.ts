// The replace action end to end: StopTask against moto, with the brakes that can be staged there.
// moto reports runningCount 3 for every ECS service (MOTO_ECS_SERVICE_RUNNING, set by the test
// harness); the deployment brake is covered by the planner scenarios.

import { strict as assert } from "node:assert";
import { DescribeTasksCommand } from "@aws-sdk/client-ecs";
import { makeChecker, type Harness } from "./support/checker-harness";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy";
import { moto } from "./support/root-hooks";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World } from "./support/world";

describe("replace action end to end (moto)", function () {
  this.timeout(60_000);
  let world: World;
  let proxy: FaultProxy;
  let targets: HttpTarget[];
  let octet = 80;

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init("replace.local");
    proxy = await startFaultProxy(moto().endpoint);
    targets = [];
  });
  afterEach(async () => {
    await Promise.all(targets.map((t) => t.close()));
    await proxy.close();
  });

  /** A Cloud Map service whose instances are the given tasks, each on its own target. */
  async function register(name: string, taskIds: string[]): Promise<HttpTarget[]> {
    const svc = await world.serviceConnectService(name);
    const out: HttpTarget[] = [];
    octet++;
    for (const [i, id] of taskIds.entries()) {
      const t = await startHttpTarget({ host: `127.0.${octet}.${i + 1}` });
      targets.push(t);
      out.push(t);
      await world.registerTask(svc, id, t);
    }
    return out;
  }

  const stopped = (): string[] =>
    proxy.succeeded("StopTask").map((c) => {
      const task = (JSON.parse(c.body) as { task: string }).task;
      return task.slice(task.lastIndexOf("/") + 1);
    });

  async function cycles(h: Harness, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await h.checker.runCycle();
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  const checker = (settings: Record<string, string> = {}): Promise<Harness> =>
    makeChecker({
      namespace: "replace.local",
      endpoint: proxy.endpoint,
      settings: { replaceAfter: "1s", replaceCooldown: "30s", ...settings },
    });

  it("stops a service task that stays unhealthy, with a reason naming the checker; never a healthy one", async () => {
    await world.createEcsService("api", 3);
    const ids = await world.runTasks("api", 3);
    const [bad] = await register("api", ids);
    const h = await checker();
    bad!.mode = "fail";
    await cycles(h, 10);
    assert.deepEqual(stopped(), [ids[0]]);
    const out = await world.ecs.send(
      new DescribeTasksCommand({ cluster: world.cluster, tasks: ids }),
    );
    const task = out.tasks!.find((t) => t.taskArn!.endsWith(ids[0]!))!;
    assert.equal(task.lastStatus, "STOPPED");
    assert.match(task.stoppedReason ?? "", /^cloudmap-health-checker: unhealthy for \d+s/);
    assert.match(
      await h.metrics.render(),
      /cmhc_actions_total\{service="api",kind="stop-task",outcome="ok"\} 1/,
    );
    assert.equal(h.status.recentActions.filter((a) => a.kind === "stop-task").length, 1);
  });

  it("holds the next replacement in the same service for the cooldown", async () => {
    await world.createEcsService("api", 3);
    // Two of four fail: not more than half, so no shared cause (replace-service-failing).
    const ids = await world.runTasks("api", 4);
    const t = await register("api", ids);
    const h = await checker();
    t[0]!.mode = "fail";
    t[1]!.mode = "fail";
    await cycles(h, 14);
    assert.equal(stopped().length, 1, "one replacement per service per cooldown");
    assert.ok(
      h.logs.some((l) => l["rule"] === "replace-cooldown"),
      "the brake is logged by name",
    );
    assert.match(
      await h.metrics.render(),
      /cmhc_held_actions_total\{service="api",rule="replace-cooldown"\} [1-9]/,
    );
  });

  it("never stops a standalone task, nor one of a service that is short of tasks", async () => {
    await world.createEcsService("short", 5); // moto runs 3 of 5
    const standalone = await world.runStandaloneTasks(3, "batch");
    const shortIds = await world.runTasks("short", 3);
    const a = await register("batch", standalone);
    const b = await register("short", shortIds);
    const h = await checker();
    a[0]!.mode = "fail";
    b[0]!.mode = "fail";
    await cycles(h, 10);
    assert.deepEqual(stopped(), []);
    const rules = new Set(h.logs.map((l) => l["rule"]));
    assert.ok(rules.has("replace-standalone-task"));
    assert.ok(rules.has("replace-service-short"));
  });

  it("stops nothing in observe mode, but says what it would do", async () => {
    await world.createEcsService("api", 3);
    const ids = await world.runTasks("api", 3);
    const [bad] = await register("api", ids);
    const h = await checker({ action: "observe" });
    bad!.mode = "fail";
    await cycles(h, 10);
    assert.deepEqual(stopped(), []);
    assert.equal(proxy.succeeded("DeregisterInstance").length, 0);
    const would = h.logs.filter((l) => l.msg === "observe: would replace task (StopTask)");
    assert.equal(would.length, 1);
  });
});
