// Durable removal records <-> instance state.

import { instanceKey, type InstanceState } from "../domain/types";
import { partitionKey, RECORD_TTL_SECONDS, recordSortKey } from "./table-schema";

export interface RemovalRecord {
  readonly pk: string;
  readonly sk: string;
  readonly kind: "removal";
  readonly namespaceId: string;
  readonly serviceId: string;
  readonly instanceId: string;
  readonly attributes: Record<string, string>;
  readonly reason: string;
  /** Epoch ms of the removal. */
  readonly removedAt: number;
  readonly taskArn?: string;
  /** Replica that wrote it. */
  readonly owner: string;
  /** TTL backstop, epoch seconds. */
  readonly expiresAt: number;
}

export function toRecord(namespaceId: string, state: InstanceState, owner: string): RemovalRecord {
  const removedAt = state.removedAt ?? state.mutatedAt ?? 0;
  return {
    pk: partitionKey(namespaceId),
    sk: recordSortKey(state.key),
    kind: "removal",
    namespaceId,
    serviceId: state.serviceId,
    instanceId: state.instanceId,
    attributes: { ...state.attributes },
    reason: state.removalReason ?? "",
    removedAt,
    ...(state.taskArn ? { taskArn: state.taskArn } : {}),
    owner,
    expiresAt: Math.floor(removedAt / 1000) + RECORD_TTL_SECONDS,
  };
}

/** A restored record: out of rotation by our hand, to be probed and put back when healthy. */
export function fromRecord(r: RemovalRecord): InstanceState {
  return {
    key: instanceKey(r.serviceId, r.instanceId),
    serviceId: r.serviceId,
    instanceId: r.instanceId,
    attributes: r.attributes,
    verdict: "unhealthy",
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    firstSeen: r.removedAt,
    inRotation: false,
    removedByChecker: true,
    removedAt: r.removedAt,
    mutatedAt: r.removedAt,
    removalReason: r.reason,
    lastProbe: undefined,
    unhealthySince: r.removedAt,
    taskArn: r.taskArn,
  };
}

export function isRemovalRecord(
  item: Record<string, unknown>,
): item is Record<string, unknown> & RemovalRecord {
  return (
    item["kind"] === "removal" &&
    typeof item["serviceId"] === "string" &&
    typeof item["instanceId"] === "string" &&
    typeof item["removedAt"] === "number" &&
    typeof item["attributes"] === "object" &&
    item["attributes"] !== null
  );
}
