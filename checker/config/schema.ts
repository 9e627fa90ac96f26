// The single list of the checker's options. The CLI, the environment parser, the README table
// and the Pulumi component all read this list, so none of them can drift from the others.

export interface OptionSpec {
  readonly key: string;
  readonly flag: `--${string}`;
  readonly env: `CMHC_${string}`;
  /** Placeholder in help text, e.g. `<duration>`. */
  readonly valueName: string;
  /** Default in the form a user would type it; undefined when there is none. */
  readonly default: string | undefined;
  readonly description: string;
  /**
   * The value's shape where it is not text (the Pulumi component, stack config and rollout
   * flags take it typed): a number, a list of names, or a JSON object.
   */
  readonly shape?: "number" | "list" | "json";
  /**
   * Not a checker setting of the component: it sets this one itself (the namespace and state
   * table from its own args, the listen address from `statusPort`).
   */
  readonly deployment?: true;
}

export const OPTIONS = [
  {
    key: "namespace",
    flag: "--namespace",
    env: "CMHC_NAMESPACE",
    valueName: "id-or-name",
    default: undefined,
    description: "Cloud Map namespace ID (ns-...) or name (required)",
    deployment: true,
  },
  {
    key: "services",
    flag: "--services",
    env: "CMHC_SERVICES",
    valueName: "names",
    default: undefined,
    description: "comma-separated allow-list of Cloud Map service names (default: all)",
    shape: "list",
  },
  {
    key: "interval",
    flag: "--interval",
    env: "CMHC_INTERVAL",
    valueName: "duration",
    default: "10s",
    description: "time between cycles; each instance is probed once per interval",
  },
  {
    key: "timeout",
    flag: "--timeout",
    env: "CMHC_TIMEOUT",
    valueName: "duration",
    default: "2s",
    description: "per-probe timeout; must be below the interval",
  },
  {
    key: "unhealthyThreshold",
    flag: "--unhealthy-threshold",
    env: "CMHC_UNHEALTHY_THRESHOLD",
    valueName: "n",
    default: "3",
    description: "consecutive failures before an instance is taken out of rotation",
    shape: "number",
  },
  {
    key: "healthyThreshold",
    flag: "--healthy-threshold",
    env: "CMHC_HEALTHY_THRESHOLD",
    valueName: "n",
    default: "2",
    description: "consecutive successes before it is put back",
    shape: "number",
  },
  {
    key: "checkProtocol",
    flag: "--check-protocol",
    env: "CMHC_CHECK_PROTOCOL",
    valueName: "auto|http|https|http2|http2s|grpc|grpcs|tcp",
    default: "auto",
    description:
      "probe protocol; auto: per task from its task definition's port mapping appProtocol (http, http2, grpc; none: tcp), http for services ECS does not manage. https, http2s and grpcs use TLS without verifying certificates",
  },
  {
    key: "grpcService",
    flag: "--grpc-service",
    env: "CMHC_GRPC_SERVICE",
    valueName: "name",
    default: undefined,
    description:
      "service a gRPC health check asks about (grpc.health.v1 Check); default: the server as a whole",
  },
  {
    key: "checkPath",
    flag: "--check-path",
    env: "CMHC_CHECK_PATH",
    valueName: "path",
    default: "/health",
    description: "HTTP(S) path to GET",
  },
  {
    key: "checkPort",
    flag: "--check-port",
    env: "CMHC_CHECK_PORT",
    valueName: "port",
    default: undefined,
    description: "port to probe (default: the instance's AWS_INSTANCE_PORT)",
    shape: "number",
  },
  {
    key: "expectedStatus",
    flag: "--expected-status",
    env: "CMHC_EXPECTED_STATUS",
    valueName: "codes",
    default: "200-399",
    description: "healthy HTTP statuses, codes and ranges: 200,204,300-399",
  },
  {
    key: "action",
    flag: "--action",
    env: "CMHC_ACTION",
    valueName: "auto|deregister|custom-status|observe",
    default: "auto",
    description: "how to take instances out of rotation (auto: per service)",
  },
  {
    key: "maxUnhealthyPercent",
    flag: "--max-unhealthy-percent",
    env: "CMHC_MAX_UNHEALTHY_PERCENT",
    valueName: "percent",
    default: "50",
    description: "most of a service that may be out of rotation at once",
    shape: "number",
  },
  {
    key: "startupGrace",
    flag: "--startup-grace",
    env: "CMHC_STARTUP_GRACE",
    valueName: "duration",
    default: "60s",
    description: "failures of a task younger than this do not count",
  },
  {
    key: "replaceAfter",
    flag: "--replace-after",
    env: "CMHC_REPLACE_AFTER",
    valueName: "duration|off|auto",
    default: "auto",
    description:
      "stop (replace) a service's task that stays unhealthy and out of rotation this long; auto: 1m for services ECS manages (Service Connect), whose proxies ECS drains only when a task stops, off for others",
  },
  {
    key: "replaceCooldown",
    flag: "--replace-cooldown",
    env: "CMHC_REPLACE_COOLDOWN",
    valueName: "duration",
    default: "5m",
    description: "at most one replacement per ECS service per this period",
  },
  {
    key: "maxReplacementsPerCycle",
    flag: "--max-replacements-per-cycle",
    env: "CMHC_MAX_REPLACEMENTS_PER_CYCLE",
    valueName: "n",
    default: "1",
    description: "at most this many replacements per cycle, across services",
    shape: "number",
  },
  {
    key: "degradedFailPercent",
    flag: "--degraded-fail-percent",
    env: "CMHC_DEGRADED_FAIL_PERCENT",
    valueName: "percent",
    default: "80",
    description: "failed share of a cycle's probes above which the checker calls itself degraded",
    shape: "number",
  },
  {
    key: "degradedMinInstances",
    flag: "--degraded-min-instances",
    env: "CMHC_DEGRADED_MIN_INSTANCES",
    valueName: "n",
    default: "5",
    description: "fewer probed instances never make a cycle degraded",
    shape: "number",
  },
  {
    key: "concurrency",
    flag: "--concurrency",
    env: "CMHC_CONCURRENCY",
    valueName: "n|auto",
    default: "auto",
    description:
      "probes in flight at once; auto: enough that probes which all hang until their timeout still fit in the cycle (64 to 256), and more where targets answer slowly (by the mean probe time, up to 2048)",
  },
  {
    key: "resyncInterval",
    flag: "--resync-interval",
    env: "CMHC_RESYNC_INTERVAL",
    valueName: "duration",
    default: "5m",
    description: "full re-list of instances at least this often, whatever the revision says",
  },
  {
    key: "maxMutationsPerSecond",
    flag: "--max-mutations-per-second",
    env: "CMHC_MAX_MUTATIONS_PER_SECOND",
    valueName: "rate",
    default: "5",
    description: "rate limit on Cloud Map writes",
    shape: "number",
  },
  {
    key: "serviceOverrides",
    flag: "--service-overrides",
    env: "CMHC_SERVICE_OVERRIDES",
    valueName: "json",
    default: undefined,
    description: "JSON object of per-service overrides keyed by Cloud Map service name",
    shape: "json",
  },
  {
    key: "stateTable",
    flag: "--state-table",
    env: "CMHC_STATE_TABLE",
    valueName: "name",
    default: undefined,
    description:
      "DynamoDB table for durable removal records and the replica lease (default: in memory)",
    deployment: true,
  },
  {
    key: "listen",
    flag: "--listen",
    env: "CMHC_LISTEN",
    valueName: "host:port",
    default: "0.0.0.0:9090",
    description: "address of /healthz, /livez, /metrics and /status",
    deployment: true,
  },
  {
    key: "logLevel",
    flag: "--log-level",
    env: "CMHC_LOG_LEVEL",
    valueName: "level",
    default: "info",
    description: "trace, debug, info, warn, error, fatal or silent",
  },
  {
    key: "metricsFormat",
    flag: "--metrics-format",
    env: "CMHC_METRICS_FORMAT",
    valueName: "format",
    default: "auto",
    description:
      "emf: CloudWatch metrics as Embedded Metric Format records among the logs (the awslogs driver ships them, CloudWatch extracts them); off: none; auto: emf when running on ECS, else off",
  },
] as const satisfies readonly OptionSpec[];

export type OptionKey = (typeof OPTIONS)[number]["key"];

/** The options that are checker settings of the component, stack config and rollout. */
export type SettingKey = Exclude<(typeof OPTIONS)[number], { deployment: true }>["key"];

export const SETTING_KEYS = OPTIONS.filter((o) => !("deployment" in o)).map(
  (o) => o.key,
) as readonly SettingKey[];

/** Option values as strings, the way a user or the Pulumi component writes them. */
export type Settings = Partial<Record<OptionKey, string>>;

export function optionSpec(key: OptionKey): OptionSpec {
  return OPTIONS.find((o) => o.key === key)!;
}

/** How every message names a setting: `--listen / CMHC_LISTEN`. */
export function settingLabel(key: OptionKey): string {
  const o = optionSpec(key);
  return `${o.flag} / ${o.env}`;
}

/** Keys a per-service override may set (JSON keys of CMHC_SERVICE_OVERRIDES). */
export const OVERRIDE_KEYS = [
  "checkProtocol",
  "grpcService",
  "checkPath",
  "checkPort",
  "expectedStatus",
  "timeout",
  "unhealthyThreshold",
  "healthyThreshold",
  "startupGrace",
  "maxUnhealthyPercent",
  "action",
  "replaceAfter",
] as const satisfies readonly OptionKey[];

export type OverrideKey = (typeof OVERRIDE_KEYS)[number];
