import { strict as assert } from "node:assert";
import type {
  CheckSpec,
  ServiceInfo,
  TaskDefinitionPorts,
  TaskLookup,
} from "../checker/domain/types";
import { AutoChecks } from "../checker/read/auto-checks";
import type { Listed, ProbeItem } from "../checker/read/listing";
import { autoProtocol, CheckSpecs, TaskDefinitionBook } from "../checker/read/protocols";
import { runningTask } from "./support/scenario";
import { VirtualClock } from "./support/virtual-clock";
import { checkSpec } from "./support/checks";

const td = (name: string, ...m: Array<[string | undefined, number, string | undefined]>) => ({
  name,
  portMappings: m.map(([n, containerPort, appProtocol]) => ({
    name: n,
    containerPort,
    appProtocol,
  })),
});

describe("auto protocol: the port mapping Service Connect uses", () => {
  it("takes appProtocol of the mapping named as the service: grpc, http2, http; none is tcp", () => {
    const t = td(
      "shop:7",
      ["api", 8080, "grpc"],
      ["web", 8081, "http2"],
      ["admin", 9000, "http"],
      ["raw", 7000, undefined],
    );
    assert.deepEqual(autoProtocol(t, "api", "8080"), {
      protocol: "grpc",
      why: 'shop:7: port mapping "api" appProtocol grpc',
    });
    assert.equal(autoProtocol(t, "web", "8081").protocol, "http2");
    assert.equal(autoProtocol(t, "admin", "9000").protocol, "http");
    assert.deepEqual(autoProtocol(t, "raw", "7000"), {
      protocol: "tcp",
      why: 'shop:7: port mapping "raw" has no appProtocol',
    });
  });

  it("falls back to the mapping on the instance's port (a discoveryName unlike the port name)", () => {
    const t = td("shop:7", ["api", 8080, "grpc"], ["web", 8081, "http"]);
    assert.deepEqual(autoProtocol(t, "orders", "8080"), {
      protocol: "grpc",
      why: "shop:7: port mapping on port 8080 appProtocol grpc",
    });
  });

  it("probes TCP where no mapping matches, mappings disagree, or the appProtocol is unknown", () => {
    const t = td(
      "shop:7",
      ["api", 8080, "grpc"],
      [undefined, 9090, "http"],
      [undefined, 9090, "grpc"],
    );
    assert.match(
      autoProtocol(t, "orders", "1234").why,
      /no port mapping named "orders" or on port 1234/,
    );
    assert.equal(autoProtocol(t, "orders", "1234").protocol, "tcp");
    assert.equal(autoProtocol(t, "orders", "9090").protocol, "tcp");
    assert.match(autoProtocol(t, "orders", "9090").why, /ambiguous/);
    const odd = td("x:1", ["api", 80, "websocket"]);
    assert.deepEqual(autoProtocol(odd, "api", "80").protocol, "tcp");
    assert.match(autoProtocol(odd, "api", "80").why, /appProtocol websocket, not one/);
  });
});

class FakeTaskDefs {
  readonly defs = new Map<string, TaskDefinitionPorts>();
  calls: string[] = [];
  fail: Error | undefined;
  hold: Promise<void> | undefined;
  async describeTaskDefinition(arn: string): Promise<TaskDefinitionPorts> {
    this.calls.push(arn);
    await this.hold;
    if (this.fail) throw this.fail;
    const d = this.defs.get(arn);
    if (!d)
      throw Object.assign(new Error("Unable to describe task definition."), {
        name: "ClientException",
      });
    return d;
  }
}

describe("task definition book", () => {
  it("describes each revision once, however many ask at once", async () => {
    const ecs = new FakeTaskDefs();
    ecs.defs.set("td:1", td("td:1", ["api", 80, "grpc"]));
    const book = new TaskDefinitionBook(ecs, new VirtualClock());
    await Promise.all([book.fetch(["td:1", "td:1"]), book.fetch(["td:1"])]);
    await book.fetch(["td:1"]);
    assert.deepEqual(ecs.calls, ["td:1"]);
    assert.equal(book.get("td:1")?.name, "td:1");
  });

  it("backs off after a failure, says why, and retries once the back-off has passed", async () => {
    const ecs = new FakeTaskDefs();
    const clock = new VirtualClock(0);
    const errors: Array<[string, boolean]> = [];
    const book = new TaskDefinitionBook(ecs, clock, (_arn, e, first) => errors.push([e, first]));
    ecs.fail = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    await book.fetch(["td:1"]);
    assert.equal(book.get("td:1"), undefined);
    assert.match(book.missing("td:1"), /^DescribeTaskDefinition failed: ThrottlingException/);
    await book.fetch(["td:1"]);
    assert.equal(ecs.calls.length, 1, "not asked again within the back-off");
    await clock.run(2000);
    ecs.fail = undefined;
    ecs.defs.set("td:1", td("td:1", ["api", 80, "http2"]));
    await book.fetch(["td:1"]);
    assert.equal(ecs.calls.length, 2);
    assert.equal(book.get("td:1")?.portMappings[0]?.appProtocol, "http2");
    assert.deepEqual(
      errors.map(([, first]) => first),
      [true],
    );
  });
});

const AUTO: CheckSpec = checkSpec("auto", 1000);

function service(name: string, ecs: boolean): ServiceInfo {
  return {
    id: `srv-${name}`,
    arn: `arn:aws:servicediscovery:us-east-1:123456789012:service/srv-${name}`,
    name,
    namespaceId: "ns-1",
    customHealth: false,
    ecsService: ecs ? { arn: `arn:ecs/${name}`, cluster: "c1", serviceName: name } : undefined,
  };
}

function world(services: ServiceInfo[], perService: string[][], check = AUTO) {
  const listed = services.map((info) => ({ snap: { info } }) as unknown as Listed);
  const items: ProbeItem[] = services.flatMap((info, s) =>
    perService[s]!.map(
      (id) =>
        ({
          key: `${info.id}/${id}`,
          service: info.name,
          listedAt: s,
          check,
          target: { ok: true, host: "127.0.0.1", port: 80 },
          record: { serviceId: info.id, instanceId: id, attributes: { AWS_INSTANCE_PORT: "80" } },
        }) as unknown as ProbeItem,
    ),
  );
  return { listed, items };
}

function withTd(id: string, arn: string | undefined): TaskLookup {
  const l = runningTask(id);
  if (l.kind !== "task") throw new Error("unreachable");
  return { kind: "task", task: { ...l.task, ...(arn ? { taskDefinitionArn: arn } : {}) } };
}

describe("resolving a cycle's auto checks", () => {
  it("keeps each choice apart by service and port, though one task definition serves all", () => {
    const specs = new CheckSpecs();
    const shared = td(
      "app:1",
      ["api", 80, "grpc"],
      ["admin", 81, "http"],
      [undefined, 82, "http2"],
    );
    const pick = (svc: string, port: string) => specs.auto(AUTO, shared, svc, port);
    const api = pick("api", "80");
    assert.deepEqual(
      [api, pick("admin", "80"), pick("other", "82"), pick("other", "83")].map((r) =>
        "check" in r ? r.check.protocol : "pending",
      ),
      ["grpc", "http", "http2", "tcp"],
    );
    assert.equal(pick("api", "80"), api, "asked again: the same answer, not a new one");
    const other = td("app:2", ["api", 80, "http"]);
    const next = specs.auto(AUTO, other, "api", "80");
    assert.equal("check" in next && next.check.protocol, "http", "a new revision is read anew");
  });

  it("http where ECS does not manage the service; by task definition where it does", async () => {
    const ecs = new FakeTaskDefs();
    ecs.defs.set("api:3", td("api:3", ["api", 80, "grpc"]));
    const auto = new AutoChecks(ecs, new VirtualClock());
    const { listed, items } = world(
      [service("legacy", false), service("api", true)],
      [["i-1"], ["t1", "t2"]],
    );
    const lookups = new Map([
      ["t1", withTd("t1", "api:3")],
      ["t2", withTd("t2", "api:3")],
    ]);
    const r = await auto.resolve(
      items,
      listed,
      { cached: (id) => lookups.get(id), lookups: async () => lookups },
      100,
    );
    assert.deepEqual(
      r.items.map((i) => [i.record.instanceId, i.check.protocol]),
      [
        ["i-1", "http"],
        ["t1", "grpc"],
        ["t2", "grpc"],
      ],
    );
    assert.equal(r.items[1]!.check, r.items[2]!.check, "one spec shared, not one per probe");
    assert.deepEqual(r.protocols.get("api"), {
      instances: { grpc: 2 },
      source: { grpc: 'auto: api:3: port mapping "api" appProtocol grpc' },
    });
    assert.deepEqual(r.protocols.get("legacy")?.source, {
      http: "auto: not an ECS-managed service",
    });
    assert.deepEqual(ecs.calls, ["api:3"]);
  });

  it("waits for a new task's DescribeTasks and task definition, within the bound", async () => {
    const ecs = new FakeTaskDefs();
    ecs.defs.set("api:4", td("api:4", ["api", 80, "http2"]));
    const auto = new AutoChecks(ecs, new VirtualClock());
    const { listed, items } = world([service("api", true)], [["new"]]);
    const lookups = new Map([["new", withTd("new", "api:4")]]);
    const r = await auto.resolve(
      items,
      listed,
      { cached: () => undefined, lookups: async () => lookups },
      100,
    );
    assert.deepEqual(
      r.items.map((i) => i.check.protocol),
      ["http2"],
    );
  });

  it("leaves unprobed, and says why, what ECS cannot answer in time or at all", async () => {
    const ecs = new FakeTaskDefs();
    const clock = new VirtualClock();
    const auto = new AutoChecks(ecs, clock);
    const { listed, items } = world([service("api", true)], [["slow", "refused"]]);
    ecs.fail = Object.assign(
      new Error("User is not authorized to perform: ecs:DescribeTaskDefinition"),
      {
        name: "AccessDeniedException",
      },
    );
    let answer!: (m: Map<string, TaskLookup>) => void;
    const late = new Promise<Map<string, TaskLookup>>((r) => (answer = r));
    const cached = new Map([["refused", withTd("refused", "api:9")]]);
    const pending = auto.resolve(
      items,
      listed,
      { cached: (id) => cached.get(id), lookups: () => late },
      500,
    );
    await clock.run(clock.now() + 500);
    const r = await pending;
    answer(new Map());
    assert.deepEqual(r.items, [], "neither is probed");
    assert.deepEqual(r.protocols.get("api")?.instances, { pending: 2 });
    assert.match(
      String(r.protocols.get("api")?.pending),
      /ECS task not described yet|AccessDenied/,
    );
  });

  it("keeps a configured protocol as it is, asking ECS nothing", async () => {
    const ecs = new FakeTaskDefs();
    const auto = new AutoChecks(ecs, new VirtualClock());
    const grpc = { ...AUTO, protocol: "grpc" as const };
    const { listed, items } = world([service("api", true)], [["t1"]], grpc);
    const r = await auto.resolve(
      items,
      listed,
      { cached: () => undefined, lookups: async () => new Map() },
      100,
    );
    assert.equal(r.items[0]!.check, grpc);
    assert.deepEqual(r.protocols.get("api"), {
      instances: { grpc: 1 },
      source: { grpc: "configured" },
    });
    assert.deepEqual(ecs.calls, []);
  });
});
