// The SDK adapters against moto: paging, batching, namespace scoping, and error mapping.

import { strict as assert } from "node:assert";
import { CreateHttpNamespaceCommand, CreateServiceCommand } from "@aws-sdk/client-servicediscovery";
import { buildAwsClients, endpointOverridden, type CallOutcome } from "../checker/aws/clients";
import { parseEcsManagedDescription, SdkCloudMap } from "../checker/aws/cloudmap";
import { SdkEcs } from "../checker/aws/ecs";
import { describeAwsError, isTransientAwsError } from "../checker/aws/errors";
import { moto } from "./support/root-hooks";
import { ecsMissingTaskFailures, startFaultProxy, type FaultProxy } from "./support/fault-proxy";
import { World } from "./support/world";

const ATTRS = { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "1" };

describe("AWS adapters against moto", function () {
  this.timeout(60_000);
  let world: World;
  let cloudMap: SdkCloudMap;
  let proxy: FaultProxy | undefined;

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init("adapters.local");
    cloudMap = new SdkCloudMap(buildAwsClients({ maxAttempts: 2 }).serviceDiscovery);
    proxy = undefined;
  });

  afterEach(async () => {
    await proxy?.close();
  });

  /** Adapters whose calls go through a fresh fault proxy, with every attempt recorded. */
  async function proxied(maxAttempts = 1) {
    proxy = await startFaultProxy(moto().endpoint);
    const seen: string[] = [];
    const clients = buildAwsClients({
      endpoint: proxy.endpoint,
      maxAttempts,
      onCall: (service, op, outcome: CallOutcome, errorName) =>
        seen.push([service, op, outcome, errorName].filter(Boolean).join(" ")),
    });
    return {
      proxy,
      seen,
      cloudMap: new SdkCloudMap(clients.serviceDiscovery),
      ecs: new SdkEcs(clients.ecs),
    };
  }

  describe("Cloud Map", () => {
    it("resolves a namespace by ID and by name, and refuses an unknown one", async () => {
      const expected = {
        id: world.namespaceId,
        name: "adapters.local",
        httpName: "adapters.local",
      };
      assert.deepEqual(await cloudMap.resolveNamespace(world.namespaceId), expected);
      assert.deepEqual(await cloudMap.resolveNamespace("adapters.local"), expected);
      await assert.rejects(
        cloudMap.resolveNamespace("nope.local"),
        /no Cloud Map namespace named "nope.local"/,
      );
      await assert.rejects(cloudMap.resolveNamespace("ns-doesnotexist"), /no Cloud Map namespace/);
    });

    it("refuses an ambiguous name, and finds a namespace whose name looks like an ID", async () => {
      await world.sd.send(new CreateHttpNamespaceCommand({ Name: "adapters.local" }));
      await assert.rejects(cloudMap.resolveNamespace("adapters.local"), /several namespaces/);
      await world.sd.send(new CreateHttpNamespaceCommand({ Name: "ns-team1" }));
      assert.equal((await cloudMap.resolveNamespace("ns-team1")).name, "ns-team1");
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
      assert.equal(api.namespaceId, world.namespaceId);
      assert.match(api.arn, /^arn:aws:servicediscovery:us-east-1:123456789012:service\/srv-/);
      assert.deepEqual(api.ecsService, {
        arn: "arn:aws:ecs:us-east-1:123456789012:service/c1/api-svc",
        cluster: "c1",
        serviceName: "api-svc",
      });
      assert.equal(services.find((s) => s.id === custom.id)!.customHealth, true);
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

    it("looks each service's namespace up once, not on every listing", async () => {
      await world.serviceConnectService("api");
      await world.serviceConnectService("web");
      const { proxy, cloudMap } = await proxied();
      await cloudMap.listServices(world.namespaceId);
      await cloudMap.listServices(world.namespaceId);
      assert.equal(proxy.calls.filter((c) => c.operation === "GetService").length, 2);
      assert.equal(proxy.calls.filter((c) => c.operation === "ListServices").length, 2);
    });

    /** A service of `n` instances `i-K` at 127.1.0.K+1, each with a custom attribute. */
    async function bigService(n: number) {
      const svc = await world.serviceConnectService("big");
      for (let i = 0; i < n; i++) {
        await world.registerRaw(svc.id, `i-${i}`, {
          AWS_INSTANCE_IPV4: `127.1.0.${i + 1}`,
          AWS_INSTANCE_PORT: "8080",
          Custom: `v${i}`,
        });
      }
      return svc;
    }

    it("pages through more than 100 instances with their full attributes", async () => {
      const svc = await bigService(130);
      const { proxy, cloudMap } = await proxied();
      const instances = await cloudMap.listInstances(svc.id);
      assert.equal(instances.length, 130);
      assert.equal(new Set(instances.map((i) => i.instanceId)).size, 130);
      assert.equal(proxy.calls.filter((c) => c.operation === "ListInstances").length, 2);
      assert.deepEqual(
        instances.find((i) => i.instanceId === "i-77"),
        {
          serviceId: svc.id,
          instanceId: "i-77",
          attributes: { AWS_INSTANCE_IPV4: "127.1.0.78", AWS_INSTANCE_PORT: "8080", Custom: "v77" },
        },
      );
    });

    it("lists a whole service in one DiscoverInstances call, with that listing's revision", async () => {
      const svc = await bigService(130);
      const { proxy, cloudMap } = await proxied();
      const listed = await cloudMap.discoverInstances("adapters.local", svc);
      assert.equal(proxy.calls.filter((c) => c.operation === "DiscoverInstances").length, 1);
      const byId = (a: { instanceId: string }, b: { instanceId: string }) =>
        a.instanceId.localeCompare(b.instanceId);
      assert.deepEqual(
        [...listed.instances].sort(byId),
        (await cloudMap.listInstances(svc.id)).sort(byId),
        "the same records as ListInstances",
      );
      assert.equal(listed.revision, await cloudMap.discoverRevision("adapters.local", "big"));
      await cloudMap.deregisterInstance(svc.id, "i-7");
      const after = await cloudMap.discoverInstances("adapters.local", svc);
      assert.equal(after.instances.length, 129);
      assert.notEqual(after.revision, listed.revision);
    });

    it("keeps a Service Connect instance's attributes through deregister and re-register", async () => {
      const svc = await world.serviceConnectService("api");
      const [taskId] = await world.runTasks("api", 1);
      const attributes = await world.registerTask(svc, taskId!, { host: "127.0.0.5", port: 8080 });
      const [before] = await cloudMap.listInstances(svc.id);
      assert.deepEqual(before, { serviceId: svc.id, instanceId: taskId, attributes });
      await cloudMap.deregisterInstance(svc.id, taskId!);
      assert.deepEqual(await cloudMap.listInstances(svc.id), []);
      await cloudMap.registerInstance(svc.id, taskId!, before!.attributes, `cmhc-${taskId}-1`);
      assert.deepEqual(await cloudMap.listInstances(svc.id), [before]);
    });

    it("reports a new revision after a change and the same one otherwise", async () => {
      const svc = await world.serviceConnectService("api");
      await world.registerRaw(svc.id, "a", ATTRS);
      const r1 = await cloudMap.discoverRevision("adapters.local", "api");
      assert.equal(await cloudMap.discoverRevision("adapters.local", "api"), r1);
      await cloudMap.deregisterInstance(svc.id, "a");
      const r2 = await cloudMap.discoverRevision("adapters.local", "api");
      assert.notEqual(r2, r1);
      assert.equal(await cloudMap.discoverRevision("adapters.local", "api"), r2);
      await cloudMap.registerInstance(svc.id, "a", ATTRS, "tok-1");
      assert.notEqual(await cloudMap.discoverRevision("adapters.local", "api"), r2);
    });

    it("sets and reads custom health status", async () => {
      const svc = await world.customHealthService("payments");
      await world.registerRaw(svc.id, "a", ATTRS);
      await world.registerRaw(svc.id, "b", ATTRS);
      await cloudMap.setCustomHealthStatus(svc.id, "a", "UNHEALTHY");
      assert.deepEqual(
        await cloudMap.getHealthStatuses(svc.id),
        new Map([
          ["a", "UNHEALTHY"],
          ["b", "HEALTHY"],
        ]),
      );
      await cloudMap.setCustomHealthStatus(svc.id, "a", "HEALTHY");
      assert.equal((await cloudMap.getHealthStatuses(svc.id)).get("a"), "HEALTHY");
    });

    it("makes exactly the mutations asked for, each once", async () => {
      const sc = await world.serviceConnectService("api");
      const custom = await world.customHealthService("payments");
      await world.registerRaw(sc.id, "a", ATTRS);
      await world.registerRaw(custom.id, "b", ATTRS);
      const { proxy, cloudMap } = await proxied();
      await cloudMap.deregisterInstance(sc.id, "a");
      await cloudMap.registerInstance(sc.id, "a", ATTRS, "tok-a");
      await cloudMap.setCustomHealthStatus(custom.id, "b", "UNHEALTHY");
      assert.deepEqual(proxy.mutations(), {
        DeregisterInstance: 1,
        RegisterInstance: 1,
        UpdateInstanceCustomHealthStatus: 1,
      });
      const register = JSON.parse(proxy.succeeded("RegisterInstance")[0]!.body) as object;
      assert.deepEqual(register, {
        ServiceId: sc.id,
        InstanceId: "a",
        Attributes: ATTRS,
        CreatorRequestId: "tok-a",
      });
    });
  });

  describe("ECS", () => {
    it("describes running and stopped tasks, over 100 in one cluster, in batches of 100", async () => {
      const ids = await world.runTasks("api", 120);
      await world.stopTask(ids[5]!);
      const { proxy, ecs } = await proxied();
      const result = await ecs.describeTasks(ids.map((taskId) => ({ cluster: "c1", taskId })));
      assert.equal(result.size, 120);
      const stopped = result.get(ids[5]!)!;
      assert.ok(stopped.kind === "task");
      assert.equal(stopped.task.lastStatus, "STOPPED");
      assert.equal(stopped.task.desiredStatus, "STOPPED");
      const running = result.get(ids[6]!)!;
      assert.ok(running.kind === "task");
      assert.equal(running.task.lastStatus, "RUNNING");
      assert.equal(running.task.group, "service:api");
      assert.match(running.task.taskArn, new RegExp(`:task/c1/${ids[6]}$`));
      assert.match(running.task.clusterArn, /:cluster\/c1$/);
      const batches = proxy.calls
        .filter((c) => c.operation === "DescribeTasks")
        .map((c) => (JSON.parse(c.body) as { tasks: string[] }).tasks.length);
      // Batches run in parallel: compare sizes, not order.
      assert.deepEqual(
        batches.sort((x, y) => y - x),
        [100, 20],
      );
    });

    it("maps ECS's task fields, startedAt to epoch ms", async () => {
      const [id] = await world.runTasks("api", 1);
      const { proxy, ecs } = await proxied();
      // moto sets no startedAt or healthStatus; real ECS does (JSON timestamps are epoch s).
      proxy.setFaults({
        kind: "rewrite",
        operations: ["DescribeTasks"],
        rewrite: (res) => {
          const out = res as { tasks: object[] };
          return {
            ...out,
            tasks: out.tasks.map((t) => ({
              ...t,
              startedAt: 1_700_000_000.25,
              healthStatus: "UNHEALTHY",
            })),
          };
        },
      });
      const lookup = (await ecs.describeTasks([{ cluster: "c1", taskId: id! }])).get(id!);
      assert.ok(lookup?.kind === "task");
      assert.deepEqual(lookup.task, {
        taskArn: `arn:aws:ecs:us-east-1:123456789012:task/c1/${id}`,
        clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/c1",
        lastStatus: "RUNNING",
        desiredStatus: "RUNNING",
        healthStatus: "UNHEALTHY",
        startedAt: 1_700_000_000_250,
        group: "service:api",
        taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/app-api:1`,
      });
    });

    it("reads a task definition's port mappings, every container's, with their appProtocol", async () => {
      const arn = await world.useTaskDefinition("rpc", { appProtocol: "grpc" });
      const { ecs } = await proxied();
      const td = await ecs.describeTaskDefinition(arn);
      assert.deepEqual(td, {
        name: "app-rpc:1",
        portMappings: [{ name: "rpc", containerPort: 8080, appProtocol: "grpc" }],
      });
      await assert.rejects(
        ecs.describeTaskDefinition("arn:aws:ecs:us-east-1:123456789012:task-definition/nope:9"),
      );
    });

    it("groups by cluster and accepts task ARNs", async () => {
      await world.createCluster("c2");
      const [a] = await world.runTasks("api", 1);
      const [b] = await world.runServiceTasks("c2", "web", 1);
      const { proxy, ecs } = await proxied();
      const result = await ecs.describeTasks([
        { cluster: "c1", taskId: `arn:aws:ecs:us-east-1:123456789012:task/c1/${a}` },
        { cluster: "c2", taskId: b! },
      ]);
      assert.deepEqual(
        new Map([...result].map(([id, l]) => [id, l.kind === "task" && l.task.group])),
        new Map([
          [a, "service:api"],
          [b, "service:web"],
        ]),
      );
      assert.equal(proxy.calls.filter((c) => c.operation === "DescribeTasks").length, 2);
    });

    it("reports a task ECS lists as MISSING as missing, and one it is silent about as unavailable", async () => {
      const [live] = await world.runTasks("api", 1);
      const gone = "0123456789abcdef0123456789abcdef";
      const { proxy, ecs } = await proxied();
      const refs = [live!, gone].map((taskId) => ({ cluster: "c1", taskId }));
      // moto leaves unknown tasks out; real ECS lists them in failures[] (MISSING).
      assert.deepEqual((await ecs.describeTasks(refs)).get(gone), { kind: "unavailable" });
      proxy.setFaults(ecsMissingTaskFailures());
      const result = await ecs.describeTasks(refs);
      assert.equal(result.get(live!)?.kind, "task");
      assert.deepEqual(result.get(gone), { kind: "missing" });
    });

    it("reads a failed batch as unavailable, never missing, and leaves other batches alone", async () => {
      const ids = await world.runTasks("api", 101);
      const { proxy, ecs } = await proxied();
      // Throttle the batch holding the first 100 tasks (batches run in parallel).
      proxy.setFaults([
        { kind: "throttle", operations: ["DescribeTasks"], match: (c) => c.body.includes(ids[0]!) },
        ecsMissingTaskFailures(),
      ]);
      const refs = [...ids, "0123456789abcdef0123456789abcdef"].map((taskId) => ({
        cluster: "c1",
        taskId,
      }));
      const result = await ecs.describeTasks(refs);
      const kinds = refs.map((r) => result.get(r.taskId)?.kind);
      assert.equal(kinds.slice(0, 100).filter((k) => k === "unavailable").length, 100);
      assert.deepEqual(kinds.slice(100), ["task", "missing"]);
    });
  });

  describe("errors and metrics", () => {
    it("reports every throttled attempt to onCall, and surfaces ThrottlingException", async () => {
      const { proxy, cloudMap, seen } = await proxied(2);
      proxy.setFaults({ kind: "throttle", operations: ["ListNamespaces"] });
      const err = await cloudMap.resolveNamespace("adapters.local").catch((e: unknown) => e);
      assert.equal((err as Error).name, "ThrottlingException");
      assert.equal(isTransientAwsError(err), true);
      assert.equal(describeAwsError(err), "ThrottlingException (HTTP 400): Rate exceeded");
      assert.deepEqual(seen, [
        "servicediscovery ListNamespaces throttled ThrottlingException",
        "servicediscovery ListNamespaces throttled ThrottlingException",
      ]);
    });

    it("retries a 503 and a dropped connection, counting each attempt", async () => {
      const svc = await world.serviceConnectService("api");
      const { proxy, cloudMap, seen } = await proxied(3);
      proxy.setFaults([
        { kind: "503", operations: ["ListInstances"], count: 1 },
        { kind: "reset", operations: ["ListInstances"], count: 1 },
      ]);
      assert.deepEqual(await cloudMap.listInstances(svc.id), []);
      assert.deepEqual(seen, [
        "servicediscovery ListInstances error ServiceUnavailableException",
        "servicediscovery ListInstances error ECONNRESET",
        "servicediscovery ListInstances ok",
      ]);
    });

    it("passes a delayed call through once", async () => {
      const { proxy, ecs, seen } = await proxied();
      const [id] = await world.runTasks("api", 1);
      proxy.setFaults({ kind: "delay", delayMs: 300, operations: ["DescribeTasks"] });
      const started = Date.now();
      const result = await ecs.describeTasks([{ cluster: "c1", taskId: id! }]);
      assert.ok(Date.now() - started >= 300);
      assert.equal(result.get(id!)?.kind, "task");
      assert.deepEqual(seen, ["ecs DescribeTasks ok"]);
      assert.equal(proxy.calls.length, 1);
    });
  });
});

describe("AWS adapter helpers", () => {
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
      "Managed by arn:aws:ecs:eu-west-1:111122223333:service/orders", // old ARN format
      "Managed by arn:aws:ecs:eu-west-1:1234:service/prod/orders",
    ]) {
      assert.equal(parseEcsManagedDescription(d), undefined, String(d));
    }
  });

  it("classifies AWS errors as transient or not", () => {
    const aws = (name: string, status: number, extra: object = {}) =>
      Object.assign(new Error("m"), { name, $metadata: { httpStatusCode: status }, ...extra });
    const net = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
    for (const err of [
      aws("ThrottlingException", 400),
      aws("RequestLimitExceeded", 400),
      aws("TooManyRequestsException", 429),
      aws("SomethingThrottled", 400, { $retryable: { throttling: true } }),
      aws("InternalFailure", 500),
      aws("ServiceUnavailableException", 503),
      aws("TimeoutError", 0),
      net("ECONNRESET"),
      net("ECONNREFUSED"),
      net("ETIMEDOUT"),
    ]) {
      assert.equal(isTransientAwsError(err), true, describeAwsError(err));
    }
    for (const err of [
      aws("AccessDeniedException", 400),
      aws("InstanceNotFound", 404),
      aws("CustomHealthNotFound", 404),
      aws("InvalidInput", 400),
      new Error("boom"),
      "string",
      undefined,
    ]) {
      assert.equal(isTransientAwsError(err), false, String(err));
    }
    assert.equal(describeAwsError(net("ECONNRESET")), "ECONNRESET: connect ECONNRESET");
    const hangUp = Object.assign(new Error("socket hang up"), {
      name: "TimeoutError",
      code: "ECONNRESET",
    });
    assert.equal(describeAwsError(hangUp), "ECONNRESET: socket hang up");
    assert.equal(describeAwsError(aws("InvalidInput", 400)), "InvalidInput (HTTP 400): m");
    assert.equal(describeAwsError("plain"), "plain");
  });

  it("disables Cloud Map's host prefix only when an endpoint override is in effect", () => {
    assert.equal(endpointOverridden(undefined, {}), false);
    assert.equal(endpointOverridden("http://127.0.0.1:1", {}), true);
    assert.equal(endpointOverridden(undefined, { AWS_ENDPOINT_URL: "http://x" }), true);
    assert.equal(
      endpointOverridden(undefined, { AWS_ENDPOINT_URL_SERVICEDISCOVERY: "http://x" }),
      true,
    );
    assert.equal(endpointOverridden(undefined, { AWS_ENDPOINT_URL_ECS: "http://x" }), false);
    assert.equal(
      endpointOverridden(undefined, {
        AWS_ENDPOINT_URL: "http://x",
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
      }),
      false,
    );
  });
});
