// EcsPort over the AWS SDK: DescribeTasks per cluster, 100 tasks a call (the API's limit).

import { DescribeTasksCommand, type ECSClient, type Task } from "@aws-sdk/client-ecs";
import type { TaskInfo, TaskLookup } from "../domain/types";
import type { EcsPort, TaskRef } from "../ports";

const BATCH = 100;

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
    for (const [cluster, ids] of byCluster) {
      const unique = [...new Set(ids)];
      for (let i = 0; i < unique.length; i += BATCH) {
        const batch = unique.slice(i, i + BATCH);
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
              f.reason === "MISSING" ? { kind: "missing" } : { kind: "unavailable" },
            );
          }
          // Real ECS lists every asked task in one of the two arrays; silence proves nothing.
          for (const id of batch) if (!out.has(id)) out.set(id, { kind: "unavailable" });
        } catch {
          // A failed call (throttling, outage) must never read as "task gone".
          for (const id of batch) out.set(id, { kind: "unavailable" });
        }
      }
    }
    return out;
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
  };
}
