// The checker tells what it cannot see: through a Cloud Map, an ECS and a DynamoDB outage (each
// apart, injected by the fault proxy in front of moto), /healthz answers 503 with the reason,
// /status shows it, one warn line says so with the AWS error, nothing is mutated, and the first
// cycle that reads it all again answers 200. /livez (the container health check) stays 200.

import { strict as assert } from "node:assert";
import { buildAwsClients } from "../checker/aws/clients";
import { startStatusServer, type StatusServer } from "../checker/observability/server";
import { ensureStateTable } from "../checker/state/init-table";
import { makeChecker, type Harness, type LogLine } from "./support/checker-harness";
import { DYNAMO_OPS, startFaultProxy, type Fault, type FaultProxy } from "./support/fault-proxy";
import { moto } from "./support/root-hooks";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World } from "./support/world";

const CLOUD_MAP_READS = [
  "ListServices",
  "DiscoverInstancesRevision",
  "DiscoverInstances",
  "ListInstances",
  "GetInstancesHealthStatus",
];
const ECS_READS = ["DescribeTasks", "ListTasks", "DescribeServices"];

interface Case {
  readonly source: string;
  readonly faults: readonly Fault[];
  readonly stateTable: boolean;
  /** The /healthz reason while it lasts. */
  readonly reason: RegExp;
  /** The one line that says so. */
  readonly line: (l: LogLine) => boolean;
  /** The line that says it ended. */
  readonly recovered: (l: LogLine) => boolean;
}

const CASES: readonly Case[] = [
  {
    source: "Cloud Map (HTTP 500)",
    faults: [{ kind: "500", operations: CLOUD_MAP_READS }],
    stateTable: false,
    reason:
      /^degraded: could not read Cloud Map for \d+ s \(1 of 1 services \(api\): InternalFailure \(HTTP 500\): injected\)/,
    line: (l) => l.level === "warn" && /^could not read Cloud Map/.test(l.msg),
    recovered: (l) => l.level === "info" && /^Cloud Map answers again/.test(l.msg),
  },
  {
    source: "ECS (connections reset)",
    faults: [{ kind: "reset", operations: ECS_READS }],
    stateTable: false,
    reason: /^degraded: could not read ECS for \d+ s \(the state of 3 tasks: .*ECONNRESET/,
    line: (l) => l.level === "warn" && /^could not read ECS/.test(l.msg),
    recovered: (l) => l.level === "info" && /^ECS answers again/.test(l.msg),
  },
  {
    source: "DynamoDB (HTTP 503)",
    faults: [{ kind: "503", operations: DYNAMO_OPS }],
    stateTable: true,
    reason: /^degraded: state store unavailable \(ServiceUnavailableException/,
    line: (l) => /^state store unavailable/.test(l.msg),
    recovered: (l) => l.level === "info" && /^state store answers again/.test(l.msg),
  },
];

describe("what the checker cannot see, told (moto + fault proxy)", function () {
  this.timeout(120_000);
  let targets: HttpTarget[] = [];
  let proxy: FaultProxy;
  let server: StatusServer | undefined;
  let table = 0;

  beforeEach(async () => {
    await moto().reset();
    proxy = await startFaultProxy(moto().endpoint);
  });
  afterEach(async () => {
    await Promise.all(targets.map((t) => t.close()));
    targets = [];
    await server?.close();
    server = undefined;
    await proxy.close();
  });

  async function setup(stateTable: boolean): Promise<Harness> {
    const world = await new World().init("outage.local");
    const api = await world.serviceConnectService("api");
    const ids = await world.runTasks("api", 3);
    for (const [i, id] of ids.entries()) {
      const t = await startHttpTarget({ host: `127.0.70.${i + 1}` });
      targets.push(t);
      await world.registerTask(api, id, t);
    }
    const settings: Record<string, string> = { interval: "1s", timeout: "300ms" };
    if (stateTable) {
      settings["stateTable"] = `cmhc-outage-${++table}`;
      await ensureStateTable(buildAwsClients({}).dynamodb, settings["stateTable"]);
    }
    const h = await makeChecker({ namespace: "outage.local", endpoint: proxy.endpoint, settings });
    server = await startStatusServer({
      host: "127.0.0.1",
      port: 0,
      status: h.status,
      metrics: h.metrics,
      now: () => Date.now(),
    });
    return h;
  }

  const get = async (path: string): Promise<{ code: number; body: string }> => {
    const res = await fetch(`${server!.url}${path}`);
    return { code: res.status, body: await res.text() };
  };

  for (const c of CASES) {
    it(`${c.source}: /healthz 503 with the reason, one line, no mutation, 200 at once after`, async () => {
      const h = await setup(c.stateTable);
      await h.checker.runCycle();
      await h.checker.runCycle();
      assert.deepEqual(await get("/healthz"), { code: 200, body: "ok\n" });
      const before = proxy.mutations();

      proxy.setFaults(c.faults);
      h.logs.length = 0;
      for (let k = 0; k < 3; k++) {
        await h.checker.runCycle();
        const health = await get("/healthz");
        assert.equal(health.code, 503, `cycle ${k}: ${health.body}`);
        assert.match(health.body, c.reason);
        assert.deepEqual(await get("/livez"), { code: 200, body: "alive\n" });
      }
      assert.equal(h.logs.filter(c.line).length, 1, "one line for the outage, not one a cycle");
      const line = h.logs.find(c.line)!;
      assert.match(String(line["err"]), /injected|ECONNRESET|socket hang up/, "with the AWS error");
      if (!c.stateTable) {
        const status = (await get("/status?instances=false")).body;
        const blind = (JSON.parse(status) as { blind: Record<string, { error: string }> }).blind;
        assert.equal(Object.keys(blind).length, 1, status);
        assert.ok(Object.values(blind)[0]!.error.length > 0);
      }
      assert.deepEqual(proxy.mutations(), before, "nothing mutated through the outage");

      proxy.setFaults([]);
      await h.checker.runCycle();
      assert.deepEqual(await get("/healthz"), { code: 200, body: "ok\n" }, "at once after");
      assert.equal(h.logs.filter(c.recovered).length, 1, "and a line that it ended");
      const status = JSON.parse((await get("/status?instances=false")).body) as {
        blind: object;
        storeError?: string;
      };
      assert.deepEqual(status.blind, {});
      assert.equal(status.storeError, undefined);
    });
  }
});
