// When each flapping target of the flap bench switches between passing, failing (HTTP 500) and
// hanging. Pure and seeded, so a run can be replayed and the driver can recount what the farm did.

export type Mode = "pass" | "fail" | "hang";

export interface Switch {
  /** ms after the flapping starts. */
  readonly atMs: number;
  readonly mode: Mode;
}

export interface FlapSpec {
  readonly intervalMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  /** Share of failing spells that hang (no answer until the prober's timeout) rather than 500. */
  readonly hangShare: number;
  /** No switch at or after this. */
  readonly durationMs: number;
}

/** Dwell times are threshold x interval times a factor drawn log-uniformly from this range. */
export const DWELL_FACTORS = [0.3, 3] as const;

/** mulberry32: a small, fast, seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Every target starts passing. A failing spell lasts around unhealthy threshold x interval, a
 * passing one around healthy threshold x interval (the time the checker needs to act on it), some
 * shorter and some longer: so some spells end before the checker may act and some after, and
 * some while the action waits behind the rate limit or mid-cycle.
 */
export function flapPlan(
  targets: readonly string[],
  seed: number,
  spec: FlapSpec,
): Map<string, Switch[]> {
  const random = seededRandom(seed);
  const [lo, hi] = DWELL_FACTORS;
  const dwell = (threshold: number): number =>
    threshold * spec.intervalMs * lo * (hi / lo) ** random();
  const plan = new Map<string, Switch[]>();
  for (const target of targets) {
    const switches: Switch[] = [];
    // The first switch at a random point of a passing spell, so the targets are out of phase.
    let at = random() * dwell(spec.healthyThreshold);
    let mode: Mode = "pass";
    while (at < spec.durationMs) {
      mode = mode !== "pass" ? "pass" : random() < spec.hangShare ? "hang" : "fail";
      switches.push({ atMs: Math.round(at), mode });
      at += dwell(mode === "pass" ? spec.healthyThreshold : spec.unhealthyThreshold);
    }
    plan.set(target, switches);
  }
  return plan;
}
