// The checker's CloudWatch dashboard and alarms. Every metric name and dimension comes from the
// checker's own catalog (metric-catalog.ts), so they can only watch what the checker writes.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  DIMENSION,
  METRIC_NAMESPACE,
  RECORD_KIND_FIELD,
  STORM_BRAKES,
  type DimensionName,
  type MetricName,
} from "../checker/observability/metric-catalog";

export const ALARM_KEYS = ["degraded", "noCycle", "outOfRotation", "replacementsHeld"] as const;
export type AlarmKey = (typeof ALARM_KEYS)[number];

/**
 * One alarm on one checker metric. Every alarm watches the namespace's total, the metric under
 * `[Namespace]` alone (the cycle record's dimension set).
 */
export interface AlarmSpec {
  readonly metric: MetricName;
  readonly statistic: "Sum" | "Minimum" | "Maximum";
  readonly comparisonOperator: "GreaterThanOrEqualToThreshold" | "LessThanThreshold";
  readonly threshold: number;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: "breaching" | "notBreaching";
  readonly description: string;
}

/** Cycles an alarm waits for: a degraded checker, or a silent one. */
const CYCLES_TO_ALARM = 3;
/** How long instances may stay out of rotation before someone should look. */
const OUT_OF_ROTATION_SECONDS = 15 * 60;

/**
 * The period of alarms and graphs: the interval rounded up to whole minutes, since standard
 * resolution metrics take periods of multiples of 60 seconds.
 */
export function metricPeriodSeconds(intervalMs: number): number {
  return Math.max(60, 60 * Math.ceil(intervalMs / 60_000));
}

/** Cycles a replica completes in one period (integer ms: no float rounding on intervals like 7s). */
export function cyclesPerPeriod(intervalMs: number): number {
  return Math.max(1, Math.floor((metricPeriodSeconds(intervalMs) * 1000) / intervalMs));
}

/** The alarms for a checker cycling every `intervalMs`. */
export function alarmSpecs(intervalMs: number): Record<AlarmKey, AlarmSpec> {
  const period = metricPeriodSeconds(intervalMs);
  const perPeriod = cyclesPerPeriod(intervalMs);
  const periods = (n: number) => ({ evaluationPeriods: n, datapointsToAlarm: n });
  return {
    degraded: {
      periodSeconds: period,
      metric: "Degraded",
      statistic: "Sum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: Math.min(CYCLES_TO_ALARM, perPeriod),
      ...periods(Math.ceil(CYCLES_TO_ALARM / perPeriod)),
      treatMissingData: "notBreaching",
      description:
        "The checker called itself degraded (/healthz 503) in 3 cycles or more: most probes failed at once (which points at its own network or security groups, so it took nothing out), or it could not read Cloud Map, ECS or its state table, or probes failed inside it. The cycle records' `health` field and /healthz give the reason; see /status and the checker's log group.",
    },
    noCycle: {
      periodSeconds: period,
      metric: "Cycles",
      statistic: "Sum",
      comparisonOperator: "LessThanThreshold",
      threshold: 1,
      ...periods(Math.max(1, Math.ceil((CYCLES_TO_ALARM * intervalMs) / (period * 1000)))),
      // Silence is the failure: a checker that is down reports nothing at all.
      treatMissingData: "breaching",
      description:
        "No cycle reported for 3 intervals: the checker is down, stuck, cannot reach AWS or hold its lease, or writes no metrics. Look at the checker's ECS service (tasks, events), /healthz and /status, and its log group.",
    },
    outOfRotation: {
      periodSeconds: period,
      metric: "InstancesOutOfRotation",
      // Minimum: out of rotation for the whole period, not a moment of it.
      statistic: "Minimum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      ...periods(Math.ceil(OUT_OF_ROTATION_SECONDS / period)),
      treatMissingData: "notBreaching",
      description:
        "Instances of the namespace have been out of rotation throughout the last 15 minutes: their health checks keep failing. Look at /status for which instances and why, the dashboard's last actions, and the checker's log group.",
    },
    replacementsHeld: {
      periodSeconds: period,
      metric: "ReplacementsHeld",
      statistic: "Maximum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      ...periods(1),
      treatMissingData: "notBreaching",
      description: `The storm brakes (${[...STORM_BRAKES].join(", ")}) held back task replacements: a whole service is failing, or replacing its tasks did not help. Look at /status and the hold records in the checker's log group; the service itself needs attention.`,
    },
  };
}

/** What the dashboard shows: plain values, resolved. */
export interface DashboardData {
  readonly region: string;
  readonly namespaceId: string;
  readonly intervalMs: number;
  readonly logGroupName: string;
  readonly clusterName: string;
  readonly serviceName: string;
  /** The alarms' ARNs: an alarm widget when any. */
  readonly alarmArns: readonly string[];
}

interface Widget {
  readonly type: "metric" | "alarm" | "log";
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: Record<string, unknown>;
}

/** The dashboard: a 24-column grid, rows of 6. */
export function dashboardBody(d: DashboardData): { widgets: Widget[] } {
  const period = metricPeriodSeconds(d.intervalMs);
  const ns = [DIMENSION.namespace, d.namespaceId];
  const metric = (name: MetricName, stat: string, label: string): unknown[] => [
    METRIC_NAMESPACE,
    name,
    ...ns,
    { stat, label },
  ];
  // The namespace ID is matched as an exact term: it is unique to this namespace's metrics.
  const search = (name: MetricName, by: DimensionName, stat: string, id: string): unknown[] => [
    {
      id,
      expression: `SEARCH('{${METRIC_NAMESPACE},${DIMENSION.namespace},${by}} MetricName="${name}" "${d.namespaceId}"', '${stat}', ${period})`,
      label: "",
    },
  ];
  const graph = (
    x: number,
    y: number,
    width: number,
    title: string,
    metrics: unknown[][],
    extra: Record<string, unknown> = {},
  ): Widget => ({
    type: "metric",
    x,
    y,
    width,
    height: 6,
    properties: {
      title,
      region: d.region,
      view: "timeSeries",
      stacked: false,
      period,
      metrics,
      ...extra,
    },
  });
  const widgets: Widget[] = [
    graph(0, 0, 12, "Instances in rotation, by service", [
      search("InstancesInRotation", DIMENSION.service, "Minimum", "inRotation"),
    ]),
    graph(12, 0, 12, "Instances out of rotation, by service", [
      search("InstancesOutOfRotation", DIMENSION.service, "Maximum", "outOfRotation"),
    ]),
    graph(0, 6, 12, "Actions", [
      metric("Deregistrations", "Sum", "deregistered"),
      metric("Registrations", "Sum", "registered again"),
      metric("MarkedUnhealthy", "Sum", "marked unhealthy"),
      metric("MarkedHealthy", "Sum", "marked healthy"),
      metric("TasksStopped", "Sum", "tasks stopped (replaced)"),
      metric("ActionErrors", "Sum", "failed"),
      metric("DryRunActions", "Sum", "observe: would have acted"),
      metric("ActionsDropped", "Sum", "dropped (contradicted by a late probe)"),
    ]),
    graph(12, 6, 12, "Held actions, by rule", [
      search("HeldActions", DIMENSION.rule, "Sum", "heldByRule"),
      metric("ReplacementsHeld", "Sum", "replacements held (storm brakes)"),
      metric("ReplacementsStopped", "Maximum", "services where replacing stopped"),
    ]),
    graph(
      0,
      12,
      8,
      "Cycle duration against the interval (ms)",
      [
        metric("CycleDuration", "Maximum", "maximum"),
        metric("CycleDuration", "Average", "average"),
      ],
      {
        yAxis: { left: { min: 0 } },
        annotations: { horizontal: [{ label: "interval", value: d.intervalMs }] },
      },
    ),
    graph(8, 12, 8, "Cycles", [
      metric("Cycles", "Sum", "cycles"),
      metric("Degraded", "Sum", "degraded"),
      metric("LateCycles", "Sum", "longer than the interval"),
    ]),
    graph(16, 12, 8, "Probe failures and errors", [
      metric("ProbeFailures", "Sum", "probe failures"),
      metric("ProbeLocalErrors", "Sum", "checker-side probe errors"),
      metric("StateStoreErrors", "Sum", "state table errors"),
    ]),
    // Replicas that complete cycles, from the checker's own records (each makes period/interval
    // a period); AWS/ECS has no task count, Container Insights does where the cluster has it on.
    graph(0, 18, 12, "Checker tasks (running and desired need Container Insights)", [
      [
        {
          id: "replicas",
          expression: `cycles / ${cyclesPerPeriod(d.intervalMs)}`,
          label: "replicas cycling",
        },
      ],
      [METRIC_NAMESPACE, "Cycles", ...ns, { stat: "Sum", id: "cycles", visible: false }],
      ...(["RunningTaskCount", "DesiredTaskCount"] as const).map((name) => [
        "ECS/ContainerInsights",
        name,
        "ClusterName",
        d.clusterName,
        "ServiceName",
        d.serviceName,
        { stat: "Average", period: 60 },
      ]),
    ]),
  ];
  if (d.alarmArns.length > 0) {
    widgets.push({
      type: "alarm",
      x: 12,
      y: 18,
      width: 12,
      height: 6,
      properties: { title: "Alarms", alarms: [...d.alarmArns] },
    });
  }
  widgets.push({
    type: "log",
    x: 0,
    y: 24,
    width: 24,
    height: 8,
    properties: {
      title: "Last actions",
      region: d.region,
      view: "table",
      query: [
        `SOURCE '${d.logGroupName}'`,
        "fields @timestamp, Service, kind, status, instanceId, outcome, reason",
        `filter ${RECORD_KIND_FIELD} = "action"`,
        "sort @timestamp desc",
        "limit 50",
      ].join(" | "),
    },
  });
  return { widgets };
}

/** A CloudWatch name from parts: letters, digits, `-` and `_`, at most 255 characters. */
export function cloudWatchName(...parts: string[]): string {
  return parts
    .join("-")
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .slice(0, 255);
}

export interface MonitoringInput {
  readonly name: string;
  readonly namespaceId: pulumi.Input<string>;
  readonly intervalMs: number;
  readonly region: pulumi.Input<string>;
  readonly logGroupName: pulumi.Input<string>;
  readonly clusterArn: pulumi.Input<string>;
  readonly serviceName: pulumi.Input<string>;
  readonly alarms: boolean;
  readonly dashboard: boolean;
  readonly alarmTopicArn?: pulumi.Input<string>;
  readonly alarmActions?: pulumi.Input<pulumi.Input<string>[]>;
  readonly tags: Record<string, string>;
}

export interface Monitoring {
  readonly dashboardName: pulumi.Output<string | undefined>;
  readonly alarmArns: pulumi.Output<Record<string, string>>;
}

/**
 * The alarms and the dashboard, as children of the component. Names carry the namespace ID: the
 * rollout names every stack's component alike, and one account and Region may hold many.
 */
export function createMonitoring(
  m: MonitoringInput,
  opts: pulumi.CustomResourceOptions,
): Monitoring {
  const namespaceId = pulumi.output(m.namespaceId);
  const alarms: Partial<Record<AlarmKey, aws.cloudwatch.MetricAlarm>> = {};
  if (m.alarms) {
    // The topic hears both ways; other actions only when an alarm fires.
    const topic = m.alarmTopicArn === undefined ? [] : [m.alarmTopicArn];
    const more = m.alarmActions;
    // A list as given (left out when empty); one output of a list (from another language's
    // program or a stack reference) is joined to the topic when known.
    const alarmActions =
      more === undefined || Array.isArray(more)
        ? [...topic, ...(more ?? [])]
        : pulumi
            .all([pulumi.all(topic), pulumi.output(more)])
            .apply(([t, extra]) => [...t, ...extra]);
    const specs = alarmSpecs(m.intervalMs);
    for (const key of ALARM_KEYS) {
      const spec = specs[key];
      alarms[key] = new aws.cloudwatch.MetricAlarm(
        `${m.name}-alarm-${key}`,
        {
          name: namespaceId.apply((id) => cloudWatchName("cmhc", m.name, id, key)),
          alarmDescription: namespaceId.apply(
            (id) => `Cloud Map namespace ${id}: ${spec.description}`,
          ),
          namespace: METRIC_NAMESPACE,
          metricName: spec.metric,
          dimensions: namespaceId.apply((id) => ({ [DIMENSION.namespace]: id })),
          statistic: spec.statistic,
          comparisonOperator: spec.comparisonOperator,
          threshold: spec.threshold,
          period: spec.periodSeconds,
          evaluationPeriods: spec.evaluationPeriods,
          datapointsToAlarm: spec.datapointsToAlarm,
          treatMissingData: spec.treatMissingData,
          ...(Array.isArray(alarmActions) && alarmActions.length === 0 ? {} : { alarmActions }),
          ...(topic.length > 0 ? { okActions: topic } : {}),
          tags: m.tags,
        },
        opts,
      );
    }
  }
  const arns = Object.fromEntries(Object.entries(alarms).map(([key, a]) => [key, a.arn]));
  const alarmArns: pulumi.Output<Record<string, string>> = pulumi.output(arns);

  let dashboardName: pulumi.Output<string | undefined> = pulumi.output(undefined);
  if (m.dashboard) {
    const body = pulumi
      .all([m.region, namespaceId, m.logGroupName, m.clusterArn, m.serviceName, alarmArns])
      .apply(([region, id, logGroupName, clusterArn, serviceName, arns]) =>
        JSON.stringify(
          dashboardBody({
            region,
            namespaceId: id,
            intervalMs: m.intervalMs,
            logGroupName,
            // arn:...:cluster/NAME
            clusterName: clusterArn.slice(clusterArn.lastIndexOf("/") + 1),
            serviceName,
            alarmArns: ALARM_KEYS.flatMap((k) => (arns[k] === undefined ? [] : [arns[k]])),
          }),
        ),
      );
    const dashboard = new aws.cloudwatch.Dashboard(
      `${m.name}-dashboard`,
      {
        dashboardName: namespaceId.apply((id) => cloudWatchName("cmhc", m.name, id)),
        dashboardBody: body,
      },
      opts,
    );
    dashboardName = dashboard.dashboardName;
  }
  return { dashboardName, alarmArns };
}
