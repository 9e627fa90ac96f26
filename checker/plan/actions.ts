// The actions and reasons a plan gives: what to send, why, and what it rests on.

import type {
  Action,
  ActionBasis,
  ActionMode,
  InstanceObservation,
  InstanceState,
  ServiceInfo,
} from "../domain/types";
import { registrationToken } from "./apply";
import { isEcsUnhealthy } from "./task-signals";

/** One instance as the planner judged it this cycle. */
export interface Evaluated {
  readonly obs: InstanceObservation;
  readonly next: InstanceState;
  readonly goingAway: boolean;
  /** Set on replacement candidates. */
  readonly mode?: ActionMode;
  readonly service?: ServiceInfo;
  /** Set on replacement candidates: their service's latest checks (see replace-brakes.ts). */
  readonly serviceChecks?: { readonly probed: number; readonly failed: number };
}

export function removalReason(e: Evaluated): string {
  if (isEcsUnhealthy(e.obs.task)) return "ECS reports the task UNHEALTHY";
  const last = e.next.lastProbe?.detail ?? "no probe";
  return `${e.next.consecutiveFailures} consecutive failed checks (last: ${last})`;
}

/** True when a target out of rotation may go back: its current streak passes the threshold. */
export function mayReturn(state: InstanceState, healthyThreshold: number): boolean {
  return (
    state.verdict === "healthy" &&
    state.consecutiveSuccesses >= healthyThreshold &&
    state.lastProbe?.ok === true
  );
}

export function streakDegraded(v: { probed: number; failed: number }): string {
  return (
    `${v.failed} of the namespace's ${v.probed} probes since this target's first failure ` +
    `failed: suspecting the checker's own network, not removing`
  );
}

/** ECS's word for a going-away task or ECS's own health check; else the probes it saw. */
export function basisOf(e: Evaluated, takeOut: boolean): ActionBasis {
  if (e.goingAway || (takeOut && isEcsUnhealthy(e.obs.task))) return { kind: "task" };
  const at = e.next.lastProbe?.at ?? 0;
  if (!takeOut) return { kind: "probes", at };
  return { kind: "probes", at, failingSince: e.next.failingSince ?? e.next.unhealthySince };
}

export function makeAction(
  e: Evaluated,
  service: ServiceInfo,
  mode: ActionMode,
  takeOut: boolean,
  reason: string,
  basis: ActionBasis,
): Action {
  const common = {
    basis,
    key: e.obs.key,
    serviceId: e.next.serviceId,
    serviceName: service.name,
    instanceId: e.next.instanceId,
    reason,
    dryRun: mode === "observe",
  };
  // Observe mode reports the action the service's own lever would take.
  const statusLever = mode === "custom-status" || (mode === "observe" && service.customHealth);
  if (statusLever) {
    return { ...common, kind: "set-status", status: takeOut ? "UNHEALTHY" : "HEALTHY" };
  }
  if (takeOut) return { ...common, kind: "deregister", attributes: e.next.attributes };
  return {
    ...common,
    kind: "register",
    attributes: e.next.attributes,
    creatorRequestId: registrationToken(
      e.next.serviceId,
      e.next.instanceId,
      e.next.removedAt ?? e.next.firstSeen,
    ),
  };
}
