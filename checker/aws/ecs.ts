// EcsPort over the AWS SDK: DescribeTasks per cluster, 100 tasks a call (the API's limit).

import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  paginateListTasks,
  StopTaskCommand,
  type ECSClient,
  type Task,
} from "@aws-sdk/client-ecs";
import type { EcsServiceState, TaskDefinitionPorts, TaskInfo, TaskLookup } from "../domain/types";
import type { EcsPort, TaskRef } from "../ports";
import { pool } from "../util/pool";
import { describeAwsError } from "./errors";

const BATCH = 100;
const DESCRIBE_CONCURRENCY = 4;

/** Task ID from an ID or ARN (`arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID`). */
export function taskIdOf(idOrArn: string): string {
  return idOrArn.slice(idOrArn.lastIndexOf("/") + 1);
}

export class SdkEcs implements EcsPort {
  constructor(private readonly client: ECSClient) {}

  async describeTasks(refs: readonly TaskRef[]): Promise<Map<string, TaskLookup>> {
    const byCluster = new Map<string, string[]>();
    for (const r of refs) {
      const ids = byCluster.get(r.cluster) ?? [];
      ids.push(taskIdOf(r.taskId));
      byCluster.set(r.cluster, ids);
    }
    const out = new Map<string, TaskLookup>();
    const batches: Array<{ cluster: string; batch: string[] }> = [];
    for (const [cluster, ids] of byCluster) {
      const unique = [...new Set(ids)];
      for (let i = 0; i < unique.length; i += BATCH)
        batches.push({ cluster, batch: unique.slice(i, i + BATCH) });
    }
    // A few calls in flight: a large namespace's reads fit in its interval, well within ECS's
    // DescribeTasks budget (burst 100, 20/s), and adaptive retry backs off if not.
    await pool(batches, DESCRIBE_CONCURRENCY, async ({ cluster, batch }) => {
      try {
        const res = await this.client.send(new DescribeTasksCommand({ cluster, tasks: batch }));
        const asked = new Set(batch);
        for (const t of res.tasks ?? []) {
          const id = t.taskArn ? taskIdOf(t.taskArn) : "";
          if (asked.has(id)) out.set(id, { kind: "task", task: toTaskInfo(t) });
        }
        for (const f of res.failures ?? []) {
          if (!f.arn || !asked.has(taskIdOf(f.arn))) continue;
          // Only MISSING proves absence; any other failure says nothing about the task.
          out.set(
            taskIdOf(f.arn),
            f.reason === "MISSING"
              ? { kind: "missing" }
              : { kind: "unavailable", reason: `DescribeTasks failure: ${f.reason ?? "?"}` },
          );
        }
        // Real ECS lists every asked task in one of the two arrays; silence proves nothing.
        for (const id of batch) if (!out.has(id)) out.set(id, { kind: "unavailable" });
      } catch (err) {
        // A failed call (throttling, outage) must never read as "task gone".
        const reason = describeAwsError(err);
        for (const id of batch) out.set(id, { kind: "unavailable", reason });
      }
    });
    return out;
  }

  async listGoingAway(clusters: readonly string[]): Promise<Set<string> | undefined> {
    const out = new Set<string>();
    try {
      for (const cluster of clusters) {
        const input = { cluster, desiredStatus: "STOPPED" as const, maxResults: 100 };
        for await (const page of paginateListTasks({ client: this.client }, input)) {
          for (const arn of page.taskArns ?? []) out.add(taskIdOf(arn));
        }
      }
      return out;
    } catch {
      // Unknown: the caller describes every task instead.
      return undefined;
    }
  }

  async describeServices(keys: readonly string[]): Promise<Map<string, EcsServiceState>> {
    const byCluster = new Map<string, string[]>();
    for (const key of new Set(keys)) {
      const [cluster, service] = key.split("/");
      if (!cluster || !service) continue;
      byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), service]);
    }
    const out = new Map<string, EcsServiceState>();
    for (const [cluster, services] of byCluster) {
      // DescribeServices takes at most 10 services a call.
      for (let i = 0; i < services.length; i += 10) {
        try {
          const res = await this.client.send(
            new DescribeServicesCommand({ cluster, services: services.slice(i, i + 10) }),
          );
          for (const svc of res.services ?? []) {
            if (!svc.serviceName) continue;
            const primary = svc.deployments?.find((d) => d.status === "PRIMARY");
            out.set(`${cluster}/${svc.serviceName}`, {
              runningCount: svc.runningCount ?? 0,
              desiredCount: svc.desiredCount ?? 0,
              deployments: svc.deployments?.length ?? 0,
              rolloutState: primary?.rolloutState,
            });
          }
        } catch {
          // Unknown state holds every replacement back (a brake), never the reverse.
        }
      }
    }
    return out;
  }

  async describeTaskDefinition(arn: string): Promise<TaskDefinitionPorts> {
    const res = await this.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
    const td = res.taskDefinition;
    return {
      name: td ? `${td.family ?? "?"}:${td.revision ?? "?"}` : arn,
      portMappings: (td?.containerDefinitions ?? []).flatMap((c) =>
        (c.portMappings ?? []).map((m) => ({
          name: m.name,
          containerPort: m.containerPort,
          appProtocol: m.appProtocol,
        })),
      ),
    };
  }

  async stopTask(
    cluster: string,
    taskArn: string,
    reason: string,
    signal?: AbortSignal,
  ): Promise<void> {
    // ECS caps the reason at 255 characters.
    await this.client.send(
      new StopTaskCommand({ cluster, task: taskArn, reason: reason.slice(0, 255) }),
      { abortSignal: signal },
    );
  }
}

function toTaskInfo(t: Task): TaskInfo {
  return {
    taskArn: t.taskArn ?? "",
    clusterArn: t.clusterArn ?? "",
    lastStatus: t.lastStatus ?? "UNKNOWN",
    desiredStatus: t.desiredStatus ?? "UNKNOWN",
    healthStatus: t.healthStatus,
    startedAt: t.startedAt?.getTime(),
    group: t.group,
    ...(t.taskDefinitionArn ? { taskDefinitionArn: t.taskDefinitionArn } : {}),
  };
}
