// The checker image's verify modes as real processes on loopback, and the pure reading of the
// client's one-second lines.

import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import readline from "node:readline";
import type { TrafficLine } from "../checker/verify/client";
import { allReached, quietAfter, trafficAfter } from "../programs/verify/measure";

const CLI = path.resolve(__dirname, "../checker/cli.js");

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, NODE_NO_WARNINGS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

const lines = (child: ChildProcess, n: number): Promise<string[]> =>
  new Promise((resolve) => {
    const out: string[] = [];
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on("line", (l) => {
      out.push(l);
      if (out.length === n) {
        rl.close();
        resolve(out);
      }
    });
  });

const exit = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => child.once("exit", (code) => resolve(code)));

describe("verify modes (real processes on loopback)", function () {
  this.timeout(30_000);
  const children: ChildProcess[] = [];
  let metadata: http.Server;
  let metaPort: number;

  before(async () => {
    metadata = http.createServer((req, res) => {
      if (req.url === "/broken/task") return void res.writeHead(500).end();
      res.end(JSON.stringify({ TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/c1/abc123" }));
    });
    await new Promise<void>((r) => metadata.listen(0, "127.0.0.1", () => r()));
    metaPort = (metadata.address() as AddressInfo).port;
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  });
  after(() => new Promise<void>((r) => metadata.close(() => r())));

  it("verify-echo answers every path with its task ID, and exits 0 on SIGTERM", async () => {
    const echo = start(["verify-echo", "--host", "127.0.0.1", "--port", "0"], {
      ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${metaPort}/ok`,
    });
    children.push(echo);
    const [hello] = await lines(echo, 1);
    const { port, taskId } = JSON.parse(hello!) as { port: number; taskId: string };
    assert.equal(taskId, "abc123");
    for (const p of ["/", "/any/path?x=1"]) {
      const res = await fetch(`http://127.0.0.1:${port}${p}`);
      assert.deepEqual(await res.json(), { task: "abc123" });
    }
    echo.kill("SIGTERM");
    assert.equal(await exit(echo), 0);
  });

  it("verify-echo fails to start without its task's metadata", async () => {
    const none = start(["verify-echo", "--port", "0"], { ECS_CONTAINER_METADATA_URI_V4: "" });
    let err = "";
    none.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    assert.notEqual(await exit(none), 0);
    assert.match(err, /ECS_CONTAINER_METADATA_URI_V4 is not set/);
    const broken = start(["verify-echo", "--port", "0"], {
      ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${metaPort}/broken`,
    });
    let err2 = "";
    broken.stderr!.on("data", (d: Buffer) => (err2 += d.toString()));
    assert.notEqual(await exit(broken), 0);
    assert.match(err2, /answered HTTP 500/);
  });

  it("verify-client logs a line a second: answers by task, and errors by kind", async () => {
    const echo = start(["verify-echo", "--host", "127.0.0.1", "--port", "0"], {
      ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${metaPort}/ok`,
    });
    children.push(echo);
    const { port } = JSON.parse((await lines(echo, 1))[0]!) as { port: number };
    const client = start(["verify-client", "--url", `http://127.0.0.1:${port}/`, "--rate", "20"]);
    children.push(client);
    const got = (await lines(client, 3)).map((l) => JSON.parse(l) as TrafficLine);
    for (const l of got) assert.equal(l.kind, "verify-traffic");
    const last = got[2]!;
    assert.ok(last.sent >= 15 && last.sent <= 25, `sent ${last.sent} in a second`);
    assert.ok(last.counts["abc123"]! >= 15, JSON.stringify(last));
    assert.equal(last.errors, 0);
    // The echo goes away: the client keeps sending and counts refusals.
    echo.kill("SIGKILL");
    await exit(echo);
    const after = (await lines(client, 3)).map((l) => JSON.parse(l) as TrafficLine);
    const dead = after[2]!;
    assert.equal(Object.keys(dead.counts).length, 0);
    assert.ok(dead.errors >= 15);
    assert.ok((dead.errorKinds?.["ECONNREFUSED"] ?? 0) >= 15, JSON.stringify(dead));
    client.kill("SIGTERM");
    assert.equal(await exit(client), 0);
  });

  it("refuses bad flags with exit 2, naming the flag", async () => {
    for (const [args, flag] of [
      [["verify-client", "--url", "ftp://x/"], "--url"],
      [["verify-client", "--url", "http://x/", "--rate", "0"], "--rate"],
      [["verify-echo", "--port", "70000"], "--port"],
    ] as const) {
      const c = start([...args]);
      let err = "";
      c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      assert.equal(await exit(c), 2, args.join(" "));
      assert.match(err, new RegExp(flag.replace(/-/g, "\\-")));
    }
  });
});

describe("reading the client's lines", () => {
  const T0 = 1_000_000;
  const line = (s: number, counts: Record<string, number>): TrafficLine => ({
    kind: "verify-traffic",
    at: T0 + s * 1000,
    sent: 20,
    counts,
    errors: 0,
  });

  it("finds when a task went quiet, only while others were served", () => {
    const ls = [
      line(1, { a: 10, b: 10 }),
      line(2, { a: 5, b: 15 }), // the deregistration at +1.5 s: a still served until +2 s
      line(3, { b: 20 }),
      line(4, { b: 20 }),
      line(5, { b: 20 }),
    ];
    assert.deepEqual(quietAfter(ls, "a", T0 + 1500, 2000), { kind: "quiet", afterMs: 500 });
    assert.deepEqual(quietAfter(ls, "a", T0 + 1500, 5000), { kind: "waiting" });
    // A client that stopped being served proves nothing: seconds without answers do not count.
    const silent = [line(1, { a: 10 }), line(2, {}), line(3, {}), line(4, {}), line(5, { b: 1 })];
    assert.deepEqual(quietAfter(silent, "a", T0 + 1000, 2000), { kind: "waiting" });
    // Traffic that comes back resets the quiet run.
    const flap = [1, 2, 3, 4, 5, 6].map((k) => line(k, k === 3 ? { a: 1, b: 9 } : { b: 9 }));
    assert.deepEqual(quietAfter(flap, "a", T0, 3000), { kind: "quiet", afterMs: 3000 });
    assert.deepEqual(quietAfter(flap.slice(0, 5), "a", T0, 3000), { kind: "waiting" });
  });

  it("finds when traffic returned, and whether every task was reached", () => {
    const ls = [line(1, { b: 10 }), line(2, { b: 10 }), line(3, { a: 2, b: 8 })];
    assert.equal(trafficAfter(ls, "a", T0 + 1200), 1800);
    assert.equal(trafficAfter(ls, "c", T0), undefined);
    assert.equal(allReached(ls, ["a", "b"]), true);
    assert.equal(allReached(ls.slice(0, 2), ["a", "b"]), false);
    assert.equal(allReached([], ["a"]), false);
  });
});
