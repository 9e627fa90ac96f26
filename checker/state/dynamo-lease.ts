// The namespace's lease, an item beside its records: acquired and renewed with conditional
// writes, so at most one replica holds it at any time (by the table's clock of record: each
// holder's expiry, compared against the caller's own clock; replicas must keep NTP time).

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  GetCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { describeAwsError } from "../aws/errors";
import type { LeaseInfo, LeasePort } from "../ports";
import { LEASE_SORT_KEY, partitionKey } from "./table-schema";

export class DynamoLease implements LeasePort {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    readonly ownerId: string,
  ) {}

  private key(namespaceId: string) {
    return { pk: partitionKey(namespaceId), sk: LEASE_SORT_KEY };
  }

  async hold(namespaceId: string, now: number, durationMs: number): Promise<LeaseInfo> {
    const expiresAt = now + durationMs;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(namespaceId),
          UpdateExpression:
            "SET #owner = :me, leaseExpiresAt = :exp, renewedAt = :now, expiresAt = :ttl, " +
            "acquiredAt = if_not_exists(acquiredAt, :now)",
          ConditionExpression: "attribute_not_exists(sk) OR #owner = :me OR leaseExpiresAt < :now",
          ExpressionAttributeNames: { "#owner": "owner" },
          ExpressionAttributeValues: {
            ":me": this.ownerId,
            ":exp": expiresAt,
            ":now": now,
            // TTL backstop (epoch seconds) for a namespace nobody guards any more.
            ":ttl": Math.floor(expiresAt / 1000) + 86_400,
          },
        }),
      );
      return { holder: this.ownerId, mine: true, expiresAt };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) {
        return { holder: undefined, mine: false, expiresAt: 0, error: describeAwsError(err) };
      }
    }
    try {
      const out = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: this.key(namespaceId),
          ConsistentRead: true,
        }),
      );
      const item = out.Item ?? {};
      return {
        holder: typeof item["owner"] === "string" ? item["owner"] : undefined,
        mine: false,
        expiresAt: typeof item["leaseExpiresAt"] === "number" ? item["leaseExpiresAt"] : 0,
      };
    } catch (err) {
      return { holder: undefined, mine: false, expiresAt: 0, error: describeAwsError(err) };
    }
  }

  async release(namespaceId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.key(namespaceId),
          ConditionExpression: "#owner = :me",
          ExpressionAttributeNames: { "#owner": "owner" },
          ExpressionAttributeValues: { ":me": this.ownerId },
        }),
      );
    } catch {
      // Not ours any more, or the table is unreachable: the lease expires on its own.
    }
  }
}
