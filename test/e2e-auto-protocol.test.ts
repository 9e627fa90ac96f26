// `--check-protocol auto` end to end (moto): each Service Connect service's tasks run a task
// definition whose port mapping carries appProtocol grpc, http2, http or none, and each is probed
// in that protocol against a real server of it; a service ECS does not manage is probed over
// HTTP. Task definitions are described once per revision however many cycles run.

import { strict as assert } from "node:assert";
import { CreateServiceCommand, RegisterInstanceCommand } from "@aws-sdk/client-servicediscovery";
import { makeChecker, type Harness } from "./support/checker-harness";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy";
import { startGrpcTarget, type GrpcTarget } from "./support/grpc-target";
import { h2Server, type H2Target } from "./support/h2-target";
import { moto } from "./support/root-hooks";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World } from "./support/world";

describe("auto check protocol from the task definition (moto)", function () {
  this.timeout(60_000);
  let world: World;
  let proxy: FaultProxy;
  const closers: Array<{ close(): Promise<void> }> = [];

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init("auto.local");
    proxy = await startFaultProxy(moto().endpoint);
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c.close()));
    await proxy.close();
  });

  async function cycles(h: Harness, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await h.checker.runCycle();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("probes grpc, http2, http and tcp as the port mappings say, and http where ECS manages nothing", async () => {
    // Three tasks a service, so that one taken out stays within the share a service may lose.
    const grpc: GrpcTarget[] = [];
    const h2: H2Target[] = [];
    const h2Status = [200, 200, 200];
    const web: HttpTarget[] = [];
    const raw: HttpTarget[] = [];
    for (let i = 0; i < 3; i++) {
      grpc.push(await startGrpcTarget({ host: `127.0.90.${i + 1}` }));
      h2.push(
        await h2Server(`127.0.90.${i + 11}`, (_q, res) => {
          res.writeHead(h2Status[i]!);
          res.end();
        }),
      );
      web.push(await startHttpTarget({ host: `127.0.90.${i + 21}` }));
      raw.push(await startHttpTarget({ host: `127.0.90.${i + 31}` }));
    }
    const plain = await startHttpTarget({ host: "127.0.90.41" });
    closers.push(...grpc, ...h2, ...web, ...raw, plain);
    // The service with no appProtocol answers HTTP 500 throughout: TCP is its check.
    for (const t of raw) t.mode = "fail";

    const register = async (
      name: string,
      appProtocol: "grpc" | "http2" | "http" | null,
      targets: ReadonlyArray<{ host: string; port: number }>,
    ): Promise<string[]> => {
      await world.useTaskDefinition(name, { appProtocol });
      await world.createEcsService(name, 3);
      const ids = await world.runTasks(name, targets.length);
      const svc = await world.serviceConnectService(name);
      for (const [i, id] of ids.entries()) await world.registerTask(svc, id, targets[i]!);
      return ids;
    };
    const rpcIds = await register("rpc", "grpc", grpc);
    const h2Ids = await register("stream", "http2", h2);
    await register("web", "http", web);
    await register("raw", null, raw);
    // Created by hand, not by ECS: no `Managed by` description, no task behind the instance.
    const svc = await world.sd.send(
      new CreateServiceCommand({ Name: "legacy", NamespaceId: world.namespaceId, Type: "HTTP" }),
    );
    await world.sd.send(
      new RegisterInstanceCommand({
        ServiceId: svc.Service!.Id!,
        InstanceId: "i-legacy",
        Attributes: { AWS_INSTANCE_IPV4: plain.host, AWS_INSTANCE_PORT: String(plain.port) },
      }),
    );

    const h = await makeChecker({ namespace: "auto.local", endpoint: proxy.endpoint });
    await cycles(h, 4);
    const p = h.status.protocols;
    assert.deepEqual(p["rpc"]?.instances, { grpc: 3 });
    assert.match(String(p["rpc"]?.source["grpc"]), /port mapping "rpc" appProtocol grpc/);
    assert.deepEqual(p["stream"]?.instances, { http2: 3 });
    assert.deepEqual(p["web"]?.instances, { http: 3 });
    assert.deepEqual(p["raw"]?.instances, { tcp: 3 });
    assert.match(String(p["raw"]?.source["tcp"]), /has no appProtocol/);
    assert.deepEqual(p["legacy"], {
      instances: { http: 1 },
      source: { http: "auto: not an ECS-managed service" },
    });
    const last = (id: string) => h.status.instances.find((i) => i.instanceId === id)?.lastProbe;
    assert.equal(last(rpcIds[0]!)?.detail, "gRPC SERVING");
    assert.equal(last(h2Ids[0]!)?.detail, "HTTP/2 200");
    assert.ok(web.every((t) => t.requests > 0) && plain.requests > 0);
    assert.equal(
      raw.reduce((n, t) => n + t.requests, 0),
      0,
      "TCP connects only: the 500 is never asked for",
    );
    assert.equal(proxy.succeeded("DeregisterInstance").length, 0, "all healthy by their protocol");
    const described = proxy.succeeded("DescribeTaskDefinition").length;
    assert.equal(described, 4, "once per revision");

    // One gRPC server says NOT_SERVING, one HTTP/2 server 503: both are taken out.
    grpc[0]!.set("", "NOT_SERVING");
    h2Status[1] = 503;
    await cycles(h, 5);
    const out = proxy
      .succeeded("DeregisterInstance")
      .map((c) => (JSON.parse(c.body) as { InstanceId: string }).InstanceId)
      .sort();
    assert.deepEqual(out, [rpcIds[0]!, h2Ids[1]!].sort());
    assert.equal(last(rpcIds[0]!)?.detail, "gRPC NOT_SERVING");
    assert.match(String(last(h2Ids[1]!)?.detail), /^HTTP\/2 503/);
    assert.equal(proxy.succeeded("DescribeTaskDefinition").length, described, "no describe again");
  });

  it("an explicit protocol wins over the task definition", async () => {
    const web: HttpTarget[] = [];
    for (let i = 1; i <= 3; i++) web.push(await startHttpTarget({ host: `127.0.91.${i}` }));
    closers.push(...web);
    web[0]!.mode = "fail";
    await world.useTaskDefinition("api", { appProtocol: "grpc" });
    await world.createEcsService("api", 3);
    const ids = await world.runTasks("api", 3);
    const svc = await world.serviceConnectService("api");
    for (const [i, id] of ids.entries()) await world.registerTask(svc, id, web[i]!);
    const h = await makeChecker({
      namespace: "auto.local",
      endpoint: proxy.endpoint,
      settings: { serviceOverrides: JSON.stringify({ api: { checkProtocol: "http" } }) },
    });
    await cycles(h, 4);
    assert.deepEqual(h.status.protocols["api"], {
      instances: { http: 3 },
      source: { http: "configured" },
    });
    assert.equal(proxy.succeeded("DescribeTaskDefinition").length, 0);
    assert.equal(proxy.succeeded("DeregisterInstance").length, 1, "judged by HTTP: 500 fails");
  });
});
