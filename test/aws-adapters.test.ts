// The SDK adapters against moto: paging, batching, namespace scoping, and error mapping.

import { strict as assert } from "node:assert";
import { CreateServiceCommand } from "@aws-sdk/client-servicediscovery";
import { buildAwsClients } from "../checker/aws/clients";
import { parseEcsManagedDescription, SdkCloudMap } from "../checker/aws/cloudmap";
import { SdkEcs } from "../checker/aws/ecs";
import { isTransientAwsError } from "../checker/aws/errors";
import { moto } from "./support/root-hooks";
import { startFaultProxy } from "./support/fault-proxy";
import { World } from "./support/world";

describe("AWS adapters against moto", function () {
  this.timeout(60_000);
  let world: World;
  let cloudMap: SdkCloudMap;

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init("adapters.local");
    const clients = buildAwsClients({ maxAttempts: 2 });
    cloudMap = new SdkCloudMap(clients.serviceDiscovery);
  });

  it("resolves a namespace by ID and by name, and refuses an unknown one", async () => {
    assert.deepEqual(await cloudMap.resolveNamespace(world.namespaceId), {
      id: world.namespaceId,
      name: "adapters.local",
    });
    assert.deepEqual(await cloudMap.resolveNamespace("adapters.local"), {
      id: world.namespaceId,
      name: "adapters.local",
    });
    await assert.rejects(
      cloudMap.resolveNamespace("nope.local"),
      /no Cloud Map namespace named "nope.local"/,
    );
  });

  it("lists only the namespace's services, telling Service Connect and custom-health ones apart", async () => {
    const sc = await world.serviceConnectService("api", "api-svc");
    const custom = await world.customHealthService("payments");
    // A service in another namespace must never show up (moto ignores the filter).
    const other = await new World().init("other.local");
    await other.serviceConnectService("intruder");
    const services = await cloudMap.listServices(world.namespaceId);
    assert.deepEqual(services.map((s) => s.name).sort(), ["api", "payments"]);
    const api = services.find((s) => s.id === sc.id)!;
    assert.equal(api.customHealth, false);
    assert.deepEqual(api.ecsService, {
      arn: "arn:aws:ecs:us-east-1:123456789012:service/c1/api-svc",
      cluster: "c1",
      serviceName: "api-svc",
    });
    assert.equal(services.find((s) => s.id === custom.id)!.customHealth, true);
  });

  it("pages through more than 100 instances with their full attributes", async () => {
    const svc = await world.serviceConnectService("big");
    for (let i = 0; i < 130; i++) {
      await world.registerRaw(svc.id, `i-${i}`, {
        AWS_INSTANCE_IPV4: `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        AWS_INSTANCE_PORT: "8080",
        Custom: `v${i}`,
      });
    }
    const instances = await cloudMap.listInstances(svc.id);
    assert.equal(instances.length, 130);
    const i77 = instances.find((i) => i.instanceId === "i-77")!;
    assert.deepEqual(i77.attributes, {
      AWS_INSTANCE_IPV4: "127.1.0.78",
      AWS_INSTANCE_PORT: "8080",
      Custom: "v77",
    });
  });

  it("reports a new revision after a change and the same one otherwise", async () => {
    const svc = await world.serviceConnectService("api");
    await world.registerRaw(svc.id, "a", {
      AWS_INSTANCE_IPV4: "127.0.0.1",
      AWS_INSTANCE_PORT: "1",
    });
    const r1 = await cloudMap.discoverRevision("adapters.local", "api");
    assert.equal(await cloudMap.discoverRevision("adapters.local", "api"), r1);
    await cloudMap.deregisterInstance(svc.id, "a");
    const r2 = await cloudMap.discoverRevision("adapters.local", "api");
    assert.notEqual(r2, r1);
    await cloudMap.registerInstance(
      svc.id,
      "a",
      { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "1" },
      "tok-1",
    );
    assert.notEqual(await cloudMap.discoverRevision("adapters.local", "api"), r2);
  });

  it("sets and reads custom health status", async () => {
    const svc = await world.customHealthService("payments");
    await world.registerRaw(svc.id, "a", {
      AWS_INSTANCE_IPV4: "127.0.0.1",
      AWS_INSTANCE_PORT: "1",
    });
    await cloudMap.setCustomHealthStatus(svc.id, "a", "UNHEALTHY");
    assert.equal((await cloudMap.getHealthStatuses(svc.id)).get("a"), "UNHEALTHY");
    await cloudMap.setCustomHealthStatus(svc.id, "a", "HEALTHY");
    assert.equal((await cloudMap.getHealthStatuses(svc.id)).get("a"), "HEALTHY");
  });

  it("describes running and stopped tasks, over 100 in one cluster, in batches of 100", async () => {
    const ids = await world.runTasks("api", 120);
    await world.stopTask(ids[5]!);
    const proxy = await startFaultProxy(moto().endpoint);
    try {
      const proxied = new SdkEcs(buildAwsClients({ endpoint: proxy.endpoint, maxAttempts: 1 }).ecs);
      const result = await proxied.describeTasks(ids.map((taskId) => ({ cluster: "c1", taskId })));
      assert.equal(result.size, 120);
      const stopped = result.get(ids[5]!)!;
      assert.ok(stopped.kind === "task" && stopped.task.lastStatus === "STOPPED");
      const running = result.get(ids[6]!)!;
      assert.ok(running.kind === "task" && running.task.lastStatus === "RUNNING");
      assert.equal(running.kind === "task" && running.task.group, "service:api");
      assert.equal(proxy.calls.filter((c) => c.operation === "DescribeTasks").length, 2);

      // A batch that fails (throttled) reads as "unavailable", never as "missing".
      proxy.setFaults([{ kind: "throttle", operations: ["DescribeTasks"] }]);
      const failed = await proxied.describeTasks([{ cluster: "c1", taskId: ids[0]! }]);
      assert.deepEqual(failed.get(ids[0]!), { kind: "unavailable" });
    } finally {
      await proxy.close();
    }
  });

  it("counts throttled attempts and classifies them as transient", async () => {
    const proxy = await startFaultProxy(moto().endpoint);
    const seen: string[] = [];
    try {
      proxy.setFaults([{ kind: "throttle", operations: ["ListNamespaces"] }]);
      const clients = buildAwsClients({
        endpoint: proxy.endpoint,
        maxAttempts: 2,
        onCall: (service, op, outcome) => seen.push(`${service} ${op} ${outcome}`),
      });
      const err = await new SdkCloudMap(clients.serviceDiscovery)
        .resolveNamespace("adapters.local")
        .catch((e: unknown) => e);
      assert.equal((err as Error).name, "ThrottlingException");
      assert.equal(isTransientAwsError(err), true);
      assert.deepEqual(seen, [
        "servicediscovery ListNamespaces throttled",
        "servicediscovery ListNamespaces throttled",
      ]);
    } finally {
      await proxy.close();
    }
  });

  it("parses the ECS-managed description of Service Connect services", () => {
    assert.deepEqual(
      parseEcsManagedDescription(
        "Managed by arn:aws:ecs:eu-west-1:111122223333:service/prod/orders",
      ),
      {
        arn: "arn:aws:ecs:eu-west-1:111122223333:service/prod/orders",
        cluster: "prod",
        serviceName: "orders",
      },
    );
    assert.equal(
      parseEcsManagedDescription("Managed by arn:aws-cn:ecs:cn-north-1:111122223333:service/c/s")
        ?.cluster,
      "c",
    );
    for (const d of [
      undefined,
      "",
      "my service",
      "Managed by arn:aws:ecs:eu-west-1:111122223333:cluster/prod",
    ]) {
      assert.equal(parseEcsManagedDescription(d), undefined);
    }
  });

  it("maps a plain service (no ECS description, no health config) as probe-only", async () => {
    const out = await world.sd.send(
      new CreateServiceCommand({ Name: "plain", NamespaceId: world.namespaceId, Type: "HTTP" }),
    );
    const plain = (await cloudMap.listServices(world.namespaceId)).find(
      (s) => s.id === out.Service!.Id,
    )!;
    assert.equal(plain.customHealth, false);
    assert.equal(plain.ecsService, undefined);
  });
});
