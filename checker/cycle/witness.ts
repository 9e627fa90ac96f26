// Witness probes. Where one failure removes a target, the removal waits until enough of the
// namespace's probes landed after the failure to tell a failing target from the checker's own
// network failing. Late in the spread few probes follow within the cycle, and the wait would
// run into the next one; so a few targets that were passing are probed at once. Their answers
// count only as the namespace's probes (the degraded rule's evidence), never towards verdicts.

import type { InstanceState, ProbeResult } from "../domain/types";
import type { ProbeItem } from "../read/listing";

export interface WitnessDeps {
  /** This cycle's probes: the witnesses are drawn from them. */
  readonly items: readonly ProbeItem[];
  readonly state: ReadonlyMap<string, InstanceState>;
  /** Witness probes a cycle may make at most. */
  readonly budget: number;
  probe(item: ProbeItem): Promise<ProbeResult>;
  /** A witness's answer landed. */
  heard(item: ProbeItem, r: ProbeResult): void;
  /** Every witness of a request landed: plan these services again. */
  landed(services: readonly number[]): void;
}

export class Witnesses {
  private batch: Promise<void> | undefined;
  private used = 0;
  private cursor = 0;

  constructor(private readonly d: WitnessDeps) {}

  /** A batch is in flight. */
  get busy(): boolean {
    return this.batch !== undefined;
  }

  /** Resolves once the batch in flight (if any) has landed. */
  async idle(): Promise<void> {
    while (this.batch !== undefined) await this.batch;
  }

  /** Probes up to `missing` passing targets at once; one batch at a time. */
  request(missing: number, services: readonly number[]): void {
    const { items, state, budget } = this.d;
    if (this.batch !== undefined || missing <= 0 || this.used >= budget) return;
    const chosen: ProbeItem[] = [];
    // Healthy, in rotation and passing: a witness says what the network does, not a verdict.
    for (
      let seen = 0;
      seen < items.length && chosen.length < Math.min(missing, budget - this.used);
      seen++
    ) {
      const item = items[(this.cursor + seen) % items.length]!;
      const st = state.get(item.key);
      if (st && st.verdict === "healthy" && st.inRotation && st.consecutiveFailures === 0) {
        chosen.push(item);
      }
    }
    if (chosen.length === 0) return;
    this.cursor = (items.indexOf(chosen[chosen.length - 1]!) + 1) % items.length;
    this.used += chosen.length;
    this.batch = Promise.all(
      chosen.map(async (item) => this.d.heard(item, await this.d.probe(item))),
    )
      .then(
        () => undefined,
        () => undefined,
      ) // a prober never rejects; if one did, no witness
      .finally(() => {
        this.batch = undefined;
        this.d.landed(services);
      });
  }
}
