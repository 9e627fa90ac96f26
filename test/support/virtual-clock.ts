// A clock the test drives: `sleep` waits on virtual time, and `run` moves time forward from one
// timer to the next, letting every promise chain settle in between. With in-memory ports and a
// prober that waits on this clock, a whole checker runs cycle by cycle with no real timer.

import type { Clock } from "../../checker/ports";

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
}

/** Lets every microtask chain (and any setImmediate queued by one) run to its next wait. */
async function settle(): Promise<void> {
  for (let k = 0; k < 3; k++) await new Promise<void>((r) => setImmediate(r));
}

export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 1_800_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const onAbort = (): void => {
        this.timers = this.timers.filter((x) => x !== timer);
        resolve();
      };
      const timer: Timer = {
        at: this.t + ms,
        seq: this.seq++,
        fire: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Advances time to `until`, firing every timer due by then in order. */
  async run(until: number): Promise<void> {
    for (;;) {
      await settle();
      let next: Timer | undefined;
      for (const x of this.timers) {
        if (!next || x.at < next.at || (x.at === next.at && x.seq < next.seq)) next = x;
      }
      if (next === undefined || next.at > until) {
        this.t = Math.max(this.t, until);
        await settle();
        return;
      }
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fire();
    }
  }
}
