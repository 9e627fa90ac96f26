// Builds what a namespace's checker works with, from its ports and config, once the namespace is
// resolved. Kept out of the Checker so that it only moves data between them.

import type { CheckerConfig } from "../config";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { StatusBook } from "../observability/status";
import { CycleReporter } from "../observability/cycle-report";
import { EmfPublisher, type EmfSink } from "../observability/emf";
import type {
  CloudMapPort,
  Clock,
  EcsPort,
  LeasePort,
  NamespaceInfo,
  Prober,
  StateStore,
} from "../ports";
import { Executor } from "../act/executor";
import { RateLimiter } from "../act/rate-limiter";
import { ProbeConcurrency } from "../probe/schedule";
import { AutoChecks } from "../read/auto-checks";
import { NamespaceReader } from "../read/reader";
import { fullPassMs, TaskStateCache } from "../read/task-cache";
import { RecordSync } from "../state/record-sync";
import { StoreHealth } from "../state/store-health";
import { LeaseKeeper } from "./lease-keeper";
import { CycleMemory } from "./memory";

/** The ports and settings a checker is built from. */
export interface CheckerDeps {
  readonly config: CheckerConfig;
  readonly cloudMap: CloudMapPort;
  readonly ecs: EcsPort;
  readonly prober: Prober;
  readonly clock: Clock;
  readonly store: StateStore;
  readonly lease: LeasePort;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly status: StatusBook;
  /** Where CloudWatch EMF records go (`--metrics-format emf`); undefined writes none. */
  readonly emf?: EmfSink;
}

export interface Collaborators {
  readonly reader: NamespaceReader;
  readonly taskCache: TaskStateCache;
  readonly leaseKeeper: LeaseKeeper;
  readonly records: RecordSync;
  readonly executor: Executor;
  readonly reporter: CycleReporter;
  readonly memory: CycleMemory;
  /** Sizes `auto` probe concurrency from how long probes take. */
  readonly concurrency: ProbeConcurrency;
  /** Resolves `--check-protocol auto` per task from its task definition. */
  readonly autoChecks: AutoChecks;
}

export function buildCollaborators(deps: CheckerDeps, namespace: NamespaceInfo): Collaborators {
  const { config, clock, logger, metrics, status } = deps;
  const storeHealth = new StoreHealth(logger, metrics, status);
  const memory = new CycleMemory(config.intervalMs);
  const leaseKeeper = new LeaseKeeper({
    lease: deps.lease,
    namespaceId: namespace.id,
    intervalMs: config.intervalMs,
    clock,
    logger,
    metrics,
    status,
    storeHealth,
  });
  return {
    reader: new NamespaceReader(namespace, deps.cloudMap, clock, logger, {
      allowList: config.services,
      resyncMs: config.resyncIntervalMs,
      serviceRefreshMs: Math.min(config.resyncIntervalMs, 60_000),
    }),
    taskCache: new TaskStateCache(deps.ecs, clock, fullPassMs(config.intervalMs)),
    leaseKeeper,
    records: new RecordSync({ store: deps.store, namespaceId: namespace.id, storeHealth, logger }),
    executor: new Executor({
      cloudMap: deps.cloudMap,
      store: deps.store,
      namespaceId: namespace.id,
      clock,
      logger,
      metrics,
      limiter: new RateLimiter(config.maxMutationsPerSecond, clock),
      storeHealth,
      leaseKeeper,
      ecs: deps.ecs,
      onReplaced: (ecsService, at) => memory.lastReplacement.set(ecsService, at),
    }),
    reporter: new CycleReporter({
      logger,
      metrics,
      status,
      clock,
      intervalMs: config.intervalMs,
      emf:
        deps.emf &&
        new EmfPublisher(deps.emf, namespace, (why) =>
          logger.warn({ namespace: namespace.id }, why),
        ),
    }),
    memory,
    concurrency: new ProbeConcurrency(),
    autoChecks: new AutoChecks(deps.ecs, clock, (arn, error, first) => {
      // Once per task definition until it answers: the back-off retries quietly.
      if (first) {
        logger.warn(
          { taskDefinition: arn, err: error },
          "could not describe a task definition: its tasks are not probed until it answers (grant ecs:DescribeTaskDefinition, or set --check-protocol)",
        );
      }
    }),
  };
}
