import { strict as assert } from "node:assert";
import type { CheckSpec } from "../checker/domain/types";
import { NetProber, offsetOf, probeTarget, runSpread } from "../checker/probe";
import { settled, startHttpTarget, startTcpTarget, type HttpTarget } from "./support/targets";

const HTTP: CheckSpec = {
  protocol: "http",
  path: "/health",
  port: undefined,
  expectedStatus: [{ min: 200, max: 399 }],
  timeoutMs: 300,
};

describe("probes against real loopback servers", () => {
  const prober = new NetProber({ now: () => Date.now() });
  let targets: HttpTarget[] = [];
  const start = async (opts: { host?: string; tls?: boolean } = {}): Promise<HttpTarget> => {
    const t = await startHttpTarget(opts);
    targets.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(targets.map((t) => t.close()));
    targets = [];
  });

  it("passes on 200 and sends the configured path", async () => {
    const t = await start({ host: "127.0.40.1" });
    const r = await prober.probe(t, { ...HTTP, path: "/ready?x=1" });
    assert.equal(r.ok, true);
    assert.equal(r.detail, "HTTP 200");
    assert.ok(r.latencyMs >= 0);
    assert.deepEqual(t.paths, ["/ready?x=1"]);
  });

  it("fails on a status outside the expected range, and accepts a custom range", async () => {
    const t = await start();
    t.mode = "fail";
    const r = await prober.probe(t, HTTP);
    assert.equal(r.ok, false);
    assert.equal(r.detail, "HTTP 500 (expected 200-399)");
    const custom = await prober.probe(t, { ...HTTP, expectedStatus: [{ min: 500, max: 599 }] });
    assert.equal(custom.ok, true);
    t.mode = "ok";
    t.status = 204;
    assert.equal(
      (await prober.probe(t, { ...HTTP, expectedStatus: [{ min: 200, max: 200 }] })).ok,
      false,
    );
  });

  it("times out a hanging target", async () => {
    const t = await start();
    t.mode = "hang";
    const r = await prober.probe(t, { ...HTTP, timeoutMs: 150 });
    assert.equal(r.ok, false);
    assert.equal(r.detail, "timeout after 150ms");
  });

  it("reports a refused connection", async () => {
    const t = await start();
    t.mode = "refuse";
    await settled(t);
    const r = await prober.probe(t, HTTP);
    assert.equal(r.ok, false);
    assert.equal(r.detail, "ECONNREFUSED");
    t.mode = "ok";
    await settled(t);
    assert.equal((await prober.probe(t, HTTP)).ok, true, "back on the same port");
  });

  it("opens a new connection for every probe (no keep-alive hiding a dead listener)", async () => {
    const t = await start();
    for (let i = 0; i < 3; i++) assert.equal((await prober.probe(t, HTTP)).ok, true);
    assert.equal(t.connections, 3);
  });

  it("probes HTTPS targets with self-signed certificates", async () => {
    const t = await start({ tls: true });
    const r = await prober.probe(t, { ...HTTP, protocol: "https" });
    assert.equal(r.ok, true, r.detail);
  });

  it("probes TCP: connected or refused", async () => {
    const tcp = await startTcpTarget({ host: "127.0.40.2" });
    const check: CheckSpec = { ...HTTP, protocol: "tcp" };
    assert.equal((await prober.probe(tcp, check)).ok, true);
    await tcp.close();
    const r = await prober.probe(tcp, check);
    assert.equal(r.ok, false);
    assert.equal(r.detail, "ECONNREFUSED");
  });

  it("gives up at once when aborted", async () => {
    const t = await start();
    t.mode = "hang";
    const ac = new AbortController();
    const pending = prober.probe(t, { ...HTTP, timeoutMs: 10_000 }, ac.signal);
    setTimeout(() => ac.abort(), 20);
    const r = await pending;
    assert.equal(r.ok, false);
    assert.equal(r.detail, "aborted");
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
  });

  it("explains what is wrong with a malformed instance", () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ AWS_INSTANCE_PORT: "80" }, /AWS_INSTANCE_IPV4 is missing/],
      [
        { AWS_INSTANCE_IPV6: "fd00::1", AWS_INSTANCE_PORT: "80" },
        /IPv6-only instance: not supported/,
      ],
      [{ AWS_INSTANCE_IPV4: "10.0.0.300", AWS_INSTANCE_PORT: "80" }, /not an IPv4 address/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1" }, /AWS_INSTANCE_PORT is missing/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "http" }, /not a port: "http"/],
      [{ AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "0" }, /not a port/],
    ];
    for (const [attrs, problem] of cases) {
      const t = probeTarget(attrs, HTTP);
      assert.equal(t.ok, false);
      if (!t.ok) assert.match(t.problem, problem);
    }
  });
});

describe("runSpread", () => {
  /** A fake sleep that advances a virtual clock and records when each item started. */
  function virtual() {
    let now = 0;
    return {
      sleep: async (ms: number) => {
        now += ms;
      },
      now: () => now,
    };
  }

  it("starts every item at its stable offset within the spread", async () => {
    const v = virtual();
    const keys = Array.from({ length: 200 }, (_, i) => `srv/i-${i}`);
    const startedAt = new Map<string, number>();
    const out = await runSpread(
      keys,
      { keyOf: (k) => k, spreadMs: 8000, concurrency: 1000, sleep: v.sleep, seed: "ns-1" },
      async (k) => {
        startedAt.set(k, v.now());
        return k.length;
      },
    );
    assert.equal(out.size, 200);
    for (const k of keys) {
      const offset = offsetOf(k, 8000, "ns-1");
      assert.ok(offset >= 0 && offset < 8000);
      assert.equal(startedAt.get(k), offset, "started at its own offset");
      assert.equal(offsetOf(k, 8000, "ns-1"), offset, "stable across cycles");
    }
    const spread = new Set([...startedAt.values()].map((t) => Math.floor(t / 1000)));
    assert.ok(spread.size >= 6, "spread over the interval, not a burst");
  });

  it("never exceeds the concurrency limit", async () => {
    let inFlight = 0;
    let max = 0;
    const out = await runSpread(
      Array.from({ length: 50 }, (_, i) => i),
      { keyOf: String, spreadMs: 0, concurrency: 4, sleep: async () => undefined },
      async (i) => {
        inFlight++;
        max = Math.max(max, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        return i;
      },
    );
    assert.equal(out.size, 50);
    assert.equal(max, 4);
  });

  it("skips items not yet started once aborted", async () => {
    const ac = new AbortController();
    const v = virtual();
    let ran = 0;
    const out = await runSpread(
      Array.from({ length: 100 }, (_, i) => `k${i}`),
      {
        keyOf: (k) => k,
        spreadMs: 10_000,
        concurrency: 10,
        signal: ac.signal,
        sleep: async (ms) => {
          await v.sleep(ms);
          if (v.now() > 5000) ac.abort();
        },
      },
      async () => ++ran,
    );
    assert.ok(ran > 0 && ran < 100, `ran ${ran}`);
    assert.equal(out.size, ran);
  });
});
