// Assembles a checker's dependencies from its config: the one place (with the CLI that calls
// it) that builds AWS clients. Tests use it too, pointed at the emulator.

import { buildAwsClients } from "./aws/clients";
import { SdkCloudMap } from "./aws/cloudmap";
import { SdkEcs } from "./aws/ecs";
import { systemClock } from "./clock";
import type { CheckerConfig } from "./config";
import type { CheckerDeps } from "./loop/checker";
import type { Logger } from "./observability/logger";
import type { Metrics } from "./observability/metrics";
import { StatusBook } from "./observability/status";
import type { StateStore } from "./ports";
import { NetProber } from "./probe";
import { MemoryStateStore } from "./state/memory-store";

export function buildCheckerDeps(
  config: CheckerConfig,
  logger: Logger,
  metrics: Metrics,
  opts: { endpoint?: string; maxAttempts?: number; store?: StateStore } = {},
): CheckerDeps {
  const clients = buildAwsClients({
    endpoint: opts.endpoint,
    maxAttempts: opts.maxAttempts,
    onCall: (service, operation, outcome) =>
      metrics.awsCalls.inc({ aws_service: service, operation, outcome }),
  });
  return {
    config,
    cloudMap: new SdkCloudMap(clients.serviceDiscovery),
    ecs: new SdkEcs(clients.ecs),
    prober: new NetProber({ now: systemClock.now }),
    clock: systemClock,
    store: opts.store ?? new MemoryStateStore(),
    logger,
    metrics,
    status: new StatusBook(config.intervalMs, systemClock.now()),
  };
}
