// The namespace's probe results over the last minute or so, as (time, failures before it)
// pairs in a ring, for the degraded rule over a failure streak (plan/probe-window.ts). Exact to
// the result: time buckets would count answers that landed just before an outage began as if
// they came after it, and those few passes would let the first failures through.

import type { ProbeHistory } from "../plan/probe-window";

/** Entries at most (16 MiB): far above 20,000 probes every 5 s over a minute. */
const MAX_ENTRIES = 1 << 20;

export class ProbeLog implements ProbeHistory {
  private ats = new Float64Array(1024);
  /** Failures among the results recorded before this one. */
  private failedBefore = new Float64Array(1024);
  /** Results ever recorded; result `seq` sits at `seq % capacity` while kept. */
  private count = 0;
  private failed = 0;

  /** Keeps at least the last `spanMs` of results (within MAX_ENTRIES). */
  constructor(private readonly spanMs: number) {}

  record(at: number, ok: boolean): void {
    if (this.count >= this.ats.length) {
      const oldest = this.ats[this.count % this.ats.length]!;
      if (oldest >= at - this.spanMs && this.ats.length < MAX_ENTRIES) this.grow();
    }
    const slot = this.count % this.ats.length;
    this.ats[slot] = at;
    this.failedBefore[slot] = this.failed;
    this.count++;
    if (!ok) this.failed++;
  }

  since(from: number): { probed: number; failed: number } {
    const cap = this.ats.length;
    // First kept result at or after `from`; results are recorded as they land, in time order.
    let lo = Math.max(0, this.count - cap);
    let hi = this.count;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.ats[mid % cap]! < from) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.count) return { probed: 0, failed: 0 };
    return { probed: this.count - lo, failed: this.failed - this.failedBefore[lo % cap]! };
  }

  private grow(): void {
    const cap = this.ats.length;
    const ats = new Float64Array(cap * 2);
    const failedBefore = new Float64Array(cap * 2);
    for (let seq = Math.max(0, this.count - cap); seq < this.count; seq++) {
      ats[seq % (cap * 2)] = this.ats[seq % cap]!;
      failedBefore[seq % (cap * 2)] = this.failedBefore[seq % cap]!;
    }
    this.ats = ats;
    this.failedBefore = failedBefore;
  }
}
