// How a successful (or simulated, in observe mode) action changes an instance's state.
// Kept apart from plan() so a failed mutation leaves the state untouched and is retried.

import { createHash } from "node:crypto";
import type { Action, InstanceState, Plan } from "../domain/types";

export function applyAction(state: InstanceState, action: Action, now: number): InstanceState {
  // A replacement changes nothing in Cloud Map: ECS's going-away signal follows next cycle.
  if (action.kind === "stop-task") return state;
  const takesOut =
    action.kind === "deregister" || (action.kind === "set-status" && action.status === "UNHEALTHY");
  if (takesOut) {
    return {
      ...state,
      inRotation: false,
      removedByChecker: true,
      removedAt: now,
      mutatedAt: now,
      removalReason: action.reason,
    };
  }
  return {
    ...state,
    inRotation: true,
    removedByChecker: false,
    removedAt: undefined,
    mutatedAt: now,
    removalReason: undefined,
  };
}

/**
 * Folds a plan into `state` in place: the new state of what it observed, less what it forgot.
 * Returns the forgotten keys of instances the checker had taken out, whose durable records go
 * too.
 */
export function foldPlan(
  state: Map<string, InstanceState>,
  plan: Pick<Plan, "updates" | "forget">,
): string[] {
  const removed: string[] = [];
  for (const key of plan.forget) {
    if (state.get(key)?.removedByChecker) removed.push(key);
    state.delete(key);
  }
  for (const [key, next] of plan.updates) state.set(key, next);
  return removed;
}

/**
 * CreatorRequestId for re-registering an instance: the same for every retry of one
 * re-registration (so AWS deduplicates), different for the next removal. Max 64 chars.
 */
export function registrationToken(
  serviceId: string,
  instanceId: string,
  removedAt: number,
): string {
  const digest = createHash("sha256")
    .update(`${serviceId}/${instanceId}/${removedAt}`)
    .digest("hex");
  return `cmhc-${digest.slice(0, 40)}`;
}
