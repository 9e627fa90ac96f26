// The CloudWatch metrics the checker writes (Embedded Metric Format, emf.ts), defined once: the
// checker's records and the component's dashboard and alarms both read them, so an alarm can
// never watch a metric the checker does not write.

import type { Hold } from "../domain/types";

/** The CloudWatch namespace of every metric. */
export const METRIC_NAMESPACE = "CloudMapHealthChecker";

/**
 * Dimension names. `NamespaceId` holds the Cloud Map namespace's ID (`ns-...`); not `Namespace`,
 * which CloudWatch's SEARCH reads as the CloudWatch namespace.
 */
export const DIMENSION = {
  namespace: "NamespaceId",
  service: "Service",
  rule: "Rule",
} as const;
export type DimensionName = (typeof DIMENSION)[keyof typeof DIMENSION];

export interface MetricSpec {
  readonly unit: "Count" | "Milliseconds";
  readonly description: string;
}

/** Every metric, by its CloudWatch name. */
export const METRICS = {
  Cycles: { unit: "Count", description: "1 per completed cycle (each replica counts its own)" },
  CycleDuration: {
    unit: "Milliseconds",
    description: "time of a full read-probe-decide-act cycle",
  },
  LateCycles: { unit: "Count", description: "1 for a cycle that took longer than the interval" },
  Degraded: {
    unit: "Count",
    description:
      "1 when /healthz would answer 503 as the cycle ends: most probes failed at once, AWS or the state table could not be read, or probes failed inside the checker",
  },
  Probes: { unit: "Count", description: "instances probed in the cycle" },
  ProbeFailures: { unit: "Count", description: "probes that failed in the cycle" },
  ProbeLocalErrors: {
    unit: "Count",
    description: "probes that failed inside the checker (never counted against a target)",
  },
  InstancesInRotation: {
    unit: "Count",
    description: "instances Cloud Map hands out (registered, and healthy if custom health)",
  },
  InstancesOutOfRotation: {
    unit: "Count",
    description: "instances the checker has taken out of rotation",
  },
  HeldActions: { unit: "Count", description: "actions a safety rule held back in the cycle" },
  ReplacementsHeld: {
    unit: "Count",
    description:
      "replacements the storm brakes held back in the cycle (replace-service-failing, replace-not-helping)",
  },
  ReplacementsStopped: {
    unit: "Count",
    description: "ECS services where replacing stopped: their replacements kept failing",
  },
  StateStoreErrors: {
    unit: "Count",
    description: "failed reads or writes of the state table (DynamoDB) since the last record",
  },
  Deregistrations: { unit: "Count", description: "instances deregistered (taken out)" },
  Registrations: { unit: "Count", description: "instances registered again (put back)" },
  MarkedUnhealthy: {
    unit: "Count",
    description: "custom health status set to UNHEALTHY (taken out)",
  },
  MarkedHealthy: { unit: "Count", description: "custom health status set to HEALTHY (put back)" },
  TasksStopped: { unit: "Count", description: "tasks stopped to be replaced (StopTask)" },
  ActionErrors: { unit: "Count", description: "actions AWS refused or that failed" },
  DryRunActions: { unit: "Count", description: "actions `observe` would have taken" },
  ActionsDropped: {
    unit: "Count",
    description: "actions not sent: a probe that landed after the decision contradicted it",
  },
} as const satisfies Record<string, MetricSpec>;
export type MetricName = keyof typeof METRICS;

const NS = [DIMENSION.namespace] as const;
const NS_SERVICE = [DIMENSION.namespace, DIMENSION.service] as const;
const NS_RULE = [DIMENSION.namespace, DIMENSION.rule] as const;

export interface RecordSpec {
  /** The dimension sets every metric of the record is published under. */
  readonly dimensionSets: ReadonlyArray<readonly DimensionName[]>;
  readonly metrics: readonly MetricName[];
  /**
   * Metrics written only when not 0: CloudWatch bills a metric for each hour it has data, and
   * a count that is 0 most of the time would cost all the time (a graph's gap reads as 0).
   */
  readonly sparse: readonly MetricName[];
}

/**
 * The records the checker writes: one `cycle` record per cycle; a `service` record per service
 * when its figures change, its probes fail, or a minute after its last one; one `action` record
 * per action; one `hold` record per rule that held something in a cycle. An action record
 * carries only the metric of its own kind and outcome.
 */
export const RECORDS = {
  cycle: {
    dimensionSets: [NS],
    metrics: [
      "Cycles",
      "CycleDuration",
      "LateCycles",
      "Degraded",
      "Probes",
      "ProbeFailures",
      "ProbeLocalErrors",
      "InstancesInRotation",
      "InstancesOutOfRotation",
      "HeldActions",
      "ReplacementsHeld",
      "ReplacementsStopped",
      "StateStoreErrors",
    ],
    // Cycles, CycleDuration, Probes and the rotation totals always: the alarms read them.
    sparse: [
      "LateCycles",
      "Degraded",
      "ProbeFailures",
      "ProbeLocalErrors",
      "HeldActions",
      "ReplacementsHeld",
      "ReplacementsStopped",
      "StateStoreErrors",
    ],
  },
  service: {
    dimensionSets: [NS_SERVICE],
    metrics: ["InstancesInRotation", "InstancesOutOfRotation", "ProbeFailures"],
    sparse: ["InstancesOutOfRotation", "ProbeFailures"],
  },
  action: {
    dimensionSets: [NS, NS_SERVICE],
    metrics: [
      "Deregistrations",
      "Registrations",
      "MarkedUnhealthy",
      "MarkedHealthy",
      "TasksStopped",
      "ActionErrors",
      "DryRunActions",
      "ActionsDropped",
    ],
    sparse: [],
  },
  hold: { dimensionSets: [NS_RULE], metrics: ["HeldActions"], sparse: [] },
} as const satisfies Record<string, RecordSpec>;
export type RecordKind = keyof typeof RECORDS;

/**
 * The member naming a record's kind (`"emf": "action"`), for Logs Insights queries. Action
 * records also carry the action's `kind`, `instanceId`, `serviceId`, `outcome`, `reason` (and
 * `error`, `status`, `dryRun` where they apply), as its log line does.
 */
export const RECORD_KIND_FIELD = "emf";

/** The storm brakes: the hold rules `ReplacementsHeld` counts. */
export const STORM_BRAKES: ReadonlySet<Hold["rule"]> = new Set<Hold["rule"]>([
  "replace-service-failing",
  "replace-not-helping",
]);

/** Every (metric, dimension set) the checker can write: what a dashboard or alarm may name. */
export function emittedMetrics(): Array<{ name: MetricName; dimensions: readonly string[] }> {
  const out: Array<{ name: MetricName; dimensions: readonly string[] }> = [];
  for (const spec of Object.values(RECORDS) as RecordSpec[]) {
    for (const dimensions of spec.dimensionSets) {
      for (const name of spec.metrics) out.push({ name, dimensions });
    }
  }
  return out;
}

/** Whether the checker writes `name` under exactly these dimensions (in any order). */
export function isEmitted(name: string, dimensions: readonly string[]): boolean {
  const key = [...dimensions].sort().join(",");
  return emittedMetrics().some(
    (m) => m.name === name && [...m.dimensions].sort().join(",") === key,
  );
}
