// Reading the client's traffic lines: pure functions from one-second lines to the moments the
// experiment measures. A line covers the second that ends at its `at`.

import type { TrafficLine } from "../../checker/verify/client";

const count = (l: TrafficLine, task: string): number => l.counts[task] ?? 0;
const answered = (l: TrafficLine): number => Object.values(l.counts).reduce((a, b) => a + b, 0);

/** Lines in time order, each once. */
export function ordered(lines: Iterable<TrafficLine>): TrafficLine[] {
  return [...lines].sort((a, b) => a.at - b.at);
}

/** Every one of `tasks` answered in the last line (all of them reached by the client). */
export function allReached(lines: readonly TrafficLine[], tasks: readonly string[]): boolean {
  const last = lines.at(-1);
  return last !== undefined && tasks.every((t) => count(last, t) > 0);
}

export type QuietVerdict =
  | {
      readonly kind: "quiet";
      /** Ms from `from` to the end of its last second with traffic. */ readonly afterMs: number;
    }
  | { readonly kind: "waiting" };

/**
 * Whether `task` stopped receiving after `from`: some second after `from` starts a run of
 * `quietMs` in which it got nothing while other tasks answered (so the client was sending and
 * being served; a silent client proves nothing).
 */
export function quietAfter(
  lines: readonly TrafficLine[],
  task: string,
  from: number,
  quietMs: number,
): QuietVerdict {
  const after = lines.filter((l) => l.at > from);
  let lastSeen = from;
  let runStart: number | undefined;
  for (const l of after) {
    if (count(l, task) > 0) {
      lastSeen = l.at;
      runStart = undefined;
      continue;
    }
    if (answered(l) === 0) {
      runStart = undefined; // nobody served: this second says nothing
      continue;
    }
    runStart ??= l.at - 1000;
    if (l.at - runStart >= quietMs) return { kind: "quiet", afterMs: Math.max(0, lastSeen - from) };
  }
  return { kind: "waiting" };
}

/** Ms from `from` to the end of the first second after it in which `task` answered. */
export function trafficAfter(
  lines: readonly TrafficLine[],
  task: string,
  from: number,
): number | undefined {
  const hit = lines.find((l) => l.at > from && count(l, task) > 0);
  return hit === undefined ? undefined : hit.at - from;
}
