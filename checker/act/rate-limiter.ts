// Paces mutations so a burst of changes (a failing wave, a recovery) stays within AWS's
// mutation quotas and leaves other callers in the account their share.

import type { Clock } from "../ports";

/** Token bucket: at most `perSecond` mutations a second, bursts of up to one second's worth. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(
    private readonly perSecond: number,
    private readonly clock: Clock,
  ) {
    this.capacity = Math.max(1, perSecond);
    this.tokens = this.capacity;
    this.last = clock.now();
  }

  /** Waits for a token; false when the signal aborted first or no token comes by `deadline`. */
  async take(signal?: AbortSignal, deadline = Infinity): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const now = this.clock.now();
      this.tokens = Math.min(
        this.capacity,
        this.tokens + ((now - this.last) / 1000) * this.perSecond,
      );
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return true;
      }
      const wait = Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
      if (now + wait > deadline) return false;
      await this.clock.sleep(wait, signal);
    }
  }
}
