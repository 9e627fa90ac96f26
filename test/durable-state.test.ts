// Durable state and replicas against moto's DynamoDB: records survive a SIGKILL, stale records
// are cleaned up, two replicas never both act, and a store outage means no removal.

import { strict as assert } from "node:assert";
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ListInstancesCommand } from "@aws-sdk/client-servicediscovery";
import { buildAwsClients } from "../checker/aws/clients";
import { systemClock } from "../checker/clock";
import type { InstanceState } from "../checker/domain/types";
import { leaseTiming } from "../checker/cycle/lease-keeper";
import { DynamoLease } from "../checker/state/dynamo-lease";
import { LeaseLostError } from "../checker/ports";
import { DynamoStateStore } from "../checker/state/dynamo-store";
import { ensureStateTable } from "../checker/state/init-table";
import { makeChecker, type Harness } from "./support/checker-harness";
import { runCli, startCli } from "./support/cli-process";
import { DYNAMO_OPS, startFaultProxy, type FaultProxy } from "./support/fault-proxy";
import { moto } from "./support/root-hooks";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World, type WorldService } from "./support/world";

describe("durable state and replicas (DynamoDB in moto)", function () {
  this.timeout(90_000);
  const { dynamodb } = buildAwsClients({ maxAttempts: 2 });
  const doc = DynamoDBDocumentClient.from(dynamodb);
  let table: string;
  let world: World;
  let api: WorldService;
  let taskIds: string[];
  let targets: HttpTarget[];
  let proxy: FaultProxy | undefined;
  let counter = 0;

  beforeEach(async () => {
    await moto().reset();
    table = `cmhc-state-${++counter}`;
    await ensureStateTable(dynamodb, table);
    world = await new World().init("durable.local");
    api = await world.serviceConnectService("api");
    taskIds = await world.runTasks("api", 4);
    targets = [];
    for (const [i, id] of taskIds.entries()) {
      const t = await startHttpTarget({ host: `127.0.60.${i + 1}` });
      targets.push(t);
      await world.registerTask(api, id, t);
    }
    proxy = undefined;
  });
  afterEach(async () => {
    await Promise.all(targets.map((t) => t.close()));
    await proxy?.close();
  });

  async function listed(): Promise<Map<string, Record<string, string>>> {
    const out = await world.sd.send(new ListInstancesCommand({ ServiceId: api.id }));
    return new Map((out.Instances ?? []).map((i) => [i.Id!, i.Attributes ?? {}]));
  }

  async function records(): Promise<Array<Record<string, unknown>>> {
    const out = await dynamodb.send(new ScanCommand({ TableName: table }));
    return (out.Items ?? [])
      .filter((i) => i["sk"]?.S?.startsWith("instance#"))
      .map((i) => ({ sk: i["sk"]!.S, instanceId: i["instanceId"]?.S, taskArn: i["taskArn"]?.S }));
  }

  async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < ms) {
      if (await check()) return Date.now() - start;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for: ${what}`);
  }

  const runEnv = (): Record<string, string> => ({
    NODE_NO_WARNINGS: "1",
    CMHC_NAMESPACE: "durable.local",
    CMHC_STATE_TABLE: table,
    CMHC_INTERVAL: "400ms",
    CMHC_TIMEOUT: "200ms",
    CMHC_UNHEALTHY_THRESHOLD: "2",
    CMHC_HEALTHY_THRESHOLD: "2",
    CMHC_STARTUP_GRACE: "0s",
    CMHC_LISTEN: "127.0.0.1:0",
  });

  it("init-state creates the shared schema idempotently, on-demand, with a TTL attribute", async () => {
    const name = "cmhc-init-test";
    const first = await runCli(["init-state", "--state-table", name], { NODE_NO_WARNINGS: "1" });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /created/);
    const second = await runCli(["init-state"], { NODE_NO_WARNINGS: "1", CMHC_STATE_TABLE: name });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /already exists/);
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    assert.deepEqual(
      Table!.KeySchema!.map((k) => [k.AttributeName, k.KeyType]),
      [
        ["pk", "HASH"],
        ["sk", "RANGE"],
      ],
    );
    assert.equal(Table!.BillingModeSummary?.BillingMode, "PAY_PER_REQUEST");
    const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: name }));
    assert.equal(ttl.TimeToLiveDescription?.AttributeName, "expiresAt");
    assert.equal(ttl.TimeToLiveDescription?.TimeToLiveStatus, "ENABLED");
  });

  it("grants the lease to one replica at a time, and to another once it expires or is released", async () => {
    const a = new DynamoLease(doc, table, "replica-a");
    const b = new DynamoLease(doc, table, "replica-b");
    const now = Date.now();
    assert.equal((await a.hold("ns-1", now, 1000)).mine, true);
    const seenByB = await b.hold("ns-1", now + 10, 1000);
    assert.deepEqual([seenByB.mine, seenByB.holder], [false, "replica-a"]);
    assert.equal((await a.hold("ns-1", now + 500, 1000)).mine, true, "the holder renews");
    assert.equal((await b.hold("ns-1", now + 1400, 1000)).mine, false, "renewed lease still runs");
    assert.equal((await b.hold("ns-1", now + 1600, 1000)).mine, true, "expired: B takes over");
    assert.equal((await a.hold("ns-1", now + 1700, 1000)).mine, false, "A cannot renew any more");
    await b.release("ns-1");
    assert.equal((await a.hold("ns-1", now + 1800, 1000)).mine, true, "released: A takes at once");
    assert.equal((await b.hold("ns-2", now, 1000)).mine, true, "leases are per namespace");
  });

  it("writes records only while holding the lease, and never replaces a newer one", async () => {
    const lease = new DynamoLease(doc, table, "replica-a");
    const store = new DynamoStateStore(doc, table, "replica-a", systemClock);
    const stale = new DynamoStateStore(doc, table, "replica-b", systemClock);
    const state = (removedAt: number, reason: string): InstanceState => ({
      key: "srv-1/t1",
      serviceId: "srv-1",
      instanceId: "t1",
      attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80", Extra: "x" },
      verdict: "unhealthy",
      consecutiveFailures: 3,
      consecutiveSuccesses: 0,
      firstSeen: 0,
      inRotation: false,
      removedByChecker: true,
      removedAt,
      mutatedAt: removedAt,
      removalReason: reason,
      lastProbe: undefined,
      unhealthySince: removedAt,
      taskArn: "arn:aws:ecs:us-east-1:123456789012:task/c1/t1",
    });
    await assert.rejects(store.put("ns-1", state(1000, "a")), LeaseLostError, "no lease, no write");
    await lease.hold("ns-1", Date.now(), 60_000);
    await store.put("ns-1", state(2000, "newer"));
    await assert.rejects(stale.put("ns-1", state(3000, "stale")), LeaseLostError);
    await assert.rejects(store.put("ns-1", state(1500, "older")));
    const loaded = await store.load("ns-1");
    const r = loaded.get("srv-1/t1")!;
    assert.equal(r.removalReason, "newer");
    assert.deepEqual(r.attributes, state(0, "").attributes);
    assert.equal(r.taskArn, "arn:aws:ecs:us-east-1:123456789012:task/c1/t1");
    assert.equal(r.removedByChecker, true);
    await store.delete("ns-1", "srv-1/t1");
    assert.equal((await store.load("ns-1")).size, 0);
  });

  it("re-registers, with identical attributes, an instance removed before a SIGKILL", async () => {
    const attributes = (await listed()).get(taskIds[1]!)!;
    targets[1]!.mode = "fail";
    const first = startCli(["run"], runEnv());
    await until("the first checker deregisters", async () => !(await listed()).has(taskIds[1]!));
    first.child.kill("SIGKILL");
    await first.exited;
    const recs = await records();
    assert.equal(recs.length, 1, "the removal is on record");
    assert.equal(recs[0]!["instanceId"], taskIds[1]);
    assert.match(String(recs[0]!["taskArn"]), new RegExp(taskIds[1]!));

    targets[1]!.mode = "ok";
    const second = startCli(["run"], runEnv());
    try {
      await until("the new checker re-registers it", async () => (await listed()).has(taskIds[1]!));
      assert.deepEqual((await listed()).get(taskIds[1]!), attributes);
      await until("the record is deleted", async () => (await records()).length === 0);
      assert.match(second.output(), /resumed from durable removal records/);
    } finally {
      second.child.kill("SIGTERM");
      assert.equal(await second.exited, 0);
    }
  });

  it("cleans up the record of a task that stopped meanwhile, and never re-registers it", async () => {
    targets[2]!.mode = "fail";
    const first = startCli(["run"], runEnv());
    await until("the first checker deregisters", async () => !(await listed()).has(taskIds[2]!));
    first.child.kill("SIGKILL");
    await first.exited;
    assert.equal((await records()).length, 1);
    await world.stopTask(taskIds[2]!);
    targets[2]!.mode = "ok";
    const second = startCli(["run"], runEnv());
    try {
      await until("the record is deleted", async () => (await records()).length === 0);
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(!(await listed()).has(taskIds[2]!), "a stopped task is never re-registered");
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });

  it("lets exactly one of two replicas act, hands over when it dies, and never duplicates a mutation", async () => {
    proxy = await startFaultProxy(moto().endpoint);
    const settings = { stateTable: table };
    const a = await makeChecker({
      namespace: "durable.local",
      endpoint: proxy.endpoint,
      settings,
      replicaId: "a",
    });
    const b = await makeChecker({
      namespace: "durable.local",
      endpoint: proxy.endpoint,
      settings,
      replicaId: "b",
    });
    const holders = (): string[] =>
      [a, b].filter((h) => h.status.lease?.mine).map((h) => h.status.lease!.ownerId);
    const tick = async (...hs: Harness[]): Promise<void> => {
      for (const h of hs) await h.checker.runCycle();
    };

    await tick(a, b);
    assert.deepEqual(holders(), ["a"]);
    assert.equal(b.status.lease?.holder, "a", "the standby knows who holds the lease");
    assert.match(await b.metrics.render(), /cmhc_lease_holder\{owner="a"\} 1/);
    assert.match(await b.metrics.render(), /cmhc_lease_held 0/);

    targets[0]!.mode = "fail";
    for (let i = 0; i < 4; i++) await tick(a, b);
    assert.ok(!(await listed()).has(taskIds[0]!));
    assert.equal(
      b.status.instances.find((x) => x.instanceId === taskIds[0])?.lastProbe?.ok,
      false,
      "standby observes",
    );
    assert.equal(b.status.recentActions.length, 0, "the standby never acts");

    // A dies (stops cycling). B takes over within the documented time.
    const died = Date.now();
    const { durationMs } = leaseTiming(300);
    let tookOver = 0;
    while (!b.status.lease?.mine) {
      await tick(b);
      tookOver = Date.now() - died;
      assert.ok(tookOver < 10_000, "takeover never happened");
    }
    assert.ok(tookOver <= durationMs + 2 * 300 + 500, `took over after ${tookOver} ms`);
    assert.ok(b.logs.some((l) => l.msg === "lease acquired: this replica acts"));

    targets[0]!.mode = "ok";
    for (let i = 0; i < 3; i++) await tick(b);
    assert.deepEqual((await listed()).get(taskIds[0]!) !== undefined, true, "B put it back");

    // A comes back: it must not act on its stale view.
    await tick(a, b, a, b);
    assert.deepEqual(holders(), ["b"]);
    const m = proxy.mutations();
    assert.equal(m["DeregisterInstance"], 1);
    assert.equal(m["RegisterInstance"], 1);
  });

  it("removes nothing while the store is down, says it is degraded, and recovers", async () => {
    proxy = await startFaultProxy(moto().endpoint);
    const h = await makeChecker({
      namespace: "durable.local",
      endpoint: proxy.endpoint,
      settings: { stateTable: table },
    });
    await h.checker.runCycle();
    proxy.setFaults([{ kind: "503", operations: DYNAMO_OPS }]);
    targets[3]!.mode = "fail";
    for (let i = 0; i < 4; i++) await h.checker.runCycle();
    assert.ok((await listed()).has(taskIds[3]!), "no deregistration without a durable record");
    const health = h.status.health(Date.now());
    assert.equal(health.ok, false);
    assert.match(health.reason, /state store unavailable/);
    assert.match(await h.metrics.render(), /cmhc_state_store_errors_total [1-9]/);
    assert.equal(proxy.mutations()["DeregisterInstance"] ?? 0, 0);

    proxy.setFaults([]);
    for (let i = 0; i < 3; i++) await h.checker.runCycle();
    assert.ok(!(await listed()).has(taskIds[3]!), "acts once the store is back");
    assert.equal(h.status.health(Date.now()).ok, true);
    assert.equal((await records()).length, 1);
  });
});
