// Arguments of the CloudMapHealthChecker component, in the style of aws-cdk props.

import type * as pulumi from "@pulumi/pulumi";

/** Probe protocols (`https`, `http2s`, `grpcs`: TLS, certificate not verified). */
export type CheckProtocolArg =
  "auto" | "http" | "https" | "http2" | "http2s" | "grpc" | "grpcs" | "tcp";

/** Per-service override of the check, keyed by Cloud Map service name. */
export interface ServiceOverride {
  /** @default the component's `checkProtocol` */
  readonly checkProtocol?: CheckProtocolArg;
  /** @default the component's `grpcService` */
  readonly grpcService?: string;
  /** @default the component's `checkPath` */
  readonly checkPath?: string;
  /** @default the component's `checkPort` */
  readonly checkPort?: number;
  /** @default the component's `expectedStatus` */
  readonly expectedStatus?: string;
  /** @default the component's `timeout` */
  readonly timeout?: string;
  /** @default the component's `unhealthyThreshold` */
  readonly unhealthyThreshold?: number;
  /** @default the component's `healthyThreshold` */
  readonly healthyThreshold?: number;
  /** @default the component's `startupGrace` */
  readonly startupGrace?: string;
  /** @default the component's `maxUnhealthyPercent` */
  readonly maxUnhealthyPercent?: number;
  /** @default the component's `action` */
  readonly action?: "auto" | "deregister" | "custom-status" | "observe";
  /** @default the component's `replaceAfter` */
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
   * @default "auto"
   */
  readonly checkProtocol?: CheckProtocolArg;
  /**
   * The service a gRPC health check (`grpc.health.v1.Health/Check`) asks about.
   * @default "" (the server as a whole)
   */
  readonly grpcService?: string;
  /** HTTP(S) path to GET. @default "/health" */
  readonly checkPath?: string;
  /** Port to probe. @default each instance's `AWS_INSTANCE_PORT` */
  readonly checkPort?: number;
  /** Healthy HTTP statuses, e.g. `200-399` or `200,204`. @default "200-399" */
  readonly expectedStatus?: string;
  /** Time between cycles (`10s`, `500ms`, `2m`). @default "10s" */
  readonly interval?: string;
  /** Per-probe timeout, below the interval. @default "2s" */
  readonly timeout?: string;
  /** Consecutive failures before an instance is taken out. @default 3 */
  readonly unhealthyThreshold?: number;
  /** Consecutive successes before it is put back. @default 2 */
  readonly healthyThreshold?: number;
  /** How instances are taken out of rotation. @default "auto" */
  readonly action?: "auto" | "deregister" | "custom-status" | "observe";
  /** Most of a service that may be out of rotation at once (0-100). @default 50 */
  readonly maxUnhealthyPercent?: number;
  /** Failures of a task younger than this do not count. @default "60s" */
  readonly startupGrace?: string;
  /** Allow-list of Cloud Map service names. @default every service of the namespace */
  readonly services?: readonly string[];
  /** Per-service overrides keyed by Cloud Map service name. @default none */
  readonly serviceOverrides?: Readonly<Record<string, ServiceOverride>>;
  /**
   * Stop (replace) a service's task that stays unhealthy and out of rotation this long (`2m`),
   * so ECS drains it from every Service Connect proxy and starts another; `off` never; `auto`:
   * `1m` in services ECS manages (Service Connect), never in others. Grants `ecs:StopTask` and
   * `ecs:DescribeServices` on the given clusters unless `off` everywhere.
   * @default "auto"
   */
  readonly replaceAfter?: string;
  /** At most one replacement per ECS service per this period. @default "5m" */
  readonly replaceCooldown?: string;
  /** At most this many replacements per cycle, across services. @default 1 */
  readonly maxReplacementsPerCycle?: number;
  /** Failed share of a cycle's probes (0-100) above which the checker calls itself degraded
   * and acts on nothing. @default 80 */
  readonly degradedFailPercent?: number;
  /** Fewer probed instances never make a cycle degraded. @default 5 */
  readonly degradedMinInstances?: number;
  /** Probes in flight at once, or `auto` (sized from the namespace and probe times). @default "auto" */
  readonly concurrency?: number | "auto";
  /** Full re-list of instances at least this often, whatever the revision says. @default "5m" */
  readonly resyncInterval?: string;
  /** Rate limit on Cloud Map writes, per second. @default 5 */
  readonly maxMutationsPerSecond?: number;
  /** Log level. @default "info" */
  readonly logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  /**
   * CloudWatch metrics as Embedded Metric Format records on the log stream (no agent, no IAM):
   * `emf`, `off`, or `auto` (emf on ECS, so here). The dashboard and alarms need them.
   * @default "auto"
   */
  readonly metricsFormat?: "auto" | "emf" | "off";
}

export interface CloudMapHealthCheckerArgs extends CheckerSettings {
  /** The Cloud Map namespace to guard (its ID, `ns-...`). */
  readonly namespaceId: pulumi.Input<string>;
  /** Subnets the checker runs in; they must reach the tasks' private IPs. */
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** VPC of `subnetIds`, for the checker's security group. */
  readonly vpcId: pulumi.Input<string>;
  /** Extra security groups for the checker task. @default none */
  readonly securityGroupIds?: pulumi.Input<string>[];
  /**
   * Security groups of the checked tasks. When given with `targetPorts`, the component adds
   * ingress rules on them that admit the checker's own group on those ports (removed on
   * destroy). @default none: edit the groups yourself
   */
  readonly targetSecurityGroupIds?: pulumi.Input<string>[];
  /** Ports the checker probes, for the ingress rules on `targetSecurityGroupIds`. @default none */
  readonly targetPorts?: readonly number[];
  /** An existing ECS cluster to run the checker in. @default a new cluster */
  readonly clusterArn?: pulumi.Input<string>;
  /** Clusters whose tasks the checker may describe: scopes `ecs:DescribeTasks`. */
  readonly ecsClusterArns: pulumi.Input<string>[];
  /** A prebuilt checker image URI. @default built from `checker/Dockerfile` into a private ECR repository */
  readonly image?: pulumi.Input<string>;
  /** An existing state table (from `init-state` or another stack). @default a new DynamoDB table */
  readonly stateTableName?: pulumi.Input<string>;
  /** Fargate CPU units. @default 256 */
  readonly cpu?: number;
  /** Fargate memory (MiB). @default 512 */
  readonly memory?: number;
  /** CPU architecture. @default "ARM64" */
  readonly architecture?: "ARM64" | "X86_64";
  /** Log retention. @default 30 */
  readonly logRetentionInDays?: number;
  /** Give the task a public IP (only for public subnets without NAT). @default false */
  readonly assignPublicIp?: boolean;
  /** Checker replicas; more than one coordinate through the state table's lease. @default 1 */
  readonly desiredCount?: number;
  /** Port of the checker's /healthz, /metrics and /status. @default 9090 */
  readonly statusPort?: number;
  /** Tags applied to every child resource (dashboards take none). @default none */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * CloudWatch alarms on the checker's metrics: degraded, no cycle, instances out of rotation
   * for 15 minutes, replacements held by the storm brakes. Periods follow `interval`.
   * @default true, unless `metricsFormat` is "off"
   */
  readonly alarms?: boolean;
  /** SNS topic the alarms notify, in alarm and back to OK. @default none */
  readonly alarmTopicArn?: pulumi.Input<string>;
  /** More ARNs the alarms notify when they fire (not when back to OK). @default none */
  readonly alarmActions?: pulumi.Input<string>[];
  /**
   * A CloudWatch dashboard of the checker: rotation by service, actions, holds, cycle time,
   * the checker's ECS tasks, alarm states and the last actions.
   * @default true, unless `metricsFormat` is "off"
   */
  readonly dashboard?: boolean;
}
