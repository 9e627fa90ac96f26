// Construction-time validation: every message names the arg in backticks and says what to do.

import type { CloudMapHealthCheckerArgs } from "./args";
import type { ResolvedArgs } from "./defaults";

const FARGATE_MEMORY: Record<number, readonly [number, number]> = {
  256: [512, 2048],
  512: [1024, 4096],
  1024: [2048, 8192],
  2048: [4096, 16384],
  4096: [8192, 30720],
  8192: [16384, 61440],
  16384: [32768, 122880],
};

// Fargate's runtime platforms; the stack program passes config strings through unchecked.
const ARCHITECTURES: readonly string[] = ["ARM64", "X86_64"];

const LOG_RETENTION = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

export function validateArgs(args: ResolvedArgs): void {
  const problems: string[] = [];
  const missing = (value: unknown): boolean =>
    value === undefined ||
    value === null ||
    value === "" ||
    (Array.isArray(value) && value.length === 0);

  if (missing(args.namespaceId))
    problems.push("`namespaceId` is required: the Cloud Map namespace ID (ns-...) to guard");
  if (missing(args.subnetIds))
    problems.push("`subnetIds` is required: subnets that reach the tasks' private IPs");
  if (missing(args.vpcId))
    problems.push("`vpcId` is required: the VPC of `subnetIds`, for the checker's security group");
  if (missing(args.ecsClusterArns)) {
    problems.push(
      "`ecsClusterArns` is required: the clusters whose tasks the checker may describe (scopes IAM)",
    );
  }
  const groups = args.targetSecurityGroupIds ?? [];
  const ports = args.targetPorts ?? [];
  if (groups.length > 0 && ports.length === 0) {
    problems.push(
      "`targetPorts` is required with `targetSecurityGroupIds`: the ports the checker probes",
    );
  }
  if (ports.length > 0 && groups.length === 0) {
    problems.push(
      "`targetPorts` needs `targetSecurityGroupIds`: the groups to open to the checker",
    );
  }
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      problems.push(`\`targetPorts\`: ${port} is not a port (1-65535)`);
    }
  }
  const statusPort = args.statusPort;
  if (!Number.isInteger(statusPort) || statusPort < 1 || statusPort > 65535) {
    problems.push(`\`statusPort\`: ${statusPort} is not a port (1-65535)`);
  }
  const cpu = args.cpu;
  const memory = args.memory;
  const range = FARGATE_MEMORY[cpu];
  if (!range) {
    problems.push(
      `\`cpu\`: ${cpu} is not a Fargate size; use one of ${Object.keys(FARGATE_MEMORY).join(", ")}`,
    );
  } else if (memory < range[0] || memory > range[1]) {
    problems.push(
      `\`memory\`: ${memory} MiB does not fit \`cpu\` ${cpu}; use ${range[0]}-${range[1]} MiB`,
    );
  }
  const architecture: unknown = args.architecture;
  if (typeof architecture !== "string" || !ARCHITECTURES.includes(architecture)) {
    problems.push(
      `\`architecture\`: ${JSON.stringify(architecture)} is not a Fargate CPU architecture; use ${ARCHITECTURES.join(" or ")} (upper case)`,
    );
  }
  const retention = args.logRetentionInDays;
  if (!LOG_RETENTION.includes(retention)) {
    problems.push(
      `\`logRetentionInDays\`: ${retention} is not a CloudWatch retention; use one of ${LOG_RETENTION.join(", ")}`,
    );
  }
  const desired = args.desiredCount;
  if (!Number.isInteger(desired) || desired < 0 || desired > 10) {
    problems.push(
      `\`desiredCount\`: ${desired} must be an integer from 0 to 10 (replicas share one lease)`,
    );
  }
  problems.push(...monitoringProblems(args));
  if (problems.length > 0) {
    throw new Error(
      `CloudMapHealthChecker: invalid arguments:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
}

/** The args that decide the dashboard and alarms (the rollout's stack settings carry them too). */
export type MonitoringArgs = Pick<
  CloudMapHealthCheckerArgs,
  "metricsFormat" | "alarms" | "dashboard" | "alarmTopicArn" | "alarmActions"
>;

/**
 * Whether the alarms and the dashboard are created: as asked, else only when the checker writes
 * metrics (`metricsFormat` "auto" is EMF on ECS, where the component runs it).
 */
export function monitoringOn(a: MonitoringArgs): { alarms: boolean; dashboard: boolean } {
  const metrics = a.metricsFormat !== "off";
  return { alarms: a.alarms ?? metrics, dashboard: a.dashboard ?? metrics };
}

/** Monitoring args that contradict each other, each message naming them in backticks. */
export function monitoringProblems(a: MonitoringArgs): string[] {
  const problems: string[] = [];
  if (a.metricsFormat === "off") {
    for (const key of ["alarms", "dashboard"] as const) {
      if (a[key] === true) {
        problems.push(
          `\`${key}\` needs the checker's metrics, and \`metricsFormat\` is "off": it would watch nothing; drop one of them`,
        );
      }
    }
  }
  if (!monitoringOn(a).alarms) {
    const why = a.alarms === false ? "`alarms` is false" : '`metricsFormat` "off" creates no alarm';
    if (a.alarmTopicArn !== undefined) {
      problems.push(`\`alarmTopicArn\` is given, but ${why}: no alarm would notify it`);
    }
    const actions = a.alarmActions;
    // A list is given when not empty; one output of a list counts as given.
    if (actions !== undefined && (!Array.isArray(actions) || actions.length > 0)) {
      problems.push(`\`alarmActions\` is given, but ${why}: no alarm would notify them`);
    }
  }
  return problems;
}
