// Assembles a checker's dependencies from its config: the one place (with the CLI that calls
// it) that builds AWS clients. Tests use it too, pointed at the emulator.

import { buildAwsClients } from "./aws/clients";
import { awsTimeouts } from "./aws/timeouts";
import { SdkCloudMap } from "./aws/cloudmap";
import { SdkEcs } from "./aws/ecs";
import { systemClock } from "./clock";
import type { CheckerConfig } from "./config";
import type { CheckerDeps } from "./cycle/checker";
import type { Logger } from "./observability/logger";
import type { Metrics } from "./observability/metrics";
import { StatusBook } from "./observability/status";
import type { LeasePort, StateStore } from "./ports";
import { NetProber } from "./probe";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { DynamoLease } from "./state/dynamo-lease";
import { DynamoStateStore } from "./state/dynamo-store";
import { LocalLease } from "./state/local-lease";
import { MemoryStateStore } from "./state/memory-store";

/** A replica's identity in the lease: host, process and a random suffix (unique per start). */
export function newReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

export function buildCheckerDeps(
  config: CheckerConfig,
  logger: Logger,
  metrics: Metrics,
  opts: { endpoint?: string; maxAttempts?: number; replicaId?: string } = {},
): CheckerDeps {
  const clients = buildAwsClients({
    endpoint: opts.endpoint,
    maxAttempts: opts.maxAttempts,
    timeouts: awsTimeouts(config.intervalMs),
    onCall: (service, operation, outcome) =>
      metrics.awsCalls.inc({ aws_service: service, operation, outcome }),
  });
  const replicaId = opts.replicaId ?? newReplicaId();
  let store: StateStore;
  let lease: LeasePort;
  if (config.stateTable) {
    const doc = DynamoDBDocumentClient.from(clients.dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    });
    store = new DynamoStateStore(doc, config.stateTable, replicaId, systemClock);
    lease = new DynamoLease(doc, config.stateTable, replicaId);
  } else {
    store = new MemoryStateStore();
    lease = new LocalLease(replicaId);
  }
  return {
    config,
    cloudMap: new SdkCloudMap(clients.serviceDiscovery),
    ecs: new SdkEcs(clients.ecs),
    prober: new NetProber({ now: systemClock.now }),
    clock: systemClock,
    store,
    lease,
    logger,
    metrics,
    status: new StatusBook(config.intervalMs, systemClock.now()),
  };
}
