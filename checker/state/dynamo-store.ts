// StateStore on DynamoDB: removal records survive restarts and are shared by replicas.
// Every record write is a transaction that also checks this replica still holds the
// namespace's lease, so a stale replica can never overwrite what the holder wrote.

import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb"; // lib-dynamodb: plain JS objects instead of AttributeValue maps
import type { InstanceState } from "../domain/types";
import { LeaseLostError, type Clock, type StateStore } from "../ports";
import { fromRecord, isRemovalRecord, toRecord } from "./records";
import { LEASE_SORT_KEY, partitionKey, recordSortKey } from "./table-schema";

export class DynamoStateStore implements StateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly ownerId: string,
    private readonly clock: Clock,
  ) {}

  async load(namespaceId: string): Promise<Map<string, InstanceState>> {
    const out = new Map<string, InstanceState>();
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": partitionKey(namespaceId), ":prefix": "instance#" },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (!isRemovalRecord(item)) continue;
        const state = fromRecord(item);
        out.set(state.key, state);
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  }

  async put(namespaceId: string, state: InstanceState): Promise<void> {
    const record = toRecord(namespaceId, state, this.ownerId);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: { pk: partitionKey(namespaceId), sk: LEASE_SORT_KEY },
                ConditionExpression: "#owner = :me AND leaseExpiresAt > :now",
                ExpressionAttributeNames: { "#owner": "owner" },
                ExpressionAttributeValues: { ":me": this.ownerId, ":now": this.clock.now() },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: record,
                // Never replace a newer record with an older one.
                ConditionExpression: "attribute_not_exists(sk) OR removedAt <= :removedAt",
                ExpressionAttributeValues: { ":removedAt": record.removedAt },
              },
            },
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        const leaseFailed = err.CancellationReasons?.[0]?.Code === "ConditionalCheckFailed";
        if (leaseFailed || !err.CancellationReasons) throw new LeaseLostError(namespaceId);
      }
      throw err;
    }
  }

  async delete(namespaceId: string, key: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: partitionKey(namespaceId), sk: recordSortKey(key) },
      }),
    );
  }
}
