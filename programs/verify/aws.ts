// The verify command's AWS side: the client's traffic lines from CloudWatch Logs, and what can be
// found of the network when flags leave it out (the subnets and groups of a service already in
// the cluster, as the rollout finds what it can).

import { CloudWatchLogsClient, paginateFilterLogEvents } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeSubnetsCommand, type EC2Client } from "@aws-sdk/client-ec2";
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  paginateListServices,
  type ECSClient,
} from "@aws-sdk/client-ecs";
import type { TrafficLine } from "../../checker/verify/client";

/** Bad input, named by its flag: exit 2. */
export class FlagError extends Error {}

/** How far back each read starts before the newest event seen: the awslogs driver ships in
 * batches, so an event may land after newer ones (eventIds keep each once). */
const REREAD_MS = 120_000;

/**
 * Reads the client's lines, each once however often asked. Each read starts REREAD_MS before the
 * newest event seen, not at the experiment's start, so a poll costs a window, not the whole log.
 */
export function trafficReader(
  logs: CloudWatchLogsClient,
): (logGroupName: string, fromMs: number) => Promise<TrafficLine[]> {
  const seen = new Map<string, TrafficLine>();
  let newest = 0;
  return async (logGroupName, fromMs) => {
    const pages = paginateFilterLogEvents(
      { client: logs },
      {
        logGroupName,
        logStreamNamePrefix: "verify-client",
        startTime: Math.max(fromMs - 5000, newest - REREAD_MS),
      },
    );
    for await (const page of pages) {
      for (const e of page.events ?? []) {
        newest = Math.max(newest, e.timestamp ?? 0);
        const id = e.eventId ?? `${e.logStreamName}/${e.timestamp}/${e.message}`;
        if (seen.has(id) || e.message === undefined) continue;
        const line = parseLine(e.message);
        if (line !== undefined) seen.set(id, line);
      }
    }
    return [...seen.values()].filter((l) => l.at >= fromMs);
  };
}

/** A traffic line, or undefined for anything else the client logged. */
export function parseLine(message: string): TrafficLine | undefined {
  try {
    const v = JSON.parse(message) as Partial<TrafficLine>;
    if (v.kind !== "verify-traffic" || typeof v.at !== "number" || typeof v.counts !== "object") {
      return undefined;
    }
    return v as TrafficLine;
  } catch {
    return undefined;
  }
}

/** Subnets and security groups of a running awsvpc service in the cluster, when one exists. */
export async function networkOfCluster(
  ecs: ECSClient,
  cluster: string,
): Promise<{ subnets: string[]; securityGroups: string[] } | undefined> {
  for await (const page of paginateListServices({ client: ecs }, { cluster })) {
    const arns = page.serviceArns ?? [];
    for (let i = 0; i < arns.length; i += 10) {
      const out = await ecs.send(
        new DescribeServicesCommand({ cluster, services: arns.slice(i, i + 10) }),
      );
      for (const s of out.services ?? []) {
        const vpc = s.networkConfiguration?.awsvpcConfiguration;
        if (vpc?.subnets?.length) {
          return { subnets: vpc.subnets, securityGroups: vpc.securityGroups ?? [] };
        }
      }
    }
  }
  return undefined;
}

/** The cluster's Service Connect default namespace (its ARN's ID), for a missing --namespace. */
export async function clusterNamespace(ecs: ECSClient, cluster: string): Promise<string> {
  const out = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
  const c = out.clusters?.[0];
  if (c === undefined) throw new FlagError(`--cluster: cluster ${cluster} not found`);
  const arn = c.serviceConnectDefaults?.namespace;
  if (arn === undefined || arn === "") {
    throw new FlagError(
      `--namespace: none given, and cluster ${cluster} has no Service Connect default namespace`,
    );
  }
  return arn.slice(arn.lastIndexOf("/") + 1);
}

export async function vpcOfSubnet(ec2: EC2Client, subnet: string): Promise<string> {
  const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnet] }));
  const vpc = out.Subnets?.[0]?.VpcId;
  if (vpc === undefined) throw new FlagError(`--subnets: subnet ${subnet} not found`);
  return vpc;
}

export { CloudWatchLogsClient };
