// The checker end to end: real SDK adapters against moto, real probes against loopback targets.

import { strict as assert } from "node:assert";
import {
  CreateServiceCommand,
  GetInstancesHealthStatusCommand,
  ListInstancesCommand,
} from "@aws-sdk/client-servicediscovery";
import { moto } from "./support/root-hooks";
import { makeChecker, type Harness } from "./support/checker-harness";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy";
import { settled, startHttpTarget, type HttpTarget } from "./support/targets";
import { World, type WorldService } from "./support/world";

describe("checker end to end (moto + loopback targets)", function () {
  this.timeout(60_000);
  let world: World;
  let targets: HttpTarget[];
  let proxy: FaultProxy | undefined;

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init();
    targets = [];
    proxy = undefined;
  });

  afterEach(async () => {
    await Promise.all(targets.map((t) => t.close()));
    await proxy?.close();
  });

  /** n tasks of one ECS service, each registered at its own 127.0.0.x target. */
  async function fleet(
    service: WorldService,
    n: number,
    firstOctet = 10,
  ): Promise<Array<{ taskId: string; target: HttpTarget; attributes: Record<string, string> }>> {
    const ids = await world.runTasks(service.ecsServiceName, n);
    const out = [];
    for (const [i, taskId] of ids.entries()) {
      const target = await startHttpTarget({ host: `127.0.${firstOctet}.${i + 1}` });
      targets.push(target);
      const attributes = await world.registerTask(service, taskId, target);
      out.push({ taskId, target, attributes });
    }
    return out;
  }

  async function listed(serviceId: string): Promise<Map<string, Record<string, string>>> {
    const out = await world.sd.send(new ListInstancesCommand({ ServiceId: serviceId }));
    return new Map((out.Instances ?? []).map((i) => [i.Id!, i.Attributes ?? {}]));
  }

  async function cycles(h: Harness, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await h.checker.runCycle();
  }

  it("deregisters a failing task after the threshold and re-registers it, attributes intact, on recovery", async () => {
    const api = await world.serviceConnectService("api");
    const tasks = await fleet(api, 3);
    const h = await makeChecker({ namespace: world.namespaceName });
    await cycles(h, 2);
    assert.equal((await listed(api.id)).size, 3);

    const bad = tasks[1]!;
    bad.target.mode = "fail";
    await h.checker.runCycle();
    assert.ok((await listed(api.id)).has(bad.taskId), "one failure is below the threshold");
    await h.checker.runCycle();
    const after = await listed(api.id);
    assert.equal(after.size, 2);
    assert.ok(!after.has(bad.taskId));
    const removal = h.status.recentActions.find((a) => a.instanceId === bad.taskId)!;
    assert.equal(removal.kind, "deregister");
    assert.match(removal.reason, /2 consecutive failed checks \(last: HTTP 500/);

    // Still probed while out of rotation; back after two successes.
    bad.target.mode = "ok";
    await h.checker.runCycle();
    assert.ok(!(await listed(api.id)).has(bad.taskId));
    await h.checker.runCycle();
    const back = await listed(api.id);
    assert.equal(back.size, 3);
    assert.deepEqual(back.get(bad.taskId), bad.attributes);
    // And nothing more happens while all is well.
    const before = h.status.recentActions.length;
    await cycles(h, 3);
    assert.equal(h.status.recentActions.length, before);
  });

  it("sets UNHEALTHY and HEALTHY on a service with a custom health config instead of deregistering", async () => {
    const pay = await world.customHealthService("payments");
    const tasks = await fleet(pay, 3, 20);
    const h = await makeChecker({ namespace: world.namespaceId });
    const status = async (id: string): Promise<string | undefined> => {
      const out = await world.sd.send(new GetInstancesHealthStatusCommand({ ServiceId: pay.id }));
      return out.Status?.[id];
    };
    await h.checker.runCycle();
    tasks[0]!.target.mode = "hang";
    await cycles(h, 2);
    assert.equal(await status(tasks[0]!.taskId), "UNHEALTHY");
    assert.equal((await listed(pay.id)).size, 3, "custom-health instances stay registered");
    const removal = h.status.recentActions.at(-1)!;
    assert.equal(removal.kind, "set-status");
    assert.match(removal.reason, /timeout after 150ms/);
    tasks[0]!.target.mode = "ok";
    await cycles(h, 2);
    assert.equal(await status(tasks[0]!.taskId), "HEALTHY");
  });

  it("removes a stopping task in the next cycle, without waiting for probes, and never puts it back", async () => {
    const api = await world.serviceConnectService("api");
    const tasks = await fleet(api, 3);
    const h = await makeChecker({ namespace: world.namespaceName });
    await h.checker.runCycle();
    await world.stopTask(tasks[2]!.taskId);
    await h.checker.runCycle();
    assert.ok(!(await listed(api.id)).has(tasks[2]!.taskId));
    assert.match(h.status.recentActions.at(-1)!.reason, /going away/);
    await cycles(h, 3);
    assert.ok(
      !(await listed(api.id)).has(tasks[2]!.taskId),
      "a stopped task is never re-registered",
    );
  });

  it("holds the cap when most of a service fails, keeping the rest in rotation", async () => {
    const api = await world.serviceConnectService("api");
    const tasks = await fleet(api, 4);
    const other = await world.serviceConnectService("web");
    await fleet(other, 4, 11);
    const h = await makeChecker({ namespace: world.namespaceName });
    await h.checker.runCycle();
    for (const t of tasks.slice(0, 3)) t.target.mode = "fail";
    await cycles(h, 4);
    assert.equal((await listed(api.id)).size, 2, "50 % of 4 may go, no more");
    const held = h.status.lastCycle!.holds;
    assert.equal(held.length, 1);
    assert.equal(held[0]!.rule, "max-unhealthy-percent");
    const text = await h.metrics.render();
    assert.match(
      text,
      /cmhc_held_actions_total\{service="api",rule="max-unhealthy-percent"\} [1-9]/,
    );
  });

  it("changes nothing when every target fails at once, and reports itself degraded", async () => {
    const api = await world.serviceConnectService("api");
    const tasks = await fleet(api, 6);
    const h = await makeChecker({ namespace: world.namespaceName });
    await h.checker.runCycle();
    for (const t of tasks) t.target.mode = "refuse";
    await Promise.all(tasks.map((t) => settled(t.target)));
    await cycles(h, 4);
    assert.equal((await listed(api.id)).size, 6);
    assert.equal(h.status.recentActions.length, 0);
    assert.equal(h.status.lastCycle!.degraded, true);
    assert.equal(h.status.health(Date.now()).ok, false);
    assert.match(await h.metrics.render(), /cmhc_degraded 1/);
    // When the network comes back nobody is removed: failure counts froze while degraded.
    for (const t of tasks) t.target.mode = "ok";
    await Promise.all(tasks.map((t) => settled(t.target)));
    await cycles(h, 3);
    assert.equal((await listed(api.id)).size, 6);
    assert.equal(h.status.recentActions.length, 0);
    assert.equal(h.status.health(Date.now()).ok, true);
  });

  it("takes no wrong action while AWS throttles, and makes each needed change exactly once", async () => {
    const api = await world.serviceConnectService("api");
    const tasks = await fleet(api, 4);
    proxy = await startFaultProxy(moto().endpoint, 7);
    const h = await makeChecker({ namespace: world.namespaceName, endpoint: proxy.endpoint });
    await h.checker.runCycle();
    proxy.setFaults([{ kind: "throttle", probability: 0.3 }]);
    const bad = tasks[3]!;
    bad.target.mode = "fail";
    let failedCycles = 0;
    for (let i = 0; i < 10; i++) {
      await h.checker.runCycle().catch(() => failedCycles++);
    }
    proxy.setFaults([]);
    await cycles(h, 2);
    const throttled = proxy.calls.filter((c) => c.injected).length;
    assert.ok(throttled > 10, `faults were injected (${throttled})`);
    const deregs = proxy.succeeded("DeregisterInstance");
    assert.equal(deregs.length, 1, "exactly one deregistration reached Cloud Map");
    assert.match(deregs[0]!.body, new RegExp(bad.taskId));
    assert.equal(proxy.succeeded("RegisterInstance").length, 0);
    assert.deepEqual(
      [...(await listed(api.id)).keys()].sort(),
      tasks
        .slice(0, 3)
        .map((t) => t.taskId)
        .sort(),
    );
    assert.match(
      await h.metrics.render(),
      /cmhc_aws_calls_total\{[^}]*outcome="throttled"\} [1-9]/,
    );
  });

  it("skips malformed instances with one log line each and keeps checking the rest", async () => {
    const api = await world.serviceConnectService("api");
    const tasks = await fleet(api, 3);
    const [ipless, v6only] = await world.runTasks("api", 2);
    await world.registerRaw(api.id, ipless!, {
      AWS_INSTANCE_IPV4: "not-an-ip",
      AWS_INSTANCE_PORT: "80",
    });
    await world.registerRaw(api.id, v6only!, { AWS_INSTANCE_IPV6: "::1", AWS_INSTANCE_PORT: "80" });
    const h = await makeChecker({ namespace: world.namespaceName });
    tasks[0]!.target.mode = "fail";
    await cycles(h, 4);
    const skips = h.logs.filter((l) => l.msg === "skipping instance");
    assert.deepEqual(skips.map((l) => l["instanceId"]).sort(), [ipless, v6only].sort());
    assert.ok(skips.some((l) => /IPv6-only/.test(String(l["problem"]))));
    const now = await listed(api.id);
    assert.ok(now.has(ipless!) && now.has(v6only!), "malformed instances are left alone");
    assert.ok(!now.has(tasks[0]!.taskId), "the rest is still checked and acted on");
  });

  it("probes instances that are not ECS tasks and acts on them too", async () => {
    const svc = await world.sd.send(
      new CreateServiceCommand({
        Name: "legacy",
        NamespaceId: world.namespaceId,
        Type: "HTTP",
      }),
    );
    const id = svc.Service!.Id!;
    const hosts = [];
    for (let i = 1; i <= 3; i++) {
      const t = await startHttpTarget({ host: `127.0.30.${i}` });
      targets.push(t);
      hosts.push(t);
      await world.registerRaw(id, `vm-${i}`, {
        AWS_INSTANCE_IPV4: t.host,
        AWS_INSTANCE_PORT: String(t.port),
      });
    }
    const h = await makeChecker({ namespace: world.namespaceName });
    hosts[0]!.mode = "fail";
    await cycles(h, 2);
    assert.ok(!(await listed(id)).has("vm-1"));
    hosts[0]!.mode = "ok";
    await cycles(h, 2);
    assert.ok((await listed(id)).has("vm-1"));
  });

  it("maps classic service-discovery instances to their task through ECS_CLUSTER_NAME", async () => {
    const svc = await world.sd.send(
      new CreateServiceCommand({
        Name: "classic",
        NamespaceId: world.namespaceId,
        Type: "HTTP",
        HealthCheckCustomConfig: { FailureThreshold: 1 },
      }),
    );
    const id = svc.Service!.Id!;
    const taskIds = await world.runTasks("classic", 3);
    for (const [i, taskId] of taskIds.entries()) {
      const t = await startHttpTarget({ host: `127.0.31.${i + 1}` });
      targets.push(t);
      await world.registerRaw(id, taskId, {
        AWS_INSTANCE_IPV4: t.host,
        AWS_INSTANCE_PORT: String(t.port),
        ECS_CLUSTER_NAME: world.cluster,
        ECS_SERVICE_NAME: "classic",
      });
    }
    const h = await makeChecker({ namespace: world.namespaceName });
    await h.checker.runCycle();
    await world.stopTask(taskIds[0]!);
    await h.checker.runCycle();
    const out = await world.sd.send(new GetInstancesHealthStatusCommand({ ServiceId: id }));
    assert.equal(out.Status?.[taskIds[0]!], "UNHEALTHY", "the stopping task left at once");
    assert.equal(out.Status?.[taskIds[1]!], "HEALTHY");
  });

  it("re-lists instances only when the revision changes", async () => {
    const api = await world.serviceConnectService("api");
    await fleet(api, 2);
    proxy = await startFaultProxy(moto().endpoint);
    const h = await makeChecker({ namespace: world.namespaceName, endpoint: proxy.endpoint });
    await cycles(h, 4);
    const lists = (): number =>
      proxy!.calls.filter((c) => c.operation === "DiscoverInstances").length;
    const revisions = proxy.calls.filter((c) => c.operation === "DiscoverInstancesRevision").length;
    assert.equal(lists(), 1, "one listing for four quiet cycles");
    assert.equal(
      proxy.calls.filter((c) => c.operation === "ListInstances").length,
      0,
      "listed through the data plane",
    );
    assert.equal(revisions, 4);
    const [extra] = await world.runTasks("api", 1);
    const t = await startHttpTarget({ host: "127.0.10.9" });
    targets.push(t);
    await world.registerTask(api, extra!, t);
    await h.checker.runCycle();
    assert.equal(lists(), 2, "a new revision triggers a re-list");
    assert.ok(h.status.instances.some((i) => i.instanceId === extra));
  });

  it("honours the service allow-list", async () => {
    const api = await world.serviceConnectService("api");
    const web = await world.serviceConnectService("web");
    const apiTasks = await fleet(api, 2);
    const webTasks = await fleet(web, 2, 11);
    const h = await makeChecker({ namespace: world.namespaceName, settings: { services: "web" } });
    // One cycle first: under `--check-protocol auto` a task new to the checker is probed once its
    // task definition is known, which a loaded machine may not learn within the first cycle.
    await h.checker.runCycle();
    apiTasks[0]!.target.mode = "fail";
    webTasks[0]!.target.mode = "fail";
    await cycles(h, 2);
    assert.equal((await listed(api.id)).size, 2, "api is not in the allow-list");
    assert.equal((await listed(web.id)).size, 1);
  });
});
