// The loop on a clock the test drives: a cycle per interval, and a jittered back-off after
// failed cycles that never acts and never waits less than an interval.

import { strict as assert } from "node:assert";
import { runLoop } from "../checker/cycle/run-loop";
import { createLogger } from "../checker/observability/logger";
import { Metrics } from "../checker/observability/metrics";
import { StatusBook } from "../checker/observability/status";
import { backoffMs } from "../checker/util/backoff";
import { VirtualClock } from "./support/virtual-clock";
import type { CycleReport } from "../checker/cycle/checker";

const INTERVAL = 1000;

/** Runs the loop over `outcomes` (true: the cycle completes), returning each cycle's start. */
async function loop(outcomes: boolean[], random: () => number): Promise<number[]> {
  const clock = new VirtualClock(0);
  const starts: number[] = [];
  const controller = new AbortController();
  const checker = {
    runCycle: async (): Promise<CycleReport> => {
      starts.push(clock.now());
      const ok = outcomes[starts.length - 1];
      if (ok === undefined) controller.abort();
      else if (!ok)
        throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      return {} as CycleReport;
    },
  };
  const done = runLoop(
    checker,
    {
      clock,
      logger: createLogger("silent"),
      metrics: new Metrics(),
      status: new StatusBook(INTERVAL, 0),
      intervalMs: INTERVAL,
      random,
    },
    controller.signal,
  );
  for (let t = 0; !controller.signal.aborted && t < 1_000_000; t += INTERVAL) await clock.run(t);
  await done;
  return starts;
}

const gaps = (starts: number[]): number[] => starts.slice(1).map((t, k) => t - starts[k]!);

describe("run loop", () => {
  it("starts a cycle every interval while cycles complete", async () => {
    assert.deepEqual(gaps(await loop([true, true, true], () => 0.5)), [1000, 1000, 1000]);
  });

  it("backs off after failed cycles: one interval, then doubling with jitter, up to 8", async () => {
    const fails = [false, false, false, false, false, false, true];
    // The lowest draw: the upper half's floor, but never less than an interval.
    assert.deepEqual(gaps(await loop(fails, () => 0)), [1000, 1000, 2000, 4000, 4000, 4000, 1000]);
    // The highest: the step itself.
    assert.deepEqual(
      gaps(await loop(fails, () => 0.999999)),
      [1000, 2000, 4000, 8000, 8000, 8000, 1000],
    );
  });

  it("spreads replicas that failed together", async () => {
    const fails = [false, false, false, true];
    const a = gaps(await loop(fails, () => 0.1));
    const b = gaps(await loop(fails, () => 0.9));
    assert.notDeepEqual(a, b);
    for (const g of [...a, ...b]) assert.ok(g >= INTERVAL && g <= 8 * INTERVAL, String(g));
  });

  it("backoffMs: doubling steps, each drawn from its upper half", () => {
    assert.equal(
      backoffMs(1, 1000, 60_000, () => 0),
      500,
    );
    assert.equal(
      backoffMs(1, 1000, 60_000, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(4, 1000, 60_000, () => 0.5),
      6000,
    );
    assert.equal(
      backoffMs(30, 1000, 60_000, () => 0),
      30_000,
      "capped",
    );
    assert.equal(
      backoffMs(0, 1000, 60_000, () => 1),
      1000,
      "attempt 0 counts as the first",
    );
  });
});
