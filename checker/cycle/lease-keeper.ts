// Keeps this replica's view of the namespace lease: renews it every cycle, says whether the
// replica may act, and logs when the lease changes hands.
//
// Timing: the lease lasts 2 intervals and is renewed at the start of every cycle and again
// before acting, so a standby takes over within 2-3 intervals of the holder dying (it retries
// each cycle). The holder acts only while more than a quarter interval of its lease is left.

import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { StatusBook } from "../observability/status";
import type { Clock, LeaseInfo, LeasePort } from "../ports";
import type { StoreHealth } from "../state/store-health";

export function leaseTiming(intervalMs: number): { durationMs: number; marginMs: number } {
  return { durationMs: 2 * intervalMs, marginMs: Math.max(100, intervalMs / 4) };
}

export class LeaseKeeper {
  private info: LeaseInfo = { holder: undefined, mine: false, expiresAt: 0 };
  private readonly timing: { durationMs: number; marginMs: number };

  constructor(
    private readonly deps: {
      readonly lease: LeasePort;
      readonly namespaceId: string;
      readonly intervalMs: number;
      readonly clock: Clock;
      readonly logger: Logger;
      readonly metrics: Metrics;
      readonly status: StatusBook;
      readonly storeHealth: StoreHealth;
    },
  ) {
    this.timing = leaseTiming(deps.intervalMs);
  }

  /** Acquire or renew. Returns true when this replica has just become the holder. */
  async renew(): Promise<boolean> {
    const { lease, namespaceId, clock, logger, storeHealth } = this.deps;
    const before = this.info;
    const info = await lease.hold(namespaceId, clock.now(), this.timing.durationMs);
    if (info.error !== undefined) storeHealth.failed(info.error);
    else storeHealth.ok();
    this.set(info);
    if (info.mine && !before.mine) {
      logger.info(
        { owner: lease.ownerId, previous: before.holder },
        "lease acquired: this replica acts",
      );
    } else if (!info.mine && before.mine) {
      logger.warn({ owner: lease.ownerId, holder: info.holder }, "lease lost: not acting");
    } else if (!info.mine && info.holder !== before.holder && info.holder !== undefined) {
      logger.info({ holder: info.holder }, "lease held by another replica: observing");
    }
    return info.mine && !before.mine;
  }

  /** True while this replica believes it holds the lease, margin or not. */
  held(): boolean {
    return this.info.mine;
  }

  /** True while this replica holds the lease with a safety margin left. */
  mayAct(): boolean {
    return this.info.mine && this.info.expiresAt - this.deps.clock.now() > this.timing.marginMs;
  }

  /** A conditional write said another replica holds the lease: stop acting at once. */
  lost(): void {
    if (!this.info.mine) return;
    this.deps.logger.warn(
      { owner: this.deps.lease.ownerId },
      "lease lost (write refused): not acting",
    );
    this.set({ ...this.info, mine: false, holder: undefined });
  }

  async release(): Promise<void> {
    if (this.info.mine) await this.deps.lease.release(this.deps.namespaceId);
    this.set({ holder: undefined, mine: false, expiresAt: 0 });
  }

  private set(info: LeaseInfo): void {
    const { metrics, status, lease } = this.deps;
    this.info = info;
    metrics.leaseHeld.set(info.mine ? 1 : 0);
    metrics.leaseHolder.reset();
    if (info.holder !== undefined) metrics.leaseHolder.set({ owner: info.holder }, 1);
    status.lease = {
      ownerId: lease.ownerId,
      holder: info.holder,
      mine: info.mine,
      expiresAt: new Date(info.expiresAt).toISOString(),
    };
  }
}
