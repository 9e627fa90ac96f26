import { strict as assert } from "node:assert";
import { getEventListeners } from "node:events";
import http from "node:http";
import type net from "node:net";
import type { AddressInfo } from "node:net";
import type { CheckSpec } from "../checker/domain/types";
import { isLocalError, NetProber, probeTarget } from "../checker/probe";
import {
  startHttpTarget,
  startTcpTarget,
  type HttpTarget,
  type TcpTarget,
} from "./support/targets";
import { INCOMPLETE_RESPONSES, startRawTarget, type RawTarget } from "./support/raw-target";
import { checkSpec } from "./support/checks";

const HTTP: CheckSpec = checkSpec("http", 1000);

/** Polls until `cond` holds (server-side socket state lags the client by a tick or two). */
async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

/** A one-off server for behaviours the switchable targets do not have. */
async function adHoc(handler: http.RequestListener): Promise<{
  host: string;
  port: number;
  close(): Promise<void>;
}> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.41.1", r));
  return {
    host: "127.0.41.1",
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe("probes against real loopback servers", () => {
  const prober = new NetProber({ now: () => Date.now() });
  let open: Array<{ close(): Promise<void> }> = [];
  const track = <T extends { close(): Promise<void> }>(t: T): T => {
    open.push(t);
    return t;
  };
  const http_ = async (opts: { host?: string; tls?: boolean } = {}): Promise<HttpTarget> =>
    track(await startHttpTarget(opts));
  const tcp = async (opts: { host?: string } = {}): Promise<TcpTarget> =>
    track(await startTcpTarget(opts));
  afterEach(async () => {
    await Promise.all(open.map((t) => t.close()));
    open = [];
  });

  it("passes on 200 and sends the configured path", async () => {
    const t = await http_({ host: "127.0.40.1" });
    const before = Date.now();
    const r = await prober.probe(t, { ...HTTP, path: "/ready?x=1" });
    assert.equal(r.ok, true);
    assert.equal(r.detail, "HTTP 200");
    assert.ok(r.latencyMs >= 0 && r.latencyMs < 1000);
    assert.ok(r.at >= before && r.at <= Date.now(), "at comes from the injected clock");
    assert.deepEqual(t.paths, ["/ready?x=1"]);
    assert.equal(t.requests, 1);
  });

  it("sends a GET with the checker's User-Agent and Connection: close", async () => {
    let seen: http.IncomingHttpHeaders = {};
    let method = "";
    const s = track(
      await adHoc((req, res) => {
        seen = req.headers;
        method = req.method ?? "";
        res.end("ok");
      }),
    );
    assert.equal((await prober.probe(s, HTTP)).ok, true);
    assert.equal(method, "GET");
    assert.equal(seen["user-agent"], "cloudmap-health-checker");
    assert.equal(seen.connection, "close");
  });

  it("fails on a status outside the expected range, and accepts a custom range", async () => {
    const t = await http_();
    t.mode = "fail";
    const r = await prober.probe(t, HTTP);
    assert.equal(r.ok, false);
    assert.equal(r.detail, "HTTP 500 (expected 200-399)");
    const custom = await prober.probe(t, {
      ...HTTP,
      expectedStatus: [
        { min: 200, max: 299 },
        { min: 500, max: 599 },
      ],
    });
    assert.equal(custom.ok, true);
    assert.equal(custom.detail, "HTTP 500");
    t.status(204);
    const exact = await prober.probe(t, { ...HTTP, expectedStatus: [{ min: 200, max: 200 }] });
    assert.deepEqual([exact.ok, exact.detail], [false, "HTTP 204 (expected 200)"]);
    t.mode = "ok";
    assert.equal((await prober.probe(t, HTTP)).detail, "HTTP 200");
  });

  it("times out a hanging target within the timeout, and closes its socket", async () => {
    const t = await http_();
    t.mode = "hang";
    const r = await prober.probe(t, { ...HTTP, timeoutMs: 200 });
    assert.equal(r.ok, false);
    assert.equal(r.detail, "timeout after 200ms");
    assert.ok(r.latencyMs >= 190 && r.latencyMs < 200 + 500, `latency ${r.latencyMs}`);
    assert.equal(t.requests, 1, "the request reached the server");
    await eventually(() => t.openConnections === 0, "probe socket destroyed");
  });

  it("reports a refused connection, and the target comes back on the same port", async () => {
    const t = await http_();
    t.mode = "refuse";
    await t.ready();
    const r = await prober.probe(t, HTTP);
    assert.equal(r.ok, false);
    assert.equal(r.detail, "ECONNREFUSED");
    t.mode = "ok";
    await t.ready();
    assert.equal((await prober.probe(t, HTTP)).ok, true, "back on the same port");
  });

  it("opens a new connection for every probe (no keep-alive hiding a dead listener)", async () => {
    const t = await http_();
    for (let i = 0; i < 3; i++) assert.equal((await prober.probe(t, HTTP)).ok, true);
    assert.equal(t.connections, 3);
    await eventually(() => t.openConnections === 0, "no connection left open");
  });

  it("probes HTTPS targets with self-signed certificates", async () => {
    const t = await http_({ host: "127.0.40.3", tls: true });
    const r = await prober.probe(t, { ...HTTP, protocol: "https", path: "/tls" });
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.detail, "HTTP 200");
    assert.deepEqual(t.paths, ["/tls"]);
    t.mode = "fail";
    assert.equal((await prober.probe(t, { ...HTTP, protocol: "https" })).ok, false);
    assert.equal(t.connections, 2);
  });

  it("probes TCP: connected or refused", async () => {
    const t = await tcp({ host: "127.0.40.2" });
    const check: CheckSpec = { ...HTTP, protocol: "tcp" };
    const r = await prober.probe(t, check);
    assert.deepEqual([r.ok, r.detail], [true, "TCP connected"]);
    t.mode = "refuse";
    await t.ready();
    const refused = await prober.probe(t, check);
    assert.deepEqual([refused.ok, refused.detail], [false, "ECONNREFUSED"]);
    t.mode = "ok";
    await t.ready();
    assert.equal((await prober.probe(t, check)).ok, true);
    assert.equal(t.connections, 2);
    await eventually(() => t.openConnections === 0, "probe socket destroyed");
  });

  it("gives up at once when aborted, and does not start when already aborted", async () => {
    const t = await http_();
    t.mode = "hang";
    const ac = new AbortController();
    const pending = prober.probe(t, { ...HTTP, timeoutMs: 10_000 }, ac.signal);
    setTimeout(() => ac.abort(), 50);
    const r = await pending;
    assert.deepEqual([r.ok, r.detail], [false, "aborted"]);
    assert.ok(r.latencyMs < 2000, `latency ${r.latencyMs}`);
    await eventually(() => t.openConnections === 0, "probe socket destroyed");
    const again = await prober.probe(t, HTTP, AbortSignal.abort());
    assert.deepEqual([again.ok, again.detail], [false, "aborted"]);
    assert.equal(t.connections, 1, "no connection for an aborted probe");
  });

  it("probes sharing one signal add one listener to it, and its abort ends each in flight", async () => {
    const t = await http_();
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) assert.equal((await prober.probe(t, HTTP, ac.signal)).ok, true);
    assert.equal(getEventListeners(ac.signal, "abort").length, 1, "one listener, not one a probe");
    t.mode = "hang";
    const pending = Array.from({ length: 5 }, () =>
      prober.probe(t, { ...HTTP, timeoutMs: 10_000 }, ac.signal),
    );
    await eventually(() => t.openConnections === 5, "five probes waiting on the target");
    ac.abort();
    for (const r of await Promise.all(pending))
      assert.deepEqual([r.ok, r.detail], [false, "aborted"]);
    await eventually(() => t.openConnections === 0, "probe sockets destroyed");
  });

  it("cuts off a huge body without buffering it", async () => {
    const chunk = Buffer.alloc(64 * 1024, "x");
    const s = track(
      await adHoc((_req, res) => {
        res.writeHead(200);
        // An endless body: the probe must hang up rather than read it all.
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once("drain", pump);
        };
        pump();
      }),
    );
    const r = await prober.probe(s, { ...HTTP, timeoutMs: 5000 });
    assert.deepEqual([r.ok, r.detail], [true, "HTTP 200"]);
    assert.ok(r.latencyMs < 2000, `latency ${r.latencyMs}`);
  });

  it("judges by the status when the body stalls past the deadline", async () => {
    const s = track(
      await adHoc((_req, res) => {
        res.writeHead(503);
        res.write("partial");
      }),
    );
    const r = await prober.probe(s, { ...HTTP, timeoutMs: 200 });
    assert.deepEqual([r.ok, r.detail], [false, "HTTP 503 (expected 200-399)"]);
  });

  /** A raw TCP server that answers every connection with `script`, written piece by piece. */
  const rawServer = async (script: (socket: net.Socket) => void): Promise<RawTarget> =>
    track(await startRawTarget("127.0.42.1", script));

  it("finishes on the response's framing even when the server keeps the connection open", async () => {
    // A server that ignores `Connection: close`: Content-Length, then chunked, never closing.
    const sized = await rawServer((s) =>
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"),
    );
    const chunked = await rawServer((s) => {
      s.write("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe");
      setTimeout(() => s.write("llo\r\n0\r\n\r\n"), 20);
    });
    const a = await prober.probe(sized, { ...HTTP, timeoutMs: 3000 });
    assert.deepEqual([a.ok, a.detail], [true, "HTTP 200"]);
    assert.ok(a.latencyMs < 1000, `done at the end of the body, not the timeout: ${a.latencyMs}`);
    const b = await prober.probe(chunked, { ...HTTP, timeoutMs: 3000 });
    assert.deepEqual([b.ok, b.detail], [false, "HTTP 404 (expected 200-399)"]);
    assert.ok(b.latencyMs < 1000, `done at the last chunk: ${b.latencyMs}`);
  });

  it("skips informational responses and judges the final one", async () => {
    const hints = await rawServer((s) => {
      s.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
      setTimeout(() => s.end("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"), 10);
    });
    const r = await prober.probe(hints, HTTP);
    assert.deepEqual([r.ok, r.detail], [false, "HTTP 503 (expected 200-399)"]);
  });

  it("reads a status line split across packets, and refuses what is not HTTP", async () => {
    const split = await rawServer((s) => {
      s.write("HTT");
      setTimeout(() => s.write("P/1.1 2"), 10);
      setTimeout(() => s.end("04 No Content\r\n\r\n"), 20);
    });
    const r = await prober.probe(split, HTTP);
    assert.deepEqual([r.ok, r.detail], [true, "HTTP 204"]);
    const ssh = await rawServer((s) => s.write("SSH-2.0-OpenSSH_9.6\r\n"));
    const bad = await prober.probe(ssh, HTTP);
    assert.deepEqual([bad.ok, bad.detail], [false, "not an HTTP/1.x response"]);
    const silent = await rawServer((s) => s.end());
    const closed = await prober.probe(silent, HTTP);
    assert.deepEqual([closed.ok, closed.detail], [false, "connection closed before a response"]);
  });

  for (const bad of INCOMPLETE_RESPONSES) {
    it(`fails ${bad.name}: no verdict before the headers end`, async () => {
      const s = await rawServer(bad.script);
      const r = await prober.probe(s, { ...HTTP, timeoutMs: 300 });
      assert.deepEqual([r.ok, r.detail], [false, bad.detail(300)]);
      assert.equal("local" in r, false, "the target's failure");
    });
  }

  it("judges a head split across packets, even inside its end, and one of bare LF lines", async () => {
    const split = await rawServer((s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Le");
      setTimeout(() => s.write("ngth: 2\r\n\r"), 10);
      setTimeout(() => s.write("\nok"), 20);
    });
    const r = await prober.probe(split, { ...HTTP, timeoutMs: 3000 });
    assert.deepEqual([r.ok, r.detail], [true, "HTTP 200"]);
    const lf = await rawServer((s) => s.write("HTTP/1.1 503 Busy\nContent-Length: 0\n\n"));
    const b = await prober.probe(lf, { ...HTTP, timeoutMs: 3000 });
    assert.deepEqual([b.ok, b.detail], [false, "HTTP 503 (expected 200-399)"]);
  });

  it("fails headers longer than the cap, whatever their status", async () => {
    const big = await rawServer((s) =>
      s.write(`HTTP/1.1 200 OK\r\n${"X-Filler: 0123456789abcdef\r\n".repeat(1000)}`),
    );
    const r = await prober.probe(big, HTTP);
    assert.deepEqual([r.ok, r.detail], [false, "response headers longer than 16384 bytes"]);
  });

  it("skips a 100 Continue in the same packet, and fails an informational head cut short", async () => {
    const both = await rawServer((s) =>
      s.end("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    );
    const r = await prober.probe(both, HTTP);
    assert.deepEqual([r.ok, r.detail], [true, "HTTP 200"]);
    const cut = await rawServer((s) => s.end("HTTP/1.1 103 Early Hints\r\nLink: </a.css>"));
    const c = await prober.probe(cut, HTTP);
    assert.equal(c.ok, false);
    assert.match(c.detail, /^connection closed before the response headers ended/);
  });

  it("marks a path it cannot send as the checker's own failure, sending nothing", async () => {
    const s = await rawServer((sock) => sock.end("HTTP/1.1 200 OK\r\n\r\n"));
    for (const path of ["/héalth", "/a b", "health"]) {
      const r = await prober.probe(s, { ...HTTP, path });
      assert.deepEqual([r.ok, r.local], [false, true], path);
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.connections, 0, "no connection");
    assert.equal(s.bytesReceived, 0, "no byte reached the target");
  });

  it("reports refusals, handshake failures and bad statuses as the target's, not local", async () => {
    const t = await http_();
    t.mode = "refuse";
    await t.ready();
    const refused = await prober.probe(t, HTTP);
    assert.deepEqual(Object.keys(refused).sort(), ["at", "detail", "latencyMs", "ok"]);
    assert.equal(refused.detail, "ECONNREFUSED");
    const plain = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\n\r\n"));
    const tls = await prober.probe(plain, { ...HTTP, protocol: "https" });
    assert.match(tls.detail, /^ERR_SSL_/);
    assert.equal("local" in tls, false, tls.detail);
    t.mode = "fail";
    await t.ready();
    assert.equal("local" in (await prober.probe(t, HTTP)), false);
  });

  it("reports a probe that throws as the checker's own failure", async () => {
    const s = await rawServer(() => undefined);
    // Not a real signal: reading it throws inside the probe, before any socket exists.
    const broken = {
      get aborted(): boolean {
        throw new Error("signal broke");
      },
    } as unknown as AbortSignal;
    const r = await prober.probe(s, { ...HTTP, timeoutMs: 50 }, broken);
    assert.deepEqual([r.ok, r.detail, r.local], [false, "signal broke", true]);
    assert.equal(s.connections, 0);
  });

  it("reports bad input as a failed probe instead of throwing", async () => {
    const t = await http_();
    const r = await prober.probe(t, { ...HTTP, path: "/a b" });
    assert.equal(r.ok, false);
    assert.match(r.detail, /ERR_UNESCAPED_CHARACTERS/);
    assert.equal(t.connections, 0, "no connection for a bad path");
    const bad = await prober.probe(
      { host: "127.0.0.1", port: 70000 },
      { ...HTTP, protocol: "tcp" },
    );
    assert.equal(bad.ok, false);
    assert.match(bad.detail, /PORT/i);
    assert.equal(bad.local, true, "Node refused the port before any I/O: the checker's fault");
  });
});

describe("isLocalError", () => {
  it("blames the checker for exhausted resources and Node's own argument errors only", () => {
    for (const code of ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EADDRNOTAVAIL", "EADDRINUSE"]) {
      assert.equal(isLocalError(code), true, code);
    }
    for (const code of ["ERR_INVALID_ARG_VALUE", "ERR_SOCKET_BAD_PORT", "ERR_INVALID_IP_ADDRESS"]) {
      assert.equal(isLocalError(code), true, code);
    }
    for (const code of [
      "ECONNREFUSED",
      "ECONNRESET",
      "EHOSTUNREACH",
      "ENETUNREACH",
      "ETIMEDOUT",
      "EPIPE",
      "ERR_SSL_WRONG_VERSION_NUMBER",
      "ERR_TLS_CERT_ALTNAME_INVALID",
      "ERR_OSSL_ASN1_WRONG_TAG",
      "ERRNO",
      undefined,
    ]) {
      assert.equal(isLocalError(code), false, String(code));
    }
  });
});

describe("probeTarget", () => {
  it("uses AWS_INSTANCE_IPV4 and AWS_INSTANCE_PORT, or the configured port", () => {
    const attrs = { AWS_INSTANCE_IPV4: "10.1.2.3", AWS_INSTANCE_PORT: "8080" };
    assert.deepEqual(probeTarget(attrs, HTTP), { ok: true, host: "10.1.2.3", port: 8080 });
    assert.deepEqual(probeTarget(attrs, { ...HTTP, port: 9000 }), {
      ok: true,
      host: "10.1.2.3",
      port: 9000,
    });
    assert.deepEqual(probeTarget({ AWS_INSTANCE_IPV4: "10.1.2.3" }, { ...HTTP, port: 9000 }), {
      ok: true,
      host: "10.1.2.3",
      port: 9000,
    });
    const dual = { ...attrs, AWS_INSTANCE_IPV6: "fd00::1" };
    assert.deepEqual(probeTarget(dual, HTTP), { ok: true, host: "10.1.2.3", port: 8080 });
  });

  it("explains what is wrong with a malformed instance", () => {
    const cases: Array<[Record<string, string>, RegExp, CheckSpec?]> = [
      [{ AWS_INSTANCE_PORT: "80" }, /AWS_INSTANCE_IPV4 is missing/],
      [
        { AWS_INSTANCE_IPV6: "fd00::1", AWS_INSTANCE_PORT: "80" },
        /^IPv6-only instance: not supported$/,
      ],
      [
        { AWS_INSTANCE_IPV4: "10.0.0.300", AWS_INSTANCE_PORT: "80" },
        /AWS_INSTANCE_IPV4 is not an IPv4 address: "10.0.0.300"/,
      ],
      [{ AWS_INSTANCE_IPV4: "fd00::1", AWS_INSTANCE_PORT: "80" }, /not an IPv4 address/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1" }, /AWS_INSTANCE_PORT is missing/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "http" }, /not a port.*"http"/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "0" }, /AWS_INSTANCE_PORT.*"0"/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "65536" }, /not a port/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80.5" }, /not a port/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1" }, /check port is not a port/, { ...HTTP, port: 0 }],
    ];
    for (const [attrs, problem, check] of cases) {
      const t = probeTarget(attrs, check ?? HTTP);
      assert.equal(t.ok, false, JSON.stringify(attrs));
      if (!t.ok) assert.match(t.problem, problem);
    }
  });
});
