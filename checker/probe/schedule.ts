// Spreads a cycle's probes over the interval: each item starts at a stable offset derived
// from its key, so every instance is probed at a steady period and neither a restart nor the
// first cycle causes a burst. At most `concurrency` items run at once.

import { performance } from "node:perf_hooks";
import { offsetOf } from "../util/offset";

export { offsetOf };

export interface SpreadOptions<T> {
  keyOf(item: T): string;
  /** Offsets fall in [0, spreadMs). */
  spreadMs: number;
  /** Items in flight at most; a function is asked again each time a slot is wanted. */
  concurrency: number | (() => number);
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Clock matching `sleep`, so time spent waiting for a free slot counts too. Without it,
   * time is what was slept (exact for a fake `sleep`; a real one drifts by the slot waits).
   */
  now?: () => number;
  /**
   * When offsets count from (on the `now` clock); default the call. A cycle passes its own
   * start, so its probes keep their period and an item whose offset has passed starts at once.
   */
  origin?: number;
  signal?: AbortSignal;
  /** Mixed into the hash so different namespaces (or checkers) do not line up. */
  seed?: string;
}

/**
 * Bounds of `auto` concurrency. The ceiling is also the largest burst: a checker that has
 * fallen behind starts every overdue probe at once, up to it (4,096 overflowed a listener's
 * accept queue in the 20,000-instance benchmark and made every probe slower).
 */
export const AUTO_CONCURRENCY = { min: 64, max: 256 } as const;

/**
 * Probes in flight that let `count` probes, started over `spreadMs`, all run to `timeoutMs`
 * (targets that hang) and still start on time, with half again as margin. A fixed 64 holds
 * about 190 targets hanging for 2 s at a 10 s interval; 256 about 770: past that, other probes
 * start late. Slots are only taken by probes that are due.
 */
export function autoConcurrency(count: number, timeoutMs: number, spreadMs: number): number {
  return Math.min(
    AUTO_CONCURRENCY.max,
    Math.max(AUTO_CONCURRENCY.min, inFlight(count, timeoutMs, spreadMs)),
  );
}

/** Little's law with half again as margin: probes in flight = start rate x probe time. */
function inFlight(count: number, probeMs: number, spreadMs: number): number {
  return Math.ceil((1.5 * count * probeMs) / Math.max(spreadMs, probeMs, 1));
}

/**
 * Ceiling of `auto` once probe times are known. Only targets that answer slowly raise the limit
 * past AUTO_CONCURRENCY.max, and then every slot is held by a probe waiting on its own target:
 * 2,048 sockets are about 10 MiB, far inside Fargate's 65,535 open files.
 */
export const ADAPTIVE_MAX = 2048;

/**
 * `auto` concurrency that follows how long probes take. autoConcurrency assumes the worst (every
 * target hangs to its timeout) within a bound that keeps bursts small; where the targets answer,
 * but slowly (a health endpoint that takes 100 ms), that bound would start the probes of a large
 * namespace late: 256 in flight at 100 ms each is 2,560 probes a second, and 20,000 instances at
 * 5 s need 10,000 during the spread. The mean probe time (timeouts at their full length), kept
 * across cycles, sizes the pool by Little's law up to ADAPTIVE_MAX, but only while the event
 * loop has time to spare: when the checker's own CPU is what makes probes slow, more in flight
 * would only make them slower (measured: 1 s probes at 20,000 instances, every cycle late).
 */
export class ProbeConcurrency {
  private meanMs: number | undefined;
  private busy = false;
  private sampledAt: number;

  /** Weight of one probe in the running mean: about the last 200 probes count. */
  private static readonly ALPHA = 0.005;
  /** Event-loop utilization above which the checker, not its targets, is the bottleneck. */
  private static readonly BUSY = 0.75;
  /** How often the utilization is sampled (over the window since the last sample). */
  private static readonly SAMPLE_MS = 100;

  /**
   * @param loop the event loop's utilization since the previous call (0-1), and a clock in ms;
   * node's `performance.eventLoopUtilization` by default.
   */
  constructor(private readonly loop: { utilization(): number; now(): number } = eventLoop()) {
    this.sampledAt = loop.now();
  }

  /** Hears a probe's time. */
  observe(latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    this.meanMs =
      this.meanMs === undefined
        ? latencyMs
        : this.meanMs + ProbeConcurrency.ALPHA * (latencyMs - this.meanMs);
  }

  /** The limit for a cycle of `count` probes, as probe times come in. */
  limit(count: number, timeoutMs: number, spreadMs: number): () => number {
    const floor = autoConcurrency(count, timeoutMs, spreadMs);
    return () => {
      const now = this.loop.now();
      if (now - this.sampledAt >= ProbeConcurrency.SAMPLE_MS) {
        this.busy = this.loop.utilization() > ProbeConcurrency.BUSY;
        this.sampledAt = now;
      }
      if (this.meanMs === undefined || this.busy) return floor;
      return Math.max(floor, Math.min(ADAPTIVE_MAX, inFlight(count, this.meanMs, spreadMs)));
    };
  }
}

/** Node's event-loop utilization, each call over the time since the previous one. */
function eventLoop(): { utilization(): number; now(): number } {
  let last = performance.eventLoopUtilization();
  return {
    utilization() {
      const now = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(now, last).utilization;
      last = now;
      return u;
    },
    now: () => performance.now(),
  };
}

/**
 * Runs `work` for every item at its offset from the call. Results are keyed by `keyOf`; an
 * item whose work rejects, or that was not started before `signal` aborted, is absent.
 */
export async function runSpread<T, R>(
  items: readonly T[],
  opts: SpreadOptions<T>,
  work: (item: T) => Promise<R>,
): Promise<Map<string, R>> {
  const results = new Map<string, R>();
  const given = opts.concurrency;
  const asked = typeof given === "function" ? given : (): number => given;
  const limit = (): number => Math.max(1, Math.floor(asked()) || 1);
  const aborted = (): boolean => opts.signal?.aborted === true;
  // One walk over the items sorted by offset with a single sleeper: no timer per item.
  const queue = items
    .map((item) => {
      const key = opts.keyOf(item);
      return { item, key, at: offsetOf(key, opts.spreadMs, opts.seed) };
    })
    .sort((a, b) => a.at - b.at);

  // The pool: a counter and at most one waiter (the walk below), woken when a slot frees.
  let active = 0;
  let wake: (() => void) | undefined;
  const slotFreed = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  const launch = (item: T, key: string): void => {
    active++;
    let running: Promise<R>;
    try {
      running = work(item); // now, not a microtask later: the start time is the offset
    } catch (err) {
      running = Promise.reject(err);
    }
    running
      .then(
        (r) => void results.set(key, r),
        () => undefined,
      )
      .finally(() => {
        active--;
        const w = wake;
        wake = undefined;
        w?.();
      });
  };

  const now = opts.now;
  const t0 = opts.origin ?? now?.() ?? 0;
  let slept = 0;
  for (const { item, key, at } of queue) {
    if (aborted()) break;
    const wait = at - (now ? Math.max(slept, now() - t0) : slept);
    if (wait > 0) {
      await opts.sleep(wait, opts.signal);
      slept = at;
      if (aborted()) break;
    }
    while (active >= limit()) await slotFreed();
    if (aborted()) break;
    launch(item, key);
  }
  while (active > 0) await slotFreed();
  return results;
}
