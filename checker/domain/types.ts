// Domain types shared by the reader, the prober, the planner and the actor.
// Nothing here does I/O.

/** How the checker takes an instance out of rotation in one Cloud Map service. */
export type ActionMode = "deregister" | "custom-status" | "observe";

/** Configured action; `auto` resolves per service from its health-check config. */
export type ActionSetting = ActionMode | "auto";

/** What a probe speaks (`https`, `http2s`, `grpcs`: over TLS, certificate not verified). */
export type ProbeProtocol = "http" | "https" | "http2" | "http2s" | "grpc" | "grpcs" | "tcp";

/** Configured protocol; `auto` resolves per task from its task definition (read/protocols.ts). */
export type CheckProtocol = ProbeProtocol | "auto";

/** Inclusive HTTP status range accepted as healthy. */
export interface StatusRange {
  readonly min: number;
  readonly max: number;
}

/** How to probe the instances of one service. */
export interface CheckSpec {
  readonly protocol: CheckProtocol;
  /** HTTP(S) path, starting with `/`. Ignored for TCP and gRPC. */
  readonly path: string;
  /** Port to probe; undefined means the instance's `AWS_INSTANCE_PORT`. */
  readonly port: number | undefined;
  /** Accepted HTTP status ranges (any match is healthy). */
  readonly expectedStatus: readonly StatusRange[];
  readonly timeoutMs: number;
  /** The service a gRPC health check asks about; empty: the server as a whole. */
  readonly grpcService: string;
}

/** Decision thresholds and safety limits for one service. */
export interface ServicePolicy {
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly startupGraceMs: number;
  readonly maxUnhealthyPercent: number;
  readonly action: ActionSetting;
  /**
   * Stop (replace) a task unhealthy continuously this long; undefined: never; `auto`: for
   * services ECS manages (Service Connect) after AUTO_REPLACE_AFTER_MS, never for others (see
   * plan/replace-brakes.ts replaceAfterFor).
   */
  readonly replaceAfterMs: number | "auto" | undefined;
}

/** Whole-cycle limits that protect against the checker's own faults. */
export interface GlobalPolicy {
  /** Fraction (0-100) of failed probes above which a cycle counts as degraded. */
  readonly degradedFailPercent: number;
  /** Fewer probed instances than this never make a cycle degraded. */
  readonly degradedMinInstances: number;
  /** At most one replacement per ECS service per this period. */
  readonly replaceCooldownMs: number;
  /** At most this many replacements in one cycle, across services. */
  readonly maxReplacementsPerCycle: number;
}

/** What DescribeServices says of an ECS service, for the replacement brakes. */
export interface EcsServiceState {
  readonly runningCount: number;
  readonly desiredCount: number;
  readonly deployments: number;
  /** Of the primary deployment; undefined when ECS gives none. */
  readonly rolloutState: string | undefined;
}

/** A Cloud Map service as the checker sees it. */
export interface ServiceInfo {
  readonly id: string;
  readonly arn: string;
  readonly name: string;
  readonly namespaceId: string;
  /** True when the service was created with `HealthCheckCustomConfig`. */
  readonly customHealth: boolean;
  /** ECS service behind it, from the `Managed by arn:aws:ecs:...` description. */
  readonly ecsService: EcsServiceRef | undefined;
}

export interface EcsServiceRef {
  readonly arn: string;
  readonly cluster: string;
  readonly serviceName: string;
}

/** One Cloud Map instance with its full attribute set (needed to re-register it). */
export interface InstanceRecord {
  readonly serviceId: string;
  readonly instanceId: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** ECS task state relevant to health decisions. */
export interface TaskInfo {
  readonly taskArn: string;
  readonly clusterArn: string;
  readonly lastStatus: string;
  readonly desiredStatus: string;
  /** HEALTHY | UNHEALTHY | UNKNOWN, or undefined when ECS reports none. */
  readonly healthStatus: string | undefined;
  /** Epoch ms. */
  readonly startedAt: number | undefined;
  /** e.g. `service:NAME` for service tasks. */
  readonly group: string | undefined;
  /** The task's task definition (family and revision); absent where ECS gave none. */
  readonly taskDefinitionArn?: string;
}

/** A port mapping of a task definition, as `auto` protocol picks the probe by it. */
export interface PortMappingInfo {
  readonly name: string | undefined;
  readonly containerPort: number | undefined;
  /** `http`, `http2` or `grpc`; undefined when the mapping has none. */
  readonly appProtocol: string | undefined;
}

/** What the checker needs of a task definition: its port mappings, every container's. */
export interface TaskDefinitionPorts {
  /** `family:revision`, for reports. */
  readonly name: string;
  readonly portMappings: readonly PortMappingInfo[];
}

/** What ECS told us about an instance's task this cycle. */
export type TaskLookup =
  | { readonly kind: "task"; readonly task: TaskInfo }
  /** DescribeTasks answered, and the task does not exist. */
  | { readonly kind: "missing" }
  /**
   * DescribeTasks could not be called or failed: transient, decide nothing from it. `reason`
   * says why ECS could not be read (the AWS error), where it was asked and failed.
   */
  | { readonly kind: "unavailable"; readonly reason?: string }
  /** The instance is not an ECS task (no cluster known): probe only. */
  | { readonly kind: "not-ecs" };

/** Where to probe an instance, or why it cannot be probed. */
export type ProbeTarget =
  | { readonly ok: true; readonly host: string; readonly port: number }
  | { readonly ok: false; readonly problem: string };

export interface ProbeResult {
  readonly ok: boolean;
  /** Short human-readable outcome: `HTTP 200`, `timeout after 2000ms`, `ECONNREFUSED`. */
  readonly detail: string;
  readonly latencyMs: number;
  /** Epoch ms when the probe finished. */
  readonly at: number;
  /**
   * The probe failed inside the checker before it could reach the target (a request it cannot
   * send, no file descriptor or local port): it says nothing about the target, so no decision
   * counts it. Undefined (or false) for every answer from, or timeout on, the target.
   */
  readonly local?: boolean;
}

/** Cloud Map health status of an instance in a custom-health service. */
export type CustomStatus = "HEALTHY" | "UNHEALTHY" | "UNKNOWN";

/** Everything the planner needs to know about one instance this cycle. */
export interface InstanceObservation {
  readonly key: string;
  readonly record: InstanceRecord;
  /** True when the instance is currently listed in Cloud Map. */
  readonly registered: boolean;
  /** Custom health status last read from Cloud Map (custom-health services only). */
  readonly customStatus: CustomStatus | undefined;
  readonly task: TaskLookup;
  /** Undefined when the instance could not be probed (bad input) this cycle. */
  readonly probe: ProbeResult | undefined;
  /** Set when the instance is malformed and is skipped. */
  readonly problem: string | undefined;
  /** Epoch ms of the Cloud Map listing that `registered`/`customStatus` come from. */
  readonly observedAt: number;
}

export interface ServiceObservation {
  readonly service: ServiceInfo;
  readonly policy: ServicePolicy;
  readonly instances: readonly InstanceObservation[];
}

export type Verdict = "healthy" | "unhealthy";

/** Per-instance memory across cycles. */
export interface InstanceState {
  readonly key: string;
  readonly serviceId: string;
  readonly instanceId: string;
  /** Full attributes, kept so a deregistered instance can be re-registered as it was. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly verdict: Verdict;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  /** Epoch ms the checker first saw the instance. */
  readonly firstSeen: number;
  /** Whether Cloud Map hands it out (registered and, for custom health, HEALTHY). */
  readonly inRotation: boolean;
  /** True when the checker itself took it out (so it may put it back). */
  readonly removedByChecker: boolean;
  /** Epoch ms of the removal (used for idempotent re-registration tokens). */
  readonly removedAt: number | undefined;
  /** Epoch ms of the checker's last successful mutation of this instance. */
  readonly mutatedAt: number | undefined;
  readonly removalReason: string | undefined;
  readonly lastProbe: ProbeResult | undefined;
  /** Epoch ms the verdict last changed to unhealthy. */
  readonly unhealthySince: number | undefined;
  /**
   * Epoch ms (the probe's `at`) of the first counted failure of the current failure streak;
   * undefined while the last counted check passed. A removal judges the namespace's probes
   * from here to now (see plan/probe-window.ts).
   */
  readonly failingSince?: number;
  /** The instance's ECS task, when known (kept in the durable record). */
  readonly taskArn: string | undefined;
}

/**
 * What an action rests on, so it can be checked again right before it is sent: ECS's word (a
 * task going away, ECS's own health check) holds; a verdict from probes holds only while no
 * probe that landed since says otherwise (see plan/at-send.ts).
 */
export type ActionBasis =
  | { readonly kind: "task" }
  | {
      readonly kind: "probes";
      /** Epoch ms (`at`) of the last probe result the decision folded in. */
      readonly at: number;
      /** For a removal: when its failure streak began (the window the degraded rule judges). */
      readonly failingSince?: number;
    };

export type Action = (
  | {
      readonly kind: "deregister";
      readonly key: string;
      readonly serviceId: string;
      readonly serviceName: string;
      readonly instanceId: string;
      readonly attributes: Readonly<Record<string, string>>;
      readonly reason: string;
      readonly dryRun: boolean;
    }
  | {
      readonly kind: "register";
      readonly key: string;
      readonly serviceId: string;
      readonly serviceName: string;
      readonly instanceId: string;
      readonly attributes: Readonly<Record<string, string>>;
      /** Stable per removal, so a retried registration is idempotent. */
      readonly creatorRequestId: string;
      readonly reason: string;
      readonly dryRun: boolean;
    }
  | {
      readonly kind: "set-status";
      readonly key: string;
      readonly serviceId: string;
      readonly serviceName: string;
      readonly instanceId: string;
      readonly status: "HEALTHY" | "UNHEALTHY";
      readonly reason: string;
      readonly dryRun: boolean;
    }
  | {
      /** Replace: ECS drains the task's Service Connect proxy, stops it and starts another. */
      readonly kind: "stop-task";
      readonly key: string;
      readonly serviceId: string;
      readonly serviceName: string;
      readonly instanceId: string;
      readonly cluster: string;
      readonly taskArn: string;
      /** `CLUSTER/SERVICE` of the ECS service, for the cooldown. */
      readonly ecsService: string;
      readonly reason: string;
      readonly dryRun: boolean;
    }
) & { readonly basis: ActionBasis };

/** A decision the planner wanted but a safety rule held back. */
export interface Hold {
  readonly key: string;
  readonly serviceName: string;
  readonly instanceId: string;
  readonly rule:
    | "max-unhealthy-percent"
    | "last-instance"
    | "degraded"
    | "task-not-running"
    | "replace-standalone-task"
    | "replace-service-failing"
    | "replace-not-helping"
    | "replace-service-unknown"
    | "replace-service-short"
    | "replace-deployment"
    | "replace-cooldown"
    | "replace-cycle-cap";
  readonly detail: string;
}

/** An instance the planner skipped (malformed, unknown task), reported once per cause. */
export interface Skip {
  readonly key: string;
  readonly serviceName: string;
  readonly instanceId: string;
  readonly problem: string;
}

/** A removal deferred until `missing` more probes of the namespace have landed. */
export interface Wait {
  readonly key: string;
  readonly serviceId: string;
  readonly missing: number;
}

export interface Plan {
  readonly actions: readonly Action[];
  readonly holds: readonly Hold[];
  readonly skips: readonly Skip[];
  /**
   * The new state of each instance this plan observed, assuming no action is applied yet (see
   * `applyAction`); others keep theirs. Fold it in with `foldPlan`: a pass that plans one
   * service then costs that service, not a copy of the namespace's state.
   */
  readonly updates: ReadonlyMap<string, InstanceState>;
  /** Keys whose state should be dropped (task gone and nothing left to do). */
  readonly forget: readonly string[];
  /**
   * Removals that wait for more of the namespace's probes to land before they can tell a failing
   * target from the checker's own network failing (see plan/probe-window.ts).
   */
  readonly waits: readonly Wait[];
  readonly degraded: boolean;
  /** Service-level problems (for example an action that cannot work on that service). */
  readonly warnings: readonly string[];
  readonly probeStats: { readonly probed: number; readonly failed: number };
  /** Failed replacements per ECS service after this plan (see plan/replace-storm.ts). */
  readonly storms?: ReadonlyMap<string, StormEntry>;
}

/** One ECS service's failed replacements (see plan/replace-storm.ts). */
export interface StormEntry {
  /** Task ARN -> epoch ms it was taken out; one entry per task, however often it flaps. */
  readonly failures: ReadonlyMap<string, number>;
  /** Epoch ms replacements stopped; undefined while they go on. */
  readonly stoppedAt?: number;
}

export function instanceKey(serviceId: string, instanceId: string): string {
  return `${serviceId}/${instanceId}`;
}
