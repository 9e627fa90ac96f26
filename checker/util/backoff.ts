// One back-off for every retry of the checker's own (a failed cycle, the namespace lookup):
// exponential with "equal jitter", so replicas that failed together do not retry together.

/**
 * The wait before retry `attempt` (1 for the first): `baseMs` doubling per attempt up to `capMs`,
 * drawn at random from the upper half of that step.
 */
export function backoffMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}
