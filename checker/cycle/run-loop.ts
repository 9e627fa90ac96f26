// The long-running loop: one cycle per interval until the signal aborts.

import { describeAwsError, isTransientAwsError } from "../aws/errors";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { StatusBook } from "../observability/status";
import type { Clock } from "../ports";
import { backoffMs } from "../util/backoff";
import type { Checker } from "./checker";

/** Longest wait after repeated failed cycles (AWS throttling or outage): back off, never act. */
const MAX_BACKOFF_FACTOR = 8;

export async function runLoop(
  checker: Pick<Checker, "runCycle"> & Partial<Pick<Checker, "cycleFailed">>,
  deps: {
    readonly clock: Clock;
    readonly logger: Logger;
    readonly metrics: Metrics;
    readonly status: StatusBook;
    readonly intervalMs: number;
    /** For the back-off's jitter (tests pin it). */
    readonly random?: () => number;
  },
  signal: AbortSignal,
): Promise<void> {
  const { clock, logger, metrics, status, intervalMs } = deps;
  let next = clock.now();
  let failures = 0;
  while (!signal.aborted) {
    try {
      await checker.runCycle(signal);
      failures = 0;
    } catch (err) {
      if (signal.aborted) break;
      failures++;
      status.lastError = describeAwsError(err);
      metrics.cycles.inc({ result: "failed" });
      checker.cycleFailed?.(status.lastError);
      logger.error(
        {
          err: status.lastError,
          transient: isTransientAwsError(err),
          consecutiveFailures: failures,
        },
        "cycle failed; nothing was decided from it",
      );
    }
    // After failures: at least an interval, then doubling up to MAX_BACKOFF_FACTOR intervals,
    // jittered so that replicas failing on the same outage do not retry in step.
    next +=
      failures > 0
        ? Math.max(
            intervalMs,
            backoffMs(failures, intervalMs, MAX_BACKOFF_FACTOR * intervalMs, deps.random),
          )
        : intervalMs;
    const now = clock.now();
    if (next < now) {
      if (failures === 0) logger.warn({ lateByMs: now - next }, "cycle overran the interval");
      next = now;
    }
    await clock.sleep(next - now, signal);
  }
  logger.info("loop stopped");
}
