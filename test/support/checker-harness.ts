// Builds a real Checker (SDK adapters, real prober) against moto or the fault proxy, with logs
// captured for assertions. Cycles are driven one at a time by the test.

import { parseConfig, type Settings } from "../../checker/config";
import { Checker } from "../../checker/cycle/checker";
import { createLogger, type Logger } from "../../checker/observability/logger";
import { Metrics } from "../../checker/observability/metrics";
import { buildCheckerDeps } from "../../checker/wiring";
import type { StatusBook } from "../../checker/observability/status";

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface Harness {
  checker: Checker;
  logger: Logger;
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
  replicaId?: string;
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
  const deps = buildCheckerDeps(config, logger, metrics, {
    endpoint: opts.endpoint,
    maxAttempts: 3,
    replicaId: opts.replicaId,
  });
  const checker = await Checker.create(deps);
  const { status } = deps;
  return { checker, logger, metrics, status, logs };
}
