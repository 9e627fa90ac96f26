// The CLI's CloudWatch EMF records in a real run against moto: valid by AWS's published schema,
// and carrying the figures of the same cycle's /status.

import { strict as assert } from "node:assert";
import { ListInstancesCommand } from "@aws-sdk/client-servicediscovery";
import { DIMENSION, METRIC_NAMESPACE } from "../checker/observability/metric-catalog";
import { freePort } from "./support/moto";
import { moto } from "./support/root-hooks";
import { runCli, startCli } from "./support/cli-process";
import {
  cycleFiguresOf,
  emfFigures,
  emfProblems,
  emfRecords,
  emfValues,
  type EmfRecord,
  type StatusBody,
} from "./support/emf";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World } from "./support/world";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("CloudWatch EMF records of a real run (CLI + moto)", function () {
  this.timeout(60_000);
  let world: World;
  let targets: HttpTarget[];
  let taskIds: string[];
  let apiId: string;

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init("emf.local");
    const api = await world.serviceConnectService("api");
    const web = await world.serviceConnectService("web");
    apiId = api.id;
    taskIds = await world.runTasks("api", 3);
    targets = [];
    for (const [i, id] of taskIds.entries()) {
      const t = await startHttpTarget({ host: `127.0.70.${i + 1}` });
      targets.push(t);
      await world.registerTask(api, id, t);
    }
    const [webTask] = await world.runTasks("web", 1);
    const t = await startHttpTarget({ host: "127.0.71.1" });
    targets.push(t);
    await world.registerTask(web, webTask!, t);
  });
  afterEach(async () => Promise.all(targets.map((t) => t.close())));

  it("`run` on ECS (auto): records validate and match /status, cycle by cycle and action by action", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    targets[1]!.mode = "fail";
    const cli = startCli(["run", "--namespace", "emf.local"], {
      NODE_NO_WARNINGS: "1",
      CMHC_INTERVAL: "400ms",
      CMHC_TIMEOUT: "200ms",
      CMHC_UNHEALTHY_THRESHOLD: "2",
      CMHC_STARTUP_GRACE: "0s",
      CMHC_REPLACE_AFTER: "off",
      CMHC_LISTEN: `127.0.0.1:${port}`,
      // What ECS sets in every task: `auto` writes EMF there.
      ECS_CONTAINER_METADATA_URI_V4: "http://169.254.170.2/v4/abc",
    });
    try {
      const deadline = Date.now() + 30_000;
      const gone = async (): Promise<boolean> => {
        const out = await world.sd.send(new ListInstancesCommand({ ServiceId: apiId }));
        return !(out.Instances ?? []).some((i) => i.Id === taskIds[1]);
      };
      while (!(await gone()) && Date.now() < deadline) await sleep(200);
      assert.ok(await gone(), `the failing task was not deregistered:\n${cli.output()}`);

      // A cycle that ended after the removal: its /status, then its records.
      const status = async (): Promise<StatusBody> =>
        (await (await fetch(`${base}/status`)).json()) as StatusBody;
      const first = (await status()).lastCycle.startedAt;
      let body = await status();
      while (body.lastCycle.startedAt === first && Date.now() < deadline) {
        await sleep(50);
        body = await status();
      }
      const startedAt = body.lastCycle.startedAt;
      let mine: EmfRecord[] = [];
      while (Date.now() < deadline) {
        mine = emfRecords(cli.output()).filter((r) => r["startedAt"] === startedAt);
        if (mine.some((r) => r["emf"] === "cycle")) break;
        await sleep(50);
      }

      // Every record of the run is valid, in our namespace, for this Cloud Map namespace.
      const all = emfRecords(cli.output());
      assert.ok(all.length > 0, "no EMF record on stdout");
      for (const r of all) {
        assert.deepEqual(emfProblems(r), [], JSON.stringify(r));
        assert.equal(r._aws.CloudWatchMetrics[0]!.Namespace, METRIC_NAMESPACE);
        assert.equal(r[DIMENSION.namespace], body.namespace.id);
      }

      const cycle = mine.find((r) => r["emf"] === "cycle");
      assert.ok(cycle, `no cycle record for ${startedAt}`);
      const last = body.lastCycle;
      const inRotation = (service?: string): number =>
        body.instances.filter((i) => i.inRotation && (!service || i.service === service)).length;
      const outOfRotation = (service?: string): number =>
        body.instances.filter((i) => !i.inRotation && (!service || i.service === service)).length;
      assert.deepEqual(emfFigures(cycle), cycleFiguresOf(body));
      assert.equal(cycle["actions"], last.actions);
      assert.equal(cycle["namespaceName"], "emf.local");
      assert.equal(outOfRotation("api"), 1);

      // A service's latest record up to this cycle (a steady one writes once a minute).
      const services: Record<string, Record<string, number>> = {};
      for (const r of all) {
        if (r["emf"] !== "service" || String(r["startedAt"]) > startedAt) continue;
        services[String(r[DIMENSION.service])] = emfFigures(r);
      }
      assert.deepEqual(Object.keys(services).sort(), ["api", "web"]);
      for (const name of ["api", "web"]) {
        assert.equal(services[name]!["InstancesInRotation"], inRotation(name), name);
        assert.equal(services[name]!["InstancesOutOfRotation"], outOfRotation(name), name);
      }

      // One action record per action /status lists, with its kind's metric.
      const actions = all.filter((r) => r["emf"] === "action");
      const done = body.recentActions.filter((a) => a.outcome === "ok");
      assert.ok(done.some((a) => a.kind === "deregister" && a.instanceId === taskIds[1]));
      assert.deepEqual(
        actions.map((r) => [r["kind"], r["instanceId"], r["outcome"], r["reason"]]),
        body.recentActions.map((a) => [a.kind, a.instanceId, a.outcome, a.reason]),
      );
      const removal = actions.find((r) => r["instanceId"] === taskIds[1])!;
      assert.deepEqual(emfValues(removal), { Deregistrations: 1 });
      assert.equal(removal[DIMENSION.service], "api");
    } finally {
      cli.child.kill("SIGTERM");
      await cli.exited;
    }
  });

  it("`once` writes none by hand (auto off ECS), and EMF with its logs on stderr when asked", async () => {
    const args = ["once", "--namespace", "emf.local", "--interval", "1s", "--timeout", "300ms"];
    const env = { NODE_NO_WARNINGS: "1", ECS_CONTAINER_METADATA_URI_V4: undefined };
    const plain = await runCli(args, env);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(emfRecords(plain.stdout + plain.stderr).length, 0);

    const asked = await runCli([...args, "--metrics-format", "emf"], env);
    assert.equal(asked.code, 0, asked.stderr);
    JSON.parse(asked.stdout); // stdout stays the report alone
    const records = emfRecords(asked.stderr);
    assert.deepEqual(
      records.map((r) => r["emf"]),
      ["cycle", "service", "service"],
    );
    for (const r of records) assert.deepEqual(emfProblems(r), []);
    assert.equal(emfValues(records[0]!)["Probes"], 4);
  });
});
