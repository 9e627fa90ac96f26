// The program `pulumi up` runs: one CloudMapHealthChecker from stack config.

import * as pulumi from "@pulumi/pulumi";
import { optionSpec, SETTING_KEYS } from "../checker/config";
import {
  CloudMapHealthChecker,
  type CheckerSettings,
  type CloudMapHealthCheckerArgs,
} from "../components";

/** The config namespace: `pulumi config set cloudmap-health-checker:namespaceId ns-...`. */
export const CONFIG_NAMESPACE = "cloudmap-health-checker";

type Choice<K extends keyof CloudMapHealthCheckerArgs> = NonNullable<CloudMapHealthCheckerArgs[K]>;

/**
 * Every checker setting from stack config, read by its shape in the checker's option schema
 * (a number, a list, a JSON object, else text), so a new option needs no change here. Values
 * are checked by the component with the checker's own parser.
 */
export function checkerSettingsFrom(c: pulumi.Config): CheckerSettings {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const shape = optionSpec(key).shape;
    const value =
      shape === "number"
        ? c.getNumber(key)
        : shape === "list" || shape === "json"
          ? c.getObject<unknown>(key)
          : c.get(key);
    if (value !== undefined) out[key] = value;
  }
  return out as CheckerSettings;
}

/** Reads the stack config and creates the checker. */
export function createStack(): CloudMapHealthChecker {
  const c = new pulumi.Config(CONFIG_NAMESPACE);
  const str = <T extends string>(key: string): T | undefined => c.get(key) as T | undefined;
  return new CloudMapHealthChecker(c.get("name") ?? "checker", {
    ...checkerSettingsFrom(c),
    namespaceId: c.require("namespaceId"),
    vpcId: c.require("vpcId"),
    subnetIds: c.requireObject<string[]>("subnetIds"),
    ecsClusterArns: c.requireObject<string[]>("ecsClusterArns"),
    securityGroupIds: c.getObject<string[]>("securityGroupIds"),
    targetSecurityGroupIds: c.getObject<string[]>("targetSecurityGroupIds"),
    targetPorts: c.getObject<number[]>("targetPorts"),
    clusterArn: c.get("clusterArn"),
    image: c.get("image"),
    stateTableName: c.get("stateTableName"),
    cpu: c.getNumber("cpu"),
    memory: c.getNumber("memory"),
    architecture: str<Choice<"architecture">>("architecture"),
    logRetentionInDays: c.getNumber("logRetentionInDays"),
    assignPublicIp: c.getBoolean("assignPublicIp"),
    desiredCount: c.getNumber("desiredCount"),
    statusPort: c.getNumber("statusPort"),
    tags: c.getObject<Record<string, string>>("tags"),
    alarms: c.getBoolean("alarms"),
    alarmTopicArn: c.get("alarmTopicArn"),
    alarmActions: c.getObject<string[]>("alarmActions"),
    dashboard: c.getBoolean("dashboard"),
  });
}
