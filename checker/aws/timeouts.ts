// How long any AWS call may take, sized to the check interval: an endpoint that accepts
// connections and never answers (or trickles) must cost a cycle a bounded wait, never a hang.

export interface AwsTimeouts {
  /** TCP (and TLS) connect, per attempt. */
  readonly connectMs: number;
  /** One attempt, request sent to response read in full (the SDK then retries). */
  readonly attemptMs: number;
  /** The whole call, its retries and their back-off included. */
  readonly callMs: number;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * Per-call bounds for a checker checking every `intervalMs`: an attempt may take the interval
 * (2-10 s), the call two (3-30 s). AWS answers in well under a second; more means it is down.
 */
export function awsTimeouts(intervalMs: number): AwsTimeouts {
  return {
    connectMs: Math.round(clamp(intervalMs / 4, 1000, 3000)),
    attemptMs: Math.round(clamp(intervalMs, 2000, 10_000)),
    callMs: Math.round(clamp(2 * intervalMs, 3000, 30_000)),
  };
}

/** Bounds for one-off commands (`init-state`), at the default interval. */
export const ONE_OFF_TIMEOUTS = awsTimeouts(5000);
