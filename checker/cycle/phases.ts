// Where a cycle's time goes. Each phase is charged the wall time up to its end mark, so the
// phases add up to the cycle's duration: waiting on AWS (lease, read, ecs, act) shows apart
// from the checker's own work (probe spread, decide).

export const PHASES = ["lease", "read", "ecs", "probe", "decide", "act"] as const;
export type Phase = (typeof PHASES)[number];
export type PhaseTimes = Record<Phase, number>;

/** Every phase at 0 ms. */
export function noTime(): PhaseTimes {
  return { lease: 0, read: 0, ecs: 0, probe: 0, decide: 0, act: 0 };
}

export class PhaseTimer {
  private last: number;
  private readonly ms = noTime();

  constructor(private readonly now: () => number) {
    this.last = now();
  }

  /** Charges the time since the previous mark to `phase`. */
  end(phase: Phase): void {
    const t = this.now();
    this.ms[phase] += t - this.last;
    this.last = t;
  }

  get times(): Readonly<PhaseTimes> {
    return { ...this.ms };
  }
}
