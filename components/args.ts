// Arguments of the CloudMapHealthChecker component, in the style of aws-cdk props.
//
// Pulumi's component analyzer (`pulumi package add`; test/component-schema.test.ts runs it)
// infers the package's schema for Python, YAML, Go and C# from these types, so they keep to
// what it accepts: string, number, boolean, `T[]` (not `readonly T[]`), string-keyed maps,
// interfaces, and `pulumi.Input` of those; a union only as `T | undefined`, or as a literal
// enum written as an `as const` object with a type of the same name declared after it
// (TypeScript callers still pass the plain strings). A description is the TSDoc text before
// the tags, so each default is stated there ("Default: ...") as well as in `@default`, which
// the analyzer drops. `pulumi.Input` marks what callers may pass from other resources; the
// rest is plain, read at construction (validated settings, and what decides which resources
// exist).

import type * as pulumi from "@pulumi/pulumi";

import { Architecture, CheckAction, CheckProtocol, LogLevel, MetricsFormat } from "./arg-enums";

export { Architecture, CheckAction, CheckProtocol, LogLevel, MetricsFormat };

/** Per-service override of the check, keyed by Cloud Map service name. */
export interface ServiceOverride {
  /**
   * Probe protocol for this service.
   *
   * Default: the component's `checkProtocol`
   * @default the component's `checkProtocol`
   */
  readonly checkProtocol?: CheckProtocol;
  /**
   * The service a gRPC health check asks about.
   *
   * Default: the component's `grpcService`
   * @default the component's `grpcService`
   */
  readonly grpcService?: string;
  /**
   * HTTP(S) path to GET.
   *
   * Default: the component's `checkPath`
   * @default the component's `checkPath`
   */
  readonly checkPath?: string;
  /**
   * Port to probe.
   *
   * Default: the component's `checkPort`
   * @default the component's `checkPort`
   */
  readonly checkPort?: number;
  /**
   * Healthy HTTP statuses, e.g. `200-399` or `200,204`.
   *
   * Default: the component's `expectedStatus`
   * @default the component's `expectedStatus`
   */
  readonly expectedStatus?: string;
  /**
   * Per-probe timeout.
   *
   * Default: the component's `timeout`
   * @default the component's `timeout`
   */
  readonly timeout?: string;
  /**
   * Consecutive failures before an instance is taken out.
   *
   * Default: the component's `unhealthyThreshold`
   * @default the component's `unhealthyThreshold`
   */
  readonly unhealthyThreshold?: number;
  /**
   * Consecutive successes before it is put back.
   *
   * Default: the component's `healthyThreshold`
   * @default the component's `healthyThreshold`
   */
  readonly healthyThreshold?: number;
  /**
   * Failures of a task younger than this do not count.
   *
   * Default: the component's `startupGrace`
   * @default the component's `startupGrace`
   */
  readonly startupGrace?: string;
  /**
   * Most of the service that may be out of rotation at once (0-100).
   *
   * Default: the component's `maxUnhealthyPercent`
   * @default the component's `maxUnhealthyPercent`
   */
  readonly maxUnhealthyPercent?: number;
  /**
   * How instances of this service are taken out of rotation.
   *
   * Default: the component's `action`
   * @default the component's `action`
   */
  readonly action?: CheckAction;
  /**
   * Replace a task of this service that stays unhealthy and out of rotation this long (`2m`),
   * `off` or `auto`.
   *
   * Default: the component's `replaceAfter`
   * @default the component's `replaceAfter`
   */
  readonly replaceAfter?: string;
}

/**
 * The checker's own settings. Plain values (not Outputs), so the component validates them at
 * construction with the checker's own parser.
 */
export interface CheckerSettings {
  /**
   * Probe protocol. `auto` picks it per task from the task definition's port mapping
   * (`appProtocol` http, http2 or grpc; none: tcp), and http for services ECS does not manage.
   *
   * Default: `auto`
   * @default "auto"
   */
  readonly checkProtocol?: CheckProtocol;
  /**
   * The service a gRPC health check (`grpc.health.v1.Health/Check`) asks about.
   *
   * Default: the server as a whole
   * @default the server as a whole
   */
  readonly grpcService?: string;
  /**
   * HTTP(S) path to GET.
   *
   * Default: `/health`
   * @default "/health"
   */
  readonly checkPath?: string;
  /**
   * Port to probe.
   *
   * Default: each instance's `AWS_INSTANCE_PORT`
   * @default each instance's `AWS_INSTANCE_PORT`
   */
  readonly checkPort?: number;
  /**
   * Healthy HTTP statuses, e.g. `200-399` or `200,204`.
   *
   * Default: `200-399`
   * @default "200-399"
   */
  readonly expectedStatus?: string;
  /**
   * Time between cycles (`10s`, `500ms`, `2m`).
   *
   * Default: `10s`
   * @default "10s"
   */
  readonly interval?: string;
  /**
   * Per-probe timeout, below the interval.
   *
   * Default: `2s`
   * @default "2s"
   */
  readonly timeout?: string;
  /**
   * Consecutive failures before an instance is taken out.
   *
   * Default: `3`
   * @default 3
   */
  readonly unhealthyThreshold?: number;
  /**
   * Consecutive successes before it is put back.
   *
   * Default: `2`
   * @default 2
   */
  readonly healthyThreshold?: number;
  /**
   * How instances are taken out of rotation.
   *
   * Default: `auto`
   * @default "auto"
   */
  readonly action?: CheckAction;
  /**
   * Most of a service that may be out of rotation at once (0-100).
   *
   * Default: `50`
   * @default 50
   */
  readonly maxUnhealthyPercent?: number;
  /**
   * Failures of a task younger than this do not count.
   *
   * Default: `60s`
   * @default "60s"
   */
  readonly startupGrace?: string;
  /**
   * Allow-list of Cloud Map service names.
   *
   * Default: every service of the namespace
   * @default every service of the namespace
   */
  readonly services?: string[];
  /**
   * Per-service overrides keyed by Cloud Map service name.
   *
   * Default: none
   * @default none
   */
  readonly serviceOverrides?: Readonly<Record<string, ServiceOverride>>;
  /**
   * Stop (replace) a service's task that stays unhealthy and out of rotation this long (`2m`),
   * so ECS drains it from every Service Connect proxy and starts another; `off` never; `auto`:
   * `1m` in services ECS manages (Service Connect), never in others. Grants `ecs:StopTask` and
   * `ecs:DescribeServices` on the given clusters unless `off` everywhere.
   *
   * Default: `auto`
   * @default "auto"
   */
  readonly replaceAfter?: string;
  /**
   * At most one replacement per ECS service per this period.
   *
   * Default: `5m`
   * @default "5m"
   */
  readonly replaceCooldown?: string;
  /**
   * At most this many replacements per cycle, across services.
   *
   * Default: `1`
   * @default 1
   */
  readonly maxReplacementsPerCycle?: number;
  /**
   * Failed share of a cycle's probes (0-100) above which the checker calls itself degraded
   * and acts on nothing.
   *
   * Default: `80`
   * @default 80
   */
  readonly degradedFailPercent?: number;
  /**
   * Fewer probed instances never make a cycle degraded.
   *
   * Default: `5`
   * @default 5
   */
  readonly degradedMinInstances?: number;
  /**
   * Probes in flight at once: a whole number as text (`"128"`), or `auto` (sized from the
   * namespace and probe times).
   *
   * Default: `auto`
   * @default "auto"
   */
  readonly concurrency?: string;
  /**
   * Full re-list of instances at least this often, whatever the revision says.
   *
   * Default: `5m`
   * @default "5m"
   */
  readonly resyncInterval?: string;
  /**
   * Rate limit on Cloud Map writes, per second.
   *
   * Default: `5`
   * @default 5
   */
  readonly maxMutationsPerSecond?: number;
  /**
   * Log level.
   *
   * Default: `info`
   * @default "info"
   */
  readonly logLevel?: LogLevel;
  /**
   * CloudWatch metrics as Embedded Metric Format records on the log stream (no agent, no IAM):
   * `emf`, `off`, or `auto` (emf on ECS, so here). The dashboard and alarms need them.
   *
   * Default: `auto`
   * @default "auto"
   */
  readonly metricsFormat?: MetricsFormat;
}

export interface CloudMapHealthCheckerArgs extends CheckerSettings {
  /** The Cloud Map namespace to guard (its ID, `ns-...`). */
  readonly namespaceId: pulumi.Input<string>;
  /** Subnets the checker runs in; they must reach the tasks' private IPs. */
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** VPC of `subnetIds`, for the checker's security group. */
  readonly vpcId: pulumi.Input<string>;
  /**
   * Extra security groups for the checker task.
   *
   * Default: none
   * @default none
   */
  readonly securityGroupIds?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Security groups of the checked tasks. When given with `targetPorts`, the component adds
   * ingress rules on them that admit the checker's own group on those ports (removed on
   * destroy). A list (of IDs that may be outputs), not one output: its length decides the rules.
   *
   * Default: none: edit the groups yourself
   * @default none: edit the groups yourself
   */
  readonly targetSecurityGroupIds?: pulumi.Input<string>[];
  /**
   * Ports the checker probes, for the ingress rules on `targetSecurityGroupIds`.
   *
   * Default: none
   * @default none
   */
  readonly targetPorts?: number[];
  /**
   * An existing ECS cluster to run the checker in.
   *
   * Default: a new cluster
   * @default a new cluster
   */
  readonly clusterArn?: pulumi.Input<string>;
  /** Clusters whose tasks the checker may describe: scopes `ecs:DescribeTasks`. */
  readonly ecsClusterArns: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * A prebuilt checker image URI.
   *
   * Default: built from `checker/Dockerfile` into a private ECR repository
   * @default built from `checker/Dockerfile` into a private ECR repository
   */
  readonly image?: pulumi.Input<string>;
  /**
   * An existing state table (from `init-state` or another stack).
   *
   * Default: a new DynamoDB table
   * @default a new DynamoDB table
   */
  readonly stateTableName?: pulumi.Input<string>;
  /**
   * Fargate CPU units.
   *
   * Default: `256`
   * @default 256
   */
  readonly cpu?: number;
  /**
   * Fargate memory (MiB).
   *
   * Default: `512`
   * @default 512
   */
  readonly memory?: number;
  /**
   * CPU architecture.
   *
   * Default: `ARM64`
   * @default "ARM64"
   */
  readonly architecture?: Architecture;
  /**
   * Log retention in days.
   *
   * Default: `30`
   * @default 30
   */
  readonly logRetentionInDays?: number;
  /**
   * Give the task a public IP (only for public subnets without NAT).
   *
   * Default: `false`
   * @default false
   */
  readonly assignPublicIp?: boolean;
  /**
   * Checker replicas; more than one coordinate through the state table's lease.
   *
   * Default: `1`
   * @default 1
   */
  readonly desiredCount?: number;
  /**
   * Port of the checker's /healthz, /metrics and /status.
   *
   * Default: `9090`
   * @default 9090
   */
  readonly statusPort?: number;
  /**
   * Tags applied to every child resource (dashboards take none).
   *
   * Default: none
   * @default none
   */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * CloudWatch alarms on the checker's metrics: degraded, no cycle, instances out of rotation
   * for 15 minutes, replacements held by the storm brakes. Periods follow `interval`.
   *
   * Default: `true`, unless `metricsFormat` is `off`
   * @default true, unless `metricsFormat` is "off"
   */
  readonly alarms?: boolean;
  /**
   * SNS topic the alarms notify, in alarm and back to OK.
   *
   * Default: none
   * @default none
   */
  readonly alarmTopicArn?: pulumi.Input<string>;
  /**
   * More ARNs the alarms notify when they fire (not when back to OK).
   *
   * Default: none
   * @default none
   */
  readonly alarmActions?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * A CloudWatch dashboard of the checker: rotation by service, actions, holds, cycle time,
   * the checker's ECS tasks, alarm states and the last actions.
   *
   * Default: `true`, unless `metricsFormat` is `off`
   * @default true, unless `metricsFormat` is "off"
   */
  readonly dashboard?: boolean;
}
