// Folds one cycle's observation of an instance into its state: counters, verdict, rotation.
// Pure; the planner decides on the result.

import type {
  ActionMode,
  InstanceObservation,
  InstanceState,
  ServiceInfo,
  ServiceObservation,
  TaskLookup,
} from "../domain/types";
import type { PlanInput } from "./planner";
import { isEcsUnhealthy, isGoingAway } from "./task-signals";

export function initialState(
  obs: InstanceObservation,
  service: ServiceInfo,
  now: number,
): InstanceState {
  const inRotation = observedInRotation(obs, service);
  return {
    key: obs.key,
    serviceId: obs.record.serviceId,
    instanceId: obs.record.instanceId,
    attributes: obs.record.attributes,
    verdict: inRotation ? "healthy" : "unhealthy",
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    firstSeen: now,
    inRotation,
    removedByChecker: false,
    removedAt: undefined,
    mutatedAt: undefined,
    removalReason: undefined,
    lastProbe: undefined,
    unhealthySince: inRotation ? undefined : now,
    taskArn: undefined,
  };
}

function observedInRotation(obs: InstanceObservation, service: ServiceInfo): boolean {
  if (!obs.registered) return false;
  return service.customHealth ? obs.customStatus !== "UNHEALTHY" : true;
}

/** Fold this cycle's observation into the instance's state (counters, verdict, rotation). */
export function observe(
  base: InstanceState,
  obs: InstanceObservation,
  svc: ServiceObservation,
  mode: ActionMode,
  input: Pick<PlanInput, "now" | "settleMs">,
  degraded: boolean,
): InstanceState {
  const { now } = input;
  let { inRotation, removedByChecker } = base;
  // Trust Cloud Map over our memory once a listing is newer than our last change has had
  // time to settle: someone else (ECS, an operator) may have put the instance back.
  // Observe mode never changes Cloud Map, so its simulated rotation is kept as is.
  const settled = base.mutatedAt === undefined || obs.observedAt >= base.mutatedAt + input.settleMs;
  let verdict = base.verdict;
  let unhealthySince = base.unhealthySince;
  if (mode !== "observe" && settled && base.mutatedAt !== undefined) {
    inRotation = observedInRotation(obs, svc.service);
    if (inRotation && removedByChecker) {
      // Back in rotation without us: judge it afresh from its counters, not from old evidence
      // (a record restored after a restart carries no failure count).
      removedByChecker = false;
      verdict = "healthy";
      unhealthySince = undefined;
    }
  }

  let failures = base.consecutiveFailures;
  let successes = base.consecutiveSuccesses;
  let failingSince = base.failingSince;

  if (isGoingAway(obs.task)) {
    verdict = "unhealthy";
    unhealthySince ??= now;
  } else if (!degraded) {
    // ECS's health status counts with the probe it is read with: one check per probe, however
    // many passes a cycle makes. The checker's own probe errors count for nothing.
    const probe = obs.probe?.local === true ? undefined : obs.probe;
    const ecsUnhealthy = probe !== undefined && isEcsUnhealthy(obs.task);
    const failing = ecsUnhealthy || (probe !== undefined && !probe.ok);
    const succeeding = !ecsUnhealthy && probe !== undefined && probe.ok;
    if (failing) {
      successes = 0;
      if (!inGrace(base, obs.task, svc.policy.startupGraceMs, now)) {
        if (failures === 0) failingSince = ecsUnhealthy ? now : probe!.at;
        failures++;
      }
    } else if (succeeding) {
      successes++;
      failures = 0;
      failingSince = undefined;
    }
    if (verdict === "healthy" && failing && !inRotation) {
      // Out of rotation, a recovery is only as good as its current streak: a failure ends it.
      verdict = "unhealthy";
      unhealthySince = now;
    } else if (verdict === "healthy" && failures >= svc.policy.unhealthyThreshold) {
      verdict = "unhealthy";
      unhealthySince = now;
    } else if (verdict === "unhealthy" && successes >= svc.policy.healthyThreshold) {
      verdict = "healthy";
      unhealthySince = undefined;
    }
  }

  return {
    ...base,
    attributes: obs.registered ? obs.record.attributes : base.attributes,
    verdict,
    consecutiveFailures: failures,
    consecutiveSuccesses: successes,
    inRotation,
    removedByChecker,
    lastProbe: obs.probe !== undefined && obs.probe.local !== true ? obs.probe : base.lastProbe,
    unhealthySince,
    failingSince,
    taskArn: obs.task.kind === "task" ? obs.task.task.taskArn : base.taskArn,
  };
}

function inGrace(base: InstanceState, task: TaskLookup, graceMs: number, now: number): boolean {
  const since =
    task.kind === "task" && task.task.startedAt !== undefined
      ? task.task.startedAt
      : base.firstSeen;
  return now - since < graceMs;
}
