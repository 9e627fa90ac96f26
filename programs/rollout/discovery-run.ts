// Runs discovery over every account x Region with bounded concurrency; a failure in one is
// reported and the rest goes on.

import { describeAwsError } from "../../checker/aws/errors";
import { pool } from "../../checker/util/pool";
import { clientsFor } from "./aws";
import { discoverNamespaces, type DiscoveryClients } from "./discover";
import type { DiscoveredNamespace, DiscoveryFailure, Target } from "./types";

export interface DiscoveryResult {
  readonly namespaces: DiscoveredNamespace[];
  readonly failures: DiscoveryFailure[];
  /** Targets whose discovery succeeded: the only ones whose stacks may be pruned. */
  readonly succeeded: Target[];
}

export async function discoverAll(
  targets: readonly Target[],
  concurrency: number,
  makeClients: (t: Target) => Promise<DiscoveryClients> = clientsFor,
): Promise<DiscoveryResult> {
  const result: DiscoveryResult = { namespaces: [], failures: [], succeeded: [] };
  await pool(targets, concurrency, async (t) => {
    try {
      const found = await discoverNamespaces(await makeClients(t), t.accountId, t.region);
      result.namespaces.push(...found);
      result.succeeded.push(t);
    } catch (err) {
      result.failures.push({
        accountId: t.accountId,
        region: t.region,
        error: describeAwsError(err),
      });
    }
  });
  return result;
}
