import { strict as assert } from "node:assert";
import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { CheckSpec } from "../checker/domain/types";
import { NetProber } from "../checker/probe";
import { healthRequest, servingStatus } from "../checker/probe/grpc";
import { startGrpcTarget, type GrpcTarget } from "./support/grpc-target";
import { h2Server } from "./support/h2-target";
import { checkSpec } from "./support/checks";

const GRPC: CheckSpec = checkSpec("grpc", 1000);
const H2: CheckSpec = { ...GRPC, protocol: "http2" };

interface Closable {
  close(): Promise<void>;
}

/** A TCP listener that accepts and never says a word (not even an HTTP/2 preface). */
async function silent(host: string): Promise<{ host: string; port: number } & Closable> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    host,
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

describe("gRPC health probes against real grpc-js servers", () => {
  const prober = new NetProber({ now: () => Date.now() });
  let open: Closable[] = [];
  const track = <T extends Closable>(t: T): T => (open.push(t), t);
  const target = async (opts: Parameters<typeof startGrpcTarget>[0] = {}): Promise<GrpcTarget> =>
    track(await startGrpcTarget(opts));
  afterEach(async () => {
    await Promise.all(open.map((t) => t.close()));
    open = [];
  });

  it("passes on SERVING and fails on NOT_SERVING, then passes again", async () => {
    const t = await target({ host: "127.0.50.1" });
    assert.deepEqual(pick(await prober.probe(t, GRPC)), [true, "gRPC SERVING"]);
    t.set("", "NOT_SERVING");
    assert.deepEqual(pick(await prober.probe(t, GRPC)), [false, "gRPC NOT_SERVING"]);
    t.set("", "UNKNOWN");
    assert.deepEqual(pick(await prober.probe(t, GRPC)), [false, "gRPC UNKNOWN"]);
    t.set("", "SERVING");
    assert.equal((await prober.probe(t, GRPC)).ok, true);
  });

  it("asks about the named service, and fails one the server does not know", async () => {
    const t = await target({ statuses: { "": "SERVING", "shop.Cart": "NOT_SERVING" } });
    const cart = { ...GRPC, grpcService: "shop.Cart" };
    assert.deepEqual(pick(await prober.probe(t, cart)), [false, "gRPC NOT_SERVING"]);
    t.set("shop.Cart", "SERVING");
    assert.deepEqual(pick(await prober.probe(t, cart)), [true, "gRPC SERVING"]);
    const r = await prober.probe(t, { ...GRPC, grpcService: "shop.Missing" });
    assert.equal(r.ok, false);
    assert.match(r.detail, /^gRPC SERVICE_UNKNOWN \(NOT_FOUND/);
    assert.equal(r.local, undefined, "the target's answer, not the checker's fault");
  });

  it("probes over TLS (grpcs) with a self-signed certificate, and plaintext fails against it", async () => {
    const t = await target({ host: "127.0.50.2", tls: true });
    assert.deepEqual(pick(await prober.probe(t, { ...GRPC, protocol: "grpcs" })), [
      true,
      "gRPC SERVING",
    ]);
    t.set("", "NOT_SERVING");
    assert.deepEqual(pick(await prober.probe(t, { ...GRPC, protocol: "grpcs" })), [
      false,
      "gRPC NOT_SERVING",
    ]);
    const plain = await prober.probe(t, { ...GRPC, timeoutMs: 500 });
    assert.equal(plain.ok, false);
    assert.equal(plain.local, undefined);
  });

  it("fails a gRPC server without the health service: UNIMPLEMENTED", async () => {
    const server = new grpc.Server();
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync("127.0.50.3:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    track({ close: () => new Promise<void>((r) => server.tryShutdown(() => r())) });
    const r = await prober.probe({ host: "127.0.50.3", port }, GRPC);
    assert.equal(r.ok, false);
    assert.match(r.detail, /^gRPC UNIMPLEMENTED/);
  });

  it("times out a listener that accepts and never answers, and closes the connection", async () => {
    const s = track(await silent("127.0.50.4"));
    const r = await prober.probe(s, { ...GRPC, timeoutMs: 200 });
    assert.deepEqual(pick(r), [false, "timeout after 200ms"]);
    assert.ok(r.latencyMs < 1000);
  });

  it("times out an HTTP/2 server that takes the call and never replies", async () => {
    const s = track(await h2Server("127.0.50.5", () => undefined));
    const r = await prober.probe(s, { ...GRPC, timeoutMs: 200 });
    assert.deepEqual(pick(r), [false, "timeout after 200ms"]);
    await eventually(() => s.open === 0, "the probe's session is closed");
  });

  it("fails a server that sends headers and a SERVING message but never ends the call", async () => {
    const s = track(
      await h2Server("127.0.50.6", (_req, res) => {
        res.writeHead(200, { "content-type": "application/grpc" });
        res.write(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
      }),
    );
    const r = await prober.probe(s, { ...GRPC, timeoutMs: 200 });
    assert.deepEqual(pick(r), [false, "timeout after 200ms: gRPC response incomplete"]);
  });

  it("fails what is not a gRPC answer: HTTP/1.1 only, an HTTP/2 404, a non-gRPC body", async () => {
    const h1 = http.createServer((_q, res) => res.end("ok"));
    await new Promise<void>((r) => h1.listen(0, "127.0.50.7", r));
    track({
      close: () => {
        h1.closeAllConnections();
        return new Promise<void>((r) => h1.close(() => r()));
      },
    });
    const r1 = await prober.probe(
      { host: "127.0.50.7", port: (h1.address() as AddressInfo).port },
      GRPC,
    );
    assert.equal(r1.ok, false);
    assert.equal(r1.local, undefined, `an HTTP/1.1 answer is the target's: ${r1.detail}`);
    const s404 = track(
      await h2Server("127.0.50.8", (_q, res) => {
        res.writeHead(404);
        res.end();
      }),
    );
    assert.deepEqual(pick(await prober.probe(s404, GRPC)), [
      false,
      "HTTP/2 404: not a gRPC response",
    ]);
    const html = track(
      await h2Server("127.0.50.9", (_q, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<p>hi</p>");
      }),
    );
    assert.match((await prober.probe(html, GRPC)).detail, /^not a gRPC response/);
  });

  it("opens a fresh connection for every probe", async () => {
    const t = await target({ host: "127.0.50.10" });
    let connections = 0;
    const proxy = net.createServer((c) => {
      connections++;
      const up = net.connect(t.port, t.host);
      c.pipe(up).pipe(c);
      const end = (): void => (c.destroy(), void up.destroy());
      c.on("error", end).on("close", end);
      up.on("error", end).on("close", end);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.50.11", r));
    track({ close: () => new Promise<void>((r) => proxy.close(() => r())) });
    const via = { host: "127.0.50.11", port: (proxy.address() as AddressInfo).port };
    for (let i = 0; i < 3; i++) assert.equal((await prober.probe(via, GRPC)).ok, true);
    assert.equal(connections, 3);
  });

  it("gives up at once when aborted", async () => {
    const s = track(await silent("127.0.50.12"));
    const ac = new AbortController();
    const p = prober.probe(s, { ...GRPC, timeoutMs: 5000 }, ac.signal);
    setTimeout(() => ac.abort(), 20);
    const r = await p;
    assert.deepEqual(pick(r), [false, "aborted"]);
    assert.ok(r.latencyMs < 2000);
  });

  it("a refused connection is the target's failure", async () => {
    const s = await silent("127.0.50.13");
    await s.close();
    const r = await prober.probe(s, GRPC);
    assert.deepEqual([r.ok, r.detail, r.local], [false, "ECONNREFUSED", undefined]);
  });
});

describe("HTTP/2 probes against real HTTP/2 servers", () => {
  const prober = new NetProber({ now: () => Date.now() });
  let open: Closable[] = [];
  const track = <T extends Closable>(t: T): T => (open.push(t), t);
  afterEach(async () => {
    await Promise.all(open.map((t) => t.close()));
    open = [];
  });

  it("GETs the path over h2c and judges the status, a session per probe", async () => {
    const paths: string[] = [];
    let status = 200;
    const s = track(
      await h2Server("127.0.51.1", (req, res) => {
        paths.push(req.url);
        res.writeHead(status);
        res.end("ok");
      }),
    );
    assert.deepEqual(pick(await prober.probe(s, { ...H2, path: "/ready?x=1" })), [
      true,
      "HTTP/2 200",
    ]);
    status = 503;
    assert.deepEqual(pick(await prober.probe(s, H2)), [false, "HTTP/2 503 (expected 200-399)"]);
    assert.deepEqual(paths, ["/ready?x=1", "/health"]);
    assert.equal(s.sessions, 2);
    await eventually(() => s.open === 0, "each probe's session is closed");
  });

  it("probes over TLS with ALPN h2 (http2s), certificate not verified", async () => {
    const s = track(
      await h2Server(
        "127.0.51.2",
        (_q, res) => {
          res.writeHead(204);
          res.end();
        },
        true,
      ),
    );
    assert.deepEqual(pick(await prober.probe(s, { ...H2, protocol: "http2s" })), [
      true,
      "HTTP/2 204",
    ]);
  });

  it("times out a server that never answers, and judges by the status when the body stalls", async () => {
    const hang = track(await h2Server("127.0.51.3", () => undefined));
    assert.deepEqual(pick(await prober.probe(hang, { ...H2, timeoutMs: 200 })), [
      false,
      "timeout after 200ms",
    ]);
    const stall = track(
      await h2Server("127.0.51.4", (_q, res) => {
        res.writeHead(200);
        res.write("partial");
      }),
    );
    assert.deepEqual(pick(await prober.probe(stall, { ...H2, timeoutMs: 200 })), [
      true,
      "HTTP/2 200",
    ]);
    await eventually(() => stall.open === 0, "the stalled session is closed");
  });

  it("cuts off a huge body, and fails a stream reset before a response", async () => {
    const big = track(
      await h2Server("127.0.51.5", (_q, res) => {
        res.writeHead(200);
        const chunk = Buffer.alloc(16 * 1024, 0x61);
        const pump = (): void => {
          while (res.write(chunk));
          res.once("drain", pump);
        };
        pump();
      }),
    );
    assert.deepEqual(pick(await prober.probe(big, H2)), [true, "HTTP/2 200"]);
    const reset = track(
      await h2Server("127.0.51.6", (req) =>
        req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM),
      ),
    );
    const r = await prober.probe(reset, H2);
    assert.equal(r.ok, false);
    assert.equal(r.local, undefined, r.detail);
  });

  it("fails against an HTTP/1.1-only server, as the target's failure", async () => {
    const h1 = http.createServer((_q, res) => res.end("ok"));
    await new Promise<void>((r) => h1.listen(0, "127.0.51.7", r));
    track({
      close: () => {
        h1.closeAllConnections();
        return new Promise<void>((r) => h1.close(() => r()));
      },
    });
    const r = await prober.probe(
      { host: "127.0.51.7", port: (h1.address() as AddressInfo).port },
      { ...H2, timeoutMs: 500 },
    );
    assert.equal(r.ok, false);
    assert.equal(r.local, undefined, r.detail);
  });
});

describe("gRPC health messages", () => {
  it("encodes the request: empty for the whole server, field 1 for a named service", () => {
    assert.deepEqual([...healthRequest("")], [0, 0, 0, 0, 0]);
    assert.deepEqual([...healthRequest("a.B")], [0, 0, 0, 0, 5, 0x0a, 3, 0x61, 0x2e, 0x42]);
    const long = healthRequest("x".repeat(200));
    assert.deepEqual([...long.subarray(0, 7)], [0, 0, 0, 0, 203, 0x0a, 0xc8]);
  });

  it("decodes the status, skipping unknown fields, and refuses what is malformed", () => {
    assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01])), 1);
    assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 0])), 0, "proto3 leaves UNKNOWN out");
    assert.equal(
      servingStatus(Buffer.from([0, 0, 0, 0, 6, 0x12, 0x02, 0x68, 0x69, 0x08, 0x02])),
      2,
    );
    assert.match(String(servingStatus(Buffer.from([1, 0, 0, 0, 0]))), /compressed/);
    assert.match(String(servingStatus(Buffer.from([0, 0, 0, 0, 3, 0x08]))), /not one whole/);
    assert.match(String(servingStatus(Buffer.from([0, 0, 0, 0, 1, 0x08]))), /not a Health/);
    assert.match(String(servingStatus(Buffer.from([0, 0]))), /without a message/);
  });
});

function pick(r: { ok: boolean; detail: string }): [boolean, string] {
  return [r.ok, r.detail];
}
