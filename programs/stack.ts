// The program `pulumi up` runs: one CloudMapHealthChecker from stack config.

import * as pulumi from "@pulumi/pulumi";
import {
  CloudMapHealthChecker,
  type CloudMapHealthCheckerArgs,
  type ServiceOverride,
} from "../components";

/** The config namespace: `pulumi config set cloudmap-health-checker:namespaceId ns-...`. */
export const CONFIG_NAMESPACE = "cloudmap-health-checker";

type Choice<K extends keyof CloudMapHealthCheckerArgs> = NonNullable<CloudMapHealthCheckerArgs[K]>;

/** Reads the stack config and creates the checker. */
export function createStack(): CloudMapHealthChecker {
  const c = new pulumi.Config(CONFIG_NAMESPACE);
  const str = <T extends string>(key: string): T | undefined => c.get(key) as T | undefined;
  return new CloudMapHealthChecker(c.get("name") ?? "checker", {
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
    checkProtocol: str<Choice<"checkProtocol">>("checkProtocol"),
    checkPath: c.get("checkPath"),
    checkPort: c.getNumber("checkPort"),
    expectedStatus: c.get("expectedStatus"),
    interval: c.get("interval"),
    timeout: c.get("timeout"),
    unhealthyThreshold: c.getNumber("unhealthyThreshold"),
    healthyThreshold: c.getNumber("healthyThreshold"),
    action: str<Choice<"action">>("action"),
    maxUnhealthyPercent: c.getNumber("maxUnhealthyPercent"),
    startupGrace: c.get("startupGrace"),
    services: c.getObject<string[]>("services"),
    serviceOverrides: c.getObject<Record<string, ServiceOverride>>("serviceOverrides"),
    logLevel: str<Choice<"logLevel">>("logLevel"),
    replaceAfter: c.get("replaceAfter"),
    replaceCooldown: c.get("replaceCooldown"),
    maxReplacementsPerCycle: c.getNumber("maxReplacementsPerCycle"),
  });
}
