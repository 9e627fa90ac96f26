// The probe schedule: stable offsets over the interval, the concurrency cap, abort.

import { strict as assert } from "node:assert";
import { offsetOf, runSpread } from "../checker/probe";

describe("runSpread", () => {
  /** A virtual clock whose fake sleep advances it, and records every sleep. */
  function virtual() {
    let now = 0;
    const sleeps: number[] = [];
    return {
      sleeps,
      now: () => now,
      sleep: async (ms: number): Promise<void> => {
        sleeps.push(ms);
        now += ms;
      },
    };
  }
  const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => `srv-1/i-${i}`);

  it("starts every item at its stable offset within the spread", async () => {
    const v = virtual();
    const startedAt = new Map<string, number>();
    const out = await runSpread(
      keys(200),
      { keyOf: (k) => k, spreadMs: 8000, concurrency: 1000, sleep: v.sleep, seed: "ns-1" },
      async (k) => {
        startedAt.set(k, v.now());
        return k.length;
      },
    );
    assert.equal(out.size, 200);
    for (const k of keys(200)) {
      const offset = offsetOf(k, 8000, "ns-1");
      assert.ok(Number.isInteger(offset) && offset >= 0 && offset < 8000);
      assert.equal(startedAt.get(k), offset, "started at its own offset");
      assert.equal(out.get(k), k.length);
    }
    // The first cycle too is spread over the interval, not a burst.
    const seconds = new Set([...startedAt.values()].map((t) => Math.floor(t / 1000)));
    assert.equal(seconds.size, 8);
  });

  it("gives the same offsets for the same key and seed, others for another seed", async () => {
    const run = async (seed: string): Promise<Map<string, number>> => {
      const v = virtual();
      return runSpread(
        keys(50),
        { keyOf: (k) => k, spreadMs: 5000, concurrency: 8, sleep: v.sleep, now: v.now, seed },
        async () => v.now(),
      );
    };
    const a = await run("ns-a");
    assert.deepEqual(await run("ns-a"), a, "stable across cycles");
    const b = await run("ns-b");
    assert.ok(
      keys(50).some((k) => a.get(k) !== b.get(k)),
      "the seed moves the offsets",
    );
    assert.equal(offsetOf("x", 0), 0);
    assert.equal(offsetOf("x", 0.5), 0);
  });

  it("spreads keys that differ only in their last characters evenly over the spread", () => {
    // Instance keys as the checker builds them: a service ID, then a task ID, in sequence.
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const key = `srv-4f7c2b1a9e/${(0x3a5c0000 + i).toString(16).padStart(32, "0")}`;
      counts[Math.floor(offsetOf(key, 5000, "ns-abc") / 500)]!++;
    }
    for (const c of counts)
      assert.ok(c > 1800 && c < 2200, `2,000 a tenth, give or take 10 %: ${counts.join(" ")}`);
  });

  it("counts offsets from the origin: a late start keeps the period and starts passed items at once", async () => {
    const v = virtual();
    const origin = v.now();
    await v.sleep(3000); // the cycle's reads took 3 s
    const startedAt = new Map<string, number>();
    await runSpread(
      keys(100),
      { keyOf: (k) => k, spreadMs: 8000, concurrency: 1000, sleep: v.sleep, now: v.now, origin },
      async (k) => void startedAt.set(k, v.now()),
    );
    for (const k of keys(100)) {
      const offset = offsetOf(k, 8000);
      assert.equal(startedAt.get(k), Math.max(3000, offset), k);
    }
    assert.ok(Math.max(...startedAt.values()) < 8000, "the last start stays within the spread");
  });

  it("never exceeds the concurrency limit, and runs every item", async () => {
    for (const [concurrency, spreadMs] of [
      [4, 0],
      [1, 100],
      [7, 1000],
    ] as const) {
      let inFlight = 0;
      let max = 0;
      const out = await runSpread(
        Array.from({ length: 60 }, (_, i) => i),
        { keyOf: String, spreadMs, concurrency, sleep: async () => undefined },
        async (i) => {
          inFlight++;
          max = Math.max(max, inFlight);
          await new Promise((r) => setTimeout(r, 1));
          inFlight--;
          return i * 2;
        },
      );
      assert.equal(out.size, 60);
      assert.equal(out.get("59"), 118);
      assert.equal(max, concurrency, `concurrency ${concurrency}`);
    }
  });

  it("handles 20,000 items with one sleeper", async () => {
    const v = virtual();
    let maxPending = 0;
    let pendingSleeps = 0;
    const out = await runSpread(
      keys(20_000),
      {
        keyOf: (k) => k,
        spreadMs: 30_000,
        concurrency: 100,
        seed: "big",
        now: v.now,
        sleep: async (ms) => {
          pendingSleeps++;
          maxPending = Math.max(maxPending, pendingSleeps);
          await v.sleep(ms);
          pendingSleeps--;
        },
      },
      async () => 1,
    );
    assert.equal(out.size, 20_000);
    assert.equal(maxPending, 1, "one sleep at a time");
    assert.ok(v.sleeps.length <= 20_000 && v.sleeps.every((ms) => ms > 0));
    assert.ok(v.now() < 30_000);
  });

  it("skips items not yet started once aborted", async () => {
    const ac = new AbortController();
    const v = virtual();
    let ran = 0;
    const out = await runSpread(
      keys(100),
      {
        keyOf: (k) => k,
        spreadMs: 10_000,
        concurrency: 10,
        signal: ac.signal,
        now: v.now,
        sleep: async (ms) => {
          await v.sleep(ms);
          if (v.now() > 5000) ac.abort();
        },
      },
      async () => ++ran,
    );
    assert.ok(ran > 0 && ran < 100, `ran ${ran}`);
    assert.equal(out.size, ran);
    // Started: offset before the abort; skipped: offset at or after it.
    for (const k of keys(100)) {
      assert.equal(out.has(k), offsetOf(k, 10_000) <= 5000, k);
    }
  });

  it("on abort, starts nothing more and resolves once in-flight work settles", async () => {
    const ac = new AbortController();
    const started: string[] = [];
    const done = runSpread(
      keys(5),
      { keyOf: (k) => k, spreadMs: 0, concurrency: 2, signal: ac.signal, sleep: async () => {} },
      (k) => {
        started.push(k);
        // Like a probe: ends when aborted.
        return new Promise<string>((resolve) =>
          ac.signal.addEventListener("abort", () => resolve(k), { once: true }),
        );
      },
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(started.length, 2, "two in flight, the rest waiting for a slot");
    ac.abort();
    const out = await done;
    assert.equal(started.length, 2, "nothing started after the abort");
    assert.deepEqual([...out.keys()].sort(), [...started].sort());
  });

  it("leaves out items whose work fails, keeping the others", async () => {
    const out = await runSpread(
      ["a", "b", "c"],
      { keyOf: (k) => k, spreadMs: 0, concurrency: 2, sleep: async () => {} },
      async (k) => {
        if (k === "b") throw new Error("boom");
        return k.toUpperCase();
      },
    );
    assert.deepEqual([...out.entries()].sort(), [
      ["a", "A"],
      ["c", "C"],
    ]);
  });
});
