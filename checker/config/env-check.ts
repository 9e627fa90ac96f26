// CMHC_* variables that are no setting. The parser reads only the names it knows, so a misspelled
// one (CMHC_INTERVALL) would leave its setting at the default without a word.

import { OPTIONS } from "./schema";

export interface UnknownVariable {
  readonly name: string;
  /** The known variable nearest in spelling: most likely the one meant. */
  readonly closest: string;
}

const PREFIX = "CMHC_";

export function unknownVariables(env: Record<string, string | undefined>): UnknownVariable[] {
  const known: readonly string[] = OPTIONS.map((o) => o.env);
  return Object.keys(env)
    .filter((name) => name.toUpperCase().startsWith(PREFIX) && !known.includes(name))
    .sort()
    .map((name) => ({ name, closest: closest(name.toUpperCase(), known) }));
}

export function describeUnknownVariable(u: UnknownVariable): string {
  return `${u.name} is not a setting of the checker and is ignored; did you mean ${u.closest}?`;
}

function closest(name: string, candidates: readonly string[]): string {
  let best = candidates[0]!;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, substitution));
    }
    prev = row;
  }
  return prev[b.length]!;
}
