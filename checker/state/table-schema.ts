// The state table's schema, defined once: `init-state` creates it from this, and the Pulumi
// component provisions the same definition, so the two cannot drift.
//
// One table per account and Region. Items are keyed by namespace (partition) and by
// `instance#SERVICE_ID/INSTANCE_ID` or `lease` (sort), so a namespace's records and its lease
// load with one Query.

import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

export const STATE_TABLE_SCHEMA = {
  partitionKey: { name: "pk", type: "S" },
  sortKey: { name: "sk", type: "S" },
  /** Epoch seconds after which DynamoDB may delete a forgotten record: a backstop only. */
  ttlAttribute: "expiresAt",
  billingMode: "PAY_PER_REQUEST",
} as const;

/** A removal record outlives any plausible outage; the checker deletes records itself. */
export const RECORD_TTL_SECONDS = 30 * 24 * 3600;

export const partitionKey = (namespaceId: string): string => `ns#${namespaceId}`;
export const recordSortKey = (instanceKey: string): string => `instance#${instanceKey}`;
export const LEASE_SORT_KEY = "lease";

export function createTableInput(tableName: string): CreateTableCommandInput {
  const { partitionKey: pk, sortKey: sk, billingMode } = STATE_TABLE_SCHEMA;
  return {
    TableName: tableName,
    BillingMode: billingMode,
    AttributeDefinitions: [
      { AttributeName: pk.name, AttributeType: pk.type },
      { AttributeName: sk.name, AttributeType: sk.type },
    ],
    KeySchema: [
      { AttributeName: pk.name, KeyType: "HASH" },
      { AttributeName: sk.name, KeyType: "RANGE" },
    ],
    Tags: [{ Key: "app", Value: "cloudmap-health-checker" }],
  };
}
