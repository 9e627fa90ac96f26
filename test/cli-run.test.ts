// The CLI as users and the container run it: `once` prints a report, `run` serves its
// endpoints, acts, and stops cleanly on SIGTERM.

import { strict as assert } from "node:assert";
import { ListInstancesCommand } from "@aws-sdk/client-servicediscovery";
import { freePort } from "./support/moto";
import { moto } from "./support/root-hooks";
import { runCli, startCli } from "./support/cli-process";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World } from "./support/world";

describe("CLI against moto", function () {
  this.timeout(60_000);
  let world: World;
  let targets: HttpTarget[];
  let taskIds: string[];
  let serviceId: string;

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init("shop.local");
    const api = await world.serviceConnectService("api");
    serviceId = api.id;
    taskIds = await world.runTasks("api", 3);
    targets = [];
    for (const [i, id] of taskIds.entries()) {
      const t = await startHttpTarget({ host: `127.0.50.${i + 1}` });
      targets.push(t);
      await world.registerTask(api, id, t);
    }
  });
  afterEach(async () => Promise.all(targets.map((t) => t.close())));

  it("`once` runs one cycle and prints a JSON report of observations", async () => {
    targets[0]!.mode = "fail";
    const r = await runCli(
      ["once", "--namespace", "shop.local", "--interval", "1s", "--timeout", "300ms"],
      {
        NODE_NO_WARNINGS: "1",
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      namespace: { name: string };
      services: Array<{
        name: string;
        instances: Array<{ instanceId: string; probe: { ok: boolean } }>;
      }>;
      actions: unknown[];
    };
    assert.equal(report.namespace.name, "shop.local");
    const api = report.services.find((s) => s.name === "api")!;
    assert.equal(api.instances.length, 3);
    const failing = api.instances.find((i) => i.instanceId === taskIds[0])!;
    assert.equal(failing.probe.ok, false);
    assert.deepEqual(report.actions, [], "one failure is below the threshold");
  });

  it("`once` exits 1 when AWS cannot be reached (not a setting to fix)", async () => {
    const closed = await freePort();
    const r = await runCli(["once", "--namespace", "shop.local"], {
      NODE_NO_WARNINGS: "1",
      AWS_ENDPOINT_URL: `http://127.0.0.1:${closed}`,
      AWS_MAX_ATTEMPTS: "1",
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the cycle could not run/);
    assert.match(r.stderr, /ECONNREFUSED/);
  });

  it("`run` serves its endpoints, takes a failing task out, and exits 0 soon after SIGTERM", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    targets[1]!.mode = "fail";
    const cli = startCli(["run", "--namespace", "shop.local"], {
      NODE_NO_WARNINGS: "1",
      CMHC_INTERVAL: "400ms",
      CMHC_TIMEOUT: "200ms",
      CMHC_UNHEALTHY_THRESHOLD: "2",
      CMHC_STARTUP_GRACE: "0s",
      CMHC_LISTEN: `127.0.0.1:${port}`,
    });
    try {
      const deadline = Date.now() + 20_000;
      let gone = false;
      while (!gone && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        const out = await world.sd.send(new ListInstancesCommand({ ServiceId: serviceId }));
        gone = !(out.Instances ?? []).some((i) => i.Id === taskIds[1]);
      }
      assert.ok(gone, `the failing task was not deregistered:\n${cli.output()}`);
      // Decided as its probe landed: the gauges and the instance list follow when that cycle
      // ends, so wait for the next cycle to complete.
      const lastCycle = async (): Promise<string | undefined> =>
        (
          (await (await fetch(`${base}/status?instances=false`)).json()) as {
            lastCycle?: { startedAt: string };
          }
        ).lastCycle?.startedAt;
      const seen = await lastCycle();
      while ((await lastCycle()) === seen && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }

      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /cmhc_actions_total\{service="api",kind="deregister",outcome="ok"\} 1/);
      assert.match(metrics, /cmhc_probes_total\{service="api",result="failure"\} [1-9]/);
      assert.match(
        metrics,
        /cmhc_instances\{service="api",verdict="healthy",in_rotation="true"\} 2/,
      );
      assert.match(metrics, /cmhc_cycle_duration_seconds_count [1-9]/);
      const status = (await (await fetch(`${base}/status`)).json()) as {
        instances: Array<{
          instanceId: string;
          inRotation: boolean;
          lastProbe: { detail: string };
        }>;
        recentActions: Array<{ kind: string; instanceId: string; reason: string }>;
      };
      const removed = status.instances.find((i) => i.instanceId === taskIds[1])!;
      assert.equal(removed.inRotation, false);
      assert.match(removed.lastProbe.detail, /HTTP 500/);
      assert.equal(status.recentActions[0]!.instanceId, taskIds[1]);
      const brief = (await (await fetch(`${base}/status?instances=false`)).json()) as Record<
        string,
        unknown
      >;
      assert.equal(brief["instances"], undefined, "?instances=false leaves the list out");
      assert.deepEqual(brief["recentActions"], status.recentActions);

      // Logs are JSON lines, and the action names service, instance and reason.
      const action = cli
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l["msg"] === "deregister instance");
      assert.ok(action, "the deregistration is logged");
      assert.equal(action["service"], "api");
      assert.equal(action["instanceId"], taskIds[1]);
      assert.match(String(action["reason"]), /consecutive failed checks/);
    } finally {
      const sent = Date.now();
      cli.child.kill("SIGTERM");
      const code = await cli.exited;
      assert.equal(code, 0);
      assert.ok(Date.now() - sent < 5000, "exits within a few seconds of SIGTERM");
    }
  });
});
