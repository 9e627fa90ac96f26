// Keeps the checker's state in step with the durable removal records: the records are the truth
// about what the checker took out, whichever replica did it.

import { describeAwsError } from "../aws/errors";
import type { InstanceState } from "../domain/types";
import type { Logger } from "../observability/logger";
import type { StateStore } from "../ports";
import type { StoreHealth } from "./store-health";

export class RecordSync {
  constructor(
    private readonly deps: {
      readonly store: StateStore;
      readonly namespaceId: string;
      readonly storeHealth: StoreHealth;
      readonly logger: Logger;
    },
  ) {}

  /**
   * Merges the records (left by a previous run or by the holder) into `state`. False when the
   * store could not be read: a holder must then not act on a partial picture.
   */
  async merge(state: Map<string, InstanceState>, holder: boolean): Promise<boolean> {
    try {
      const records = await this.deps.store.load(this.deps.namespaceId);
      for (const [key, record] of records) {
        if (!state.get(key)?.removedByChecker) state.set(key, record);
      }
      // A record that is gone was put back (or its task ended) by the holder, so this replica
      // must not put it back again.
      for (const [key, st] of state) {
        if (st.removedByChecker && !records.has(key)) state.delete(key);
      }
      if (holder) {
        this.deps.logger.info({ records: records.size }, "resumed from durable removal records");
      }
      return true;
    } catch (err) {
      this.deps.storeHealth.failed(describeAwsError(err));
      return false;
    }
  }

  /** Deletes the record of a removal the plan dropped; a failure is reported, never thrown. */
  async forget(key: string): Promise<void> {
    try {
      await this.deps.store.delete(this.deps.namespaceId, key);
      this.deps.storeHealth.ok();
    } catch (err) {
      this.deps.storeHealth.failed(describeAwsError(err));
      this.deps.logger.warn({ key, err: describeAwsError(err) }, "could not delete state record");
    }
  }
}
