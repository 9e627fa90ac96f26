// The lease of a checker that runs alone (in-memory state): always held.

import type { LeaseInfo, LeasePort } from "../ports";

export class LocalLease implements LeasePort {
  constructor(readonly ownerId: string) {}

  async hold(_namespaceId: string, now: number, durationMs: number): Promise<LeaseInfo> {
    return { holder: this.ownerId, mine: true, expiresAt: now + durationMs };
  }

  async release(): Promise<void> {}
}
