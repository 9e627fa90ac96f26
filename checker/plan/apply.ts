// How a successful (or simulated, in observe mode) action changes an instance's state.
// Kept apart from plan() so a failed mutation leaves the state untouched and is retried.

import { createHash } from "node:crypto";
import type { Action, InstanceState } from "../domain/types";

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
