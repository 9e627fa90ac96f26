// Tracks whether the durable store answers. While it does not, the checker reports itself
// degraded (and, since no removal happens without a durable record, changes nothing).

import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { StatusBook } from "../observability/status";

export class StoreHealth {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly status: StatusBook,
  ) {}

  ok(): void {
    if (this.status.storeError === undefined) return;
    this.logger.info("state store answers again");
    this.status.storeError = undefined;
  }

  failed(error: string): void {
    this.metrics.storeErrors.inc();
    this.status.storeErrorCount++;
    if (this.status.storeError === undefined) {
      this.logger.error({ err: error }, "state store unavailable: degraded, removing nothing");
    }
    this.status.storeError = error;
  }
}
