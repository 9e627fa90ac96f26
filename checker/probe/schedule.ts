// Spreads a cycle's probes over the interval: each item starts at a stable offset derived
// from its key, so every instance is probed at a steady period and neither a restart nor the
// first cycle causes a burst. At most `concurrency` items run at once.

import { createHash } from "node:crypto";

export interface SpreadOptions<T> {
  keyOf(item: T): string;
  /** Offsets fall in [0, spreadMs). */
  spreadMs: number;
  concurrency: number;
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
  const needed = Math.ceil((1.5 * count * timeoutMs) / Math.max(spreadMs, timeoutMs, 1));
  return Math.min(AUTO_CONCURRENCY.max, Math.max(AUTO_CONCURRENCY.min, needed));
}

/** Stable offset in [0, spreadMs) for a key. */
export function offsetOf(key: string, spreadMs: number, seed = ""): number {
  const span = Math.floor(spreadMs);
  if (!(span > 0)) return 0;
  const h = createHash("sha1").update(seed).update("\0").update(key).digest();
  return h.readUInt32BE(0) % span;
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
  const limit = Math.max(1, Math.floor(opts.concurrency) || 1);
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
    while (active >= limit) await slotFreed();
    if (aborted()) break;
    launch(item, key);
  }
  while (active > 0) await slotFreed();
  return results;
}
