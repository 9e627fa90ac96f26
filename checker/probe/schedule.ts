// Spreads a cycle's probes over the interval: each item starts at a stable offset derived
// from its key, so every instance is probed at a steady period and a restart (or the first
// cycle) causes no burst. At most `concurrency` items run at once.

import { createHash } from "node:crypto";

export interface SpreadOptions<T> {
  keyOf(item: T): string;
  /** Offsets fall in [0, spreadMs). */
  spreadMs: number;
  concurrency: number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Clock matching `sleep` (default: the wall clock). */
  now?: () => number;
  signal?: AbortSignal;
  /** Mixed into the hash so different checkers do not line up. */
  seed?: string;
}

/** Stable offset in [0, spreadMs) for a key. */
export function offsetOf(key: string, spreadMs: number, seed = ""): number {
  if (spreadMs <= 0) return 0;
  const h = createHash("sha1").update(seed).update("\0").update(key).digest();
  return h.readUInt32BE(0) % Math.floor(spreadMs);
}

export async function runSpread<T, R>(
  items: readonly T[],
  opts: SpreadOptions<T>,
  work: (item: T) => Promise<R>,
): Promise<Map<string, R>> {
  const results = new Map<string, R>();
  // One walk over items sorted by offset, with a single sleeper: no timer per item.
  const queue = items
    .map((item) => ({
      item,
      key: opts.keyOf(item),
      at: offsetOf(opts.keyOf(item), opts.spreadMs, opts.seed),
    }))
    .sort((a, b) => a.at - b.at);
  const now = opts.now ?? Date.now;
  const started = now();
  const inFlight = new Set<Promise<void>>();
  let elapsedByOffsets = 0;
  for (const entry of queue) {
    if (opts.signal?.aborted) break;
    const wait = entry.at - Math.max(elapsedByOffsets, now() - started);
    if (wait > 0) {
      await opts.sleep(wait, opts.signal);
      if (opts.signal?.aborted) break;
    }
    elapsedByOffsets = Math.max(elapsedByOffsets, entry.at);
    while (inFlight.size >= Math.max(1, opts.concurrency)) await Promise.race(inFlight);
    const p: Promise<void> = work(entry.item).then(
      (r) => {
        results.set(entry.key, r);
      },
      () => undefined,
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  return results;
}
