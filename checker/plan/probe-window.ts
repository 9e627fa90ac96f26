// The degraded rule over time rather than cycles: a target's failure streak counts against it
// only if the namespace's other probes over the same span mostly passed. When the checker's own
// network fails, every probe from that moment on fails, whether the moment falls at a cycle's
// start or in its middle; a rule judged per cycle misses an outage that a cycle boundary splits.

import type { GlobalPolicy } from "../domain/types";

/** Counts of the namespace's probe results over time (the checker's own errors left out). */
export interface ProbeHistory {
  /** Results that landed at or after `from` (epoch ms), and how many of them failed. */
  since(from: number): { readonly probed: number; readonly failed: number };
}

export type StreakVerdict =
  /** The namespace's probes over the streak mostly passed: the failures are the target's. */
  | { readonly kind: "ok" }
  /** Too few probes have landed since the streak began to tell: decide once `missing` more do. */
  | { readonly kind: "wait"; readonly missing: number }
  /** Most probes since the streak began failed: suspect the checker, not the target. */
  | { readonly kind: "degraded"; readonly probed: number; readonly failed: number };

/**
 * Judges a removal whose failure streak began at `failingSince`. `namespaceProbes` is how many
 * probes a cycle makes in the namespace: below `degradedMinInstances` the degraded rule never
 * applies (as per cycle), since waiting for that many would wait more than a cycle. Without a
 * history (a caller that keeps none) there is nothing to judge by.
 */
export function judgeStreak(
  failingSince: number,
  history: ProbeHistory | undefined,
  namespaceProbes: number,
  global: Pick<GlobalPolicy, "degradedFailPercent" | "degradedMinInstances">,
): StreakVerdict {
  if (history === undefined || namespaceProbes < global.degradedMinInstances) return { kind: "ok" };
  const { probed, failed } = history.since(failingSince);
  if (probed < global.degradedMinInstances) {
    return { kind: "wait", missing: global.degradedMinInstances - probed };
  }
  if (failed * 100 > probed * global.degradedFailPercent)
    return { kind: "degraded", probed, failed };
  return { kind: "ok" };
}
