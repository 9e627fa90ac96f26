// What ECS says about a task, reduced to the signals the planner acts on.

import type { TaskLookup } from "../domain/types";

const GOING_AWAY = new Set(["DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"]);

/** The task is shutting down: it will never serve again, whatever probes say. */
export function isGoingAway(task: TaskLookup): boolean {
  return (
    task.kind === "task" &&
    (task.task.desiredStatus === "STOPPED" || GOING_AWAY.has(task.task.lastStatus))
  );
}

/** The task no longer exists or has stopped: its instance must never be put back. */
export function isGone(task: TaskLookup): boolean {
  return task.kind === "missing" || (task.kind === "task" && task.task.lastStatus === "STOPPED");
}

/** Safe to put back in rotation: a running task, or an instance that is not an ECS task. */
export function canServe(task: TaskLookup): boolean {
  return (
    task.kind === "not-ecs" ||
    (task.kind === "task" &&
      task.task.lastStatus === "RUNNING" &&
      task.task.desiredStatus === "RUNNING")
  );
}

export function isEcsUnhealthy(task: TaskLookup): boolean {
  return task.kind === "task" && task.task.healthStatus === "UNHEALTHY";
}

export function describeTask(task: TaskLookup): string {
  switch (task.kind) {
    case "task":
      return `lastStatus=${task.task.lastStatus} desiredStatus=${task.task.desiredStatus}`;
    case "missing":
      return "task not found in ECS";
    case "unavailable":
      return "ECS task state unavailable";
    case "not-ecs":
      return "not an ECS task";
  }
}

/** `CLUSTER/SERVICE` of the ECS service a task belongs to; undefined for standalone tasks. */
export function ecsServiceKey(task: TaskLookup): string | undefined {
  if (task.kind !== "task" || !task.task.group?.startsWith("service:")) return undefined;
  const cluster = task.task.clusterArn.slice(task.task.clusterArn.lastIndexOf("/") + 1);
  return `${cluster}/${task.task.group.slice("service:".length)}`;
}
