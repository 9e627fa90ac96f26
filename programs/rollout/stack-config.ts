// What one planned stack gets: its full config (the inline program reads it, see
// programs/stack.ts), the ports its ingress rules admit, and a fingerprint of both config and
// tool version that the deployed stack exports, so the next plan can tell no-op from update.

import { createHash } from "node:crypto";
import type { CheckerSettings } from "../../components";
import { CONFIG_NAMESPACE } from "../stack";
import type { DiscoveredNamespace, Placement } from "./types";

/** Settings for every stack (checker settings, image, monitoring), or for one namespace. */
export type StackSettings = CheckerSettings &
  MonitoringSettings & {
    readonly image?: string;
    readonly stateTableName?: string;
    readonly desiredCount?: number;
    readonly clusterArn?: string;
  };

/** The component's dashboard and alarm args, as plain values. */
export interface MonitoringSettings {
  readonly alarms?: boolean;
  readonly dashboard?: boolean;
  readonly alarmTopicArn?: string;
  readonly alarmActions?: string[];
}

/** The stack output holding the fingerprint of the config it was last deployed with. */
export const FINGERPRINT_OUTPUT = "rolloutFingerprint";

export function stackConfig(
  d: DiscoveredNamespace,
  roleArn: string | undefined,
  settings: StackSettings,
): Record<string, string> {
  const p = d.placement!;
  const key = (k: string): string => `${CONFIG_NAMESPACE}:${k}`;
  const config: Record<string, string> = {
    "aws:region": d.region,
    // The provider refuses to touch any other account, whatever the credentials.
    "aws:allowedAccountIds": JSON.stringify([d.accountId]),
    [key("name")]: "checker",
    [key("namespaceId")]: d.namespaceId,
    [key("vpcId")]: p.vpcId,
    [key("subnetIds")]: JSON.stringify(p.subnetIds),
    [key("ecsClusterArns")]: JSON.stringify(p.clusterArns),
  };
  if (roleArn)
    config["aws:assumeRoles"] = JSON.stringify([
      { roleArn, sessionName: "cloudmap-health-checker-rollout" },
    ]);
  const ports = targetPorts(p, settings);
  if (p.targetSecurityGroupIds.length > 0 && ports.length > 0) {
    config[key("targetSecurityGroupIds")] = JSON.stringify(p.targetSecurityGroupIds);
    config[key("targetPorts")] = JSON.stringify(ports);
  }
  for (const [k, v] of Object.entries(settings)) {
    if (v === undefined) continue;
    config[key(k)] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The ports the checker probes, so the ones the tasks' groups must admit: a service's check port
 * (its override's, else the common one) replaces its instance ports; services outside the
 * `services` allow-list are never probed. The common check port is always admitted, for
 * services that appear later.
 */
export function targetPorts(p: Placement, s: StackSettings): number[] {
  const listed = (service: string): boolean => !s.services || s.services.includes(service);
  const ports = new Set<number>();
  if (s.checkPort !== undefined) ports.add(Number(s.checkPort));
  for (const [service, own] of Object.entries(p.servicePorts)) {
    if (!listed(service)) continue;
    const check = s.serviceOverrides?.[service]?.checkPort ?? s.checkPort;
    if (check === undefined) own.forEach((x) => ports.add(x));
  }
  for (const [service, o] of Object.entries(s.serviceOverrides ?? {})) {
    if (o.checkPort !== undefined && listed(service)) ports.add(Number(o.checkPort));
  }
  return [...ports].sort((a, b) => a - b);
}

/** Same config and same tool version give the same fingerprint (the config is sorted). */
export function fingerprint(config: Readonly<Record<string, string>>, toolVersion: string): string {
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => a.localeCompare(b)));
  return createHash("sha256")
    .update(JSON.stringify({ toolVersion, config: sorted }))
    .digest("hex");
}
