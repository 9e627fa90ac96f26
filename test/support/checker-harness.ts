// Builds a real Checker (SDK adapters, real prober) against moto or the fault proxy, with logs
// captured for assertions. Cycles are driven one at a time by the test.

import { buildAwsClients } from "../../checker/aws/clients";
import { SdkCloudMap } from "../../checker/aws/cloudmap";
import { SdkEcs } from "../../checker/aws/ecs";
import { systemClock } from "../../checker/clock";
import { parseConfig, type Settings } from "../../checker/config";
import { Checker } from "../../checker/loop/checker";
import { createLogger } from "../../checker/observability/logger";
import { Metrics } from "../../checker/observability/metrics";
import { StatusBook } from "../../checker/observability/status";
import { NetProber } from "../../checker/probe";
import { MemoryStateStore } from "../../checker/state/memory-store";

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface Harness {
  checker: Checker;
  metrics: Metrics;
  status: StatusBook;
  logs: LogLine[];
}

/** Fast settings for tests: short interval, no grace, thresholds of 2. */
export const FAST: Settings = {
  interval: "300ms",
  timeout: "150ms",
  startupGrace: "0s",
  unhealthyThreshold: "2",
  healthyThreshold: "2",
  listen: "127.0.0.1:0",
  logLevel: "debug",
};

export async function makeChecker(opts: {
  namespace: string;
  endpoint?: string;
  settings?: Settings;
}): Promise<Harness> {
  const config = parseConfig({
    flags: { ...FAST, namespace: opts.namespace, ...opts.settings },
    env: {},
  });
  const metrics = new Metrics();
  const logs: LogLine[] = [];
  const logger = createLogger(config.logLevel, {
    write: (line: string) => {
      logs.push(JSON.parse(line) as LogLine);
    },
  });
  const clients = buildAwsClients({
    endpoint: opts.endpoint,
    maxAttempts: 3,
    onCall: (service, operation, outcome) =>
      metrics.awsCalls.inc({ aws_service: service, operation, outcome }),
  });
  const status = new StatusBook(config.intervalMs, systemClock.now());
  const checker = await Checker.create({
    config,
    cloudMap: new SdkCloudMap(clients.serviceDiscovery),
    ecs: new SdkEcs(clients.ecs),
    prober: new NetProber({ now: systemClock.now }),
    clock: systemClock,
    store: new MemoryStateStore(),
    logger,
    metrics,
    status,
  });
  return { checker, metrics, status, logs };
}
