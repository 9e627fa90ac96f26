// A probe's deadline on a checker whose event loop is blocked: the target runs in a worker
// thread (its own event loop), so it answers while the checker's thread is busy. An answer that
// arrived in time is read before the deadline is judged; a deadline that fired late is the
// checker's failure (local), which decides nothing about the target.

import { strict as assert } from "node:assert";
import { Worker } from "node:worker_threads";
import type { CheckSpec } from "../checker/domain/types";
import { NetProber } from "../checker/probe";
import { deadlineOutcome, lateLimitMs } from "../checker/probe/outcome";
import { checkSpec } from "./support/checks";

const TARGET = `
const http = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const server = http.createServer((req, res) => {
  parentPort.postMessage("request");
  if (workerData.mode === "answer") res.end("ok");
});
server.listen(0, "127.0.42.1", () => parentPort.postMessage(server.address().port));
`;

interface ThreadTarget {
  readonly port: number;
  /** Resolves when the target has read a request. */
  readonly requested: Promise<void>;
  close(): Promise<void>;
}

async function threadTarget(mode: "answer" | "hang"): Promise<ThreadTarget> {
  const worker = new Worker(TARGET, { eval: true, workerData: { mode } });
  let requested!: () => void;
  const got = new Promise<void>((r) => (requested = r));
  const port = await new Promise<number>((resolve, reject) => {
    worker.on("message", (m: unknown) => (m === "request" ? requested() : resolve(m as number)));
    worker.once("error", reject);
  });
  return { port, requested: got, close: () => worker.terminate().then(() => undefined) };
}

/** Blocks this thread's event loop, as a saturated checker or a long GC pause does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

const CHECK: CheckSpec = checkSpec("http", 200);

describe("probe deadline on a busy checker", () => {
  const prober = new NetProber({ now: () => Date.now() });
  let target: ThreadTarget | undefined;
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });

  it("passes an answer that arrived in time but waited unread behind a busy checker", async () => {
    target = await threadTarget("answer");
    const probe = prober.probe({ host: "127.0.42.1", port: target.port }, CHECK);
    await target.requested;
    busy(400); // the answer lands meanwhile; the deadline (200 ms) is due before it is read
    const r = await probe;
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.detail, "HTTP 200");
  });

  it("calls a deadline that fired late the checker's failure, not the target's", async () => {
    target = await threadTarget("hang");
    const probe = prober.probe({ host: "127.0.42.1", port: target.port }, CHECK);
    await target.requested;
    busy(400);
    const r = await probe;
    assert.equal(r.ok, false);
    assert.equal(r.local, true);
    assert.match(r.detail, /^timeout after 200ms, not the target's: the checker was busy/);
  });

  it("blames a target that hangs while the checker is idle", async () => {
    target = await threadTarget("hang");
    const r = await prober.probe({ host: "127.0.42.1", port: target.port }, CHECK);
    assert.equal(r.ok, false);
    assert.equal(r.local, undefined);
    assert.equal(r.detail, "timeout after 200ms");
  });

  it("judges lateness against a quarter of the timeout, 100 ms at least", () => {
    assert.equal(lateLimitMs(2000), 500);
    assert.equal(lateLimitMs(100), 100);
    assert.equal(lateLimitMs(600), 150);
    assert.deepEqual(deadlineOutcome(2000, 499, "no response head"), {
      ok: false,
      detail: "timeout after 2000ms: no response head",
    });
    const late = deadlineOutcome(2000, 500, "no response head");
    assert.equal(late.local, true);
    assert.match(late.detail, /\(deadline 500ms late\)$/);
  });
});
