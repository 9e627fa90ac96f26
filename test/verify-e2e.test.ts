// `verify` end to end: the real command (a process) against moto, with the real verify-echo and
// verify-client processes on loopback, a stand-in Service Connect proxy between them (Cloud Map
// with a lag, or no Cloud Map at all), the client's lines shipped to CloudWatch Logs in moto, and
// the stand-in `pulumi` the rollout tests use for the experiment's stack.

import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { VerifyResult } from "../programs/verify/flow";
import { shipLogs } from "./support/log-shipper";
import { moto } from "./support/root-hooks";
import { startScStandin, type ScStandin } from "./support/sc-standin";
import { ACCOUNT, REGION, World } from "./support/world";

const CHECKER = path.resolve(__dirname, "../checker/cli.js");
const ROLLOUT = path.resolve(__dirname, "../programs/rollout/cli.js");

describe("verify end to end (moto, stand-in Service Connect and Pulumi)", function () {
  this.timeout(120_000);
  let root: string;
  let logFile: string;
  let world: World;
  let cleanups: Array<() => Promise<void> | void>;
  let run = 0;

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), "pulumi-standin-"));
    mkdirSync(path.join(root, "bin"));
    const bin = path.join(root, "bin", "pulumi");
    copyFileSync(path.resolve(__dirname, "../../test/fixtures/pulumi-standin.js"), bin);
    chmodSync(bin, 0o755);
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  beforeEach(async () => {
    await moto().reset();
    world = await new World().init("verify.local");
    logFile = path.join(root, `calls-${Date.now()}.jsonl`);
    cleanups = [];
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const calls = (): string[][] =>
    existsSync(logFile)
      ? readFileSync(logFile, "utf8")
          .trim()
          .split("\n")
          .map((l) => (JSON.parse(l) as { args: string[] }).args)
      : [];
  const destroyed = (stack: string): boolean =>
    calls().some((a) => a[0] === "destroy" && a.includes(stack));

  function spawnNode(file: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [file, ...args], {
      env: { ...process.env, NODE_NO_WARNINGS: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    return child;
  }

  const firstLine = (child: ChildProcess): Promise<string> =>
    new Promise((resolve, reject) => {
      const rl = readline.createInterface({ input: child.stdout! });
      rl.once("line", (l) => {
        rl.close();
        resolve(l);
      });
      child.once("exit", (code) => reject(new Error(`exited ${code} before its first line`)));
    });

  /** The world a deployed experiment would be: echo tasks, their Cloud Map service, a client. */
  async function experiment(mode: "lag" | "ignore", lagMs: number, traffic = true) {
    const id = `e2e${++run}`;
    const discoveryName = `cmhc-verify-${id}`;
    const ecsName = `${discoveryName}-echo`;
    await world.createEcsService(ecsName, 2);
    const svc = await world.serviceConnectService(discoveryName, ecsName);
    const taskIds = await world.runTasks(ecsName, 2);
    // The ECS task metadata endpoint, one path per task.
    const metadata = http.createServer((req, res) => {
      const taskId = req.url?.split("/")[1] ?? "";
      res.end(JSON.stringify({ TaskARN: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/c1/${taskId}` }));
    });
    await new Promise<void>((r) => metadata.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => metadata.close(() => r())));
    const metaPort = (metadata.address() as AddressInfo).port;
    const tasks = [];
    for (const taskId of taskIds) {
      const echo = spawnNode(CHECKER, ["verify-echo", "--host", "127.0.0.1", "--port", "0"], {
        ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${metaPort}/${taskId}`,
      });
      const hello = JSON.parse(await firstLine(echo)) as { taskId: string; port: number };
      assert.equal(hello.taskId, taskId, "verify-echo names its task from the metadata endpoint");
      await world.registerTask(svc, taskId, { host: "127.0.0.1", port: hello.port });
      tasks.push({ taskId, port: hello.port });
    }
    const standin: ScStandin = await startScStandin({
      mode,
      lagMs,
      sd: world.sd,
      ecs: world.ecs,
      cluster: world.cluster,
      serviceId: svc.id,
      tasks,
    });
    cleanups.push(() => standin.close());
    const logGroupName = `/cmhc-verify/${id}`;
    const logs = new CloudWatchLogsClient({});
    if (traffic) {
      const client = spawnNode(CHECKER, [
        "verify-client",
        "--url",
        `http://127.0.0.1:${standin.port}/`,
        "--rate",
        "20",
      ]);
      await shipLogs(logs, client, logGroupName, `verify-client/verify/${id}`);
    }
    return { id, stack: discoveryName, discoveryName, logGroupName, taskIds, standin };
  }

  function verifyProcess(
    e: { id: string; stack: string; discoveryName: string; logGroupName: string },
    extra: string[] = [],
  ) {
    const child = spawnNode(
      ROLLOUT,
      [
        "verify",
        "--namespace",
        "verify.local",
        "--cluster",
        world.cluster,
        "--experiment-id",
        e.id,
        "--quiet",
        "2s",
        "--bound",
        "6s",
        "--start-timeout",
        "20s",
        "--poll",
        "250ms",
        "--pulumi-root",
        root,
        "--image",
        "example.com/cmhc:test",
        "--json",
        ...extra,
      ],
      {
        STANDIN_LOG: logFile,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        STANDIN_STACKS: JSON.stringify(["cmhc-verify-leftover"]),
        STANDIN_OUTPUTS: JSON.stringify({
          [e.stack]: { discoveryName: e.discoveryName, logGroupName: e.logGroupName },
        }),
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    return { child, exited, out: () => stdout, err: () => stderr };
  }

  it("reports deregistration honoured after about the proxy's lag, and cleans up", async () => {
    const e = await experiment("lag", 1500);
    const v = verifyProcess(e);
    const code = await v.exited;
    assert.equal(code, 0, v.err());
    const r = JSON.parse(v.out()) as VerifyResult;
    assert.ok(r.deregistration.ok, v.err());
    assert.ok(
      r.deregistration.afterS! >= 1 && r.deregistration.afterS! <= 4,
      `after ${r.deregistration.afterS} s`,
    );
    assert.ok(r.reRegistration.ok);
    assert.ok(r.stopTask.ok);
    assert.match(
      r.verdict,
      /^deregistration honoured after [\d.]+ s; re-registration after [\d.]+ s; StopTask drained in [\d.]+ s$/,
    );
    assert.deepEqual([r.taskA, r.taskB].sort(), [...e.taskIds].sort());
    assert.ok(destroyed("cmhc-verify-leftover"), "a leftover experiment is removed first");
    assert.ok(destroyed(e.stack), "the experiment is destroyed");
    assert.match(v.err(), /removing a leftover experiment: cmhc-verify-leftover/);
    assert.match(v.err(), /deregistered A/);
  });

  it("reports not honoured when the proxies ignore Cloud Map, and cleans up", async () => {
    const e = await experiment("ignore", 0);
    const v = verifyProcess(e);
    const code = await v.exited;
    assert.equal(code, 0, "the experiment ran: exit 0 whatever the verdict");
    const r = JSON.parse(v.out()) as VerifyResult;
    assert.equal(r.deregistration.ok, false);
    assert.match(r.verdict, /deregistration not honoured within 6 s: keep replacement on/);
    assert.ok(r.stopTask.ok, "StopTask still drains it");
    assert.ok(destroyed(e.stack));
  });

  it("cleans up on SIGINT mid-experiment and exits 130", async () => {
    const e = await experiment("lag", 0, false); // no client: it waits for traffic
    const v = verifyProcess(e);
    const deadline = Date.now() + 20_000;
    while (!/waiting for both echo tasks/.test(v.err()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(v.err(), /waiting for both echo tasks/);
    v.child.kill("SIGINT");
    assert.equal(await v.exited, 130, v.err());
    assert.ok(destroyed(e.stack), "destroyed on SIGINT");
    assert.match(v.err(), /SIGINT: stopping the experiment and cleaning up/);
  });
});
