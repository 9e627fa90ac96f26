// The pure decision step: observations + remembered state + policy -> actions.
// No I/O and no clock: `now` comes in with the input, so every scenario is testable.

import type {
  Action,
  ActionMode,
  EcsServiceState,
  GlobalPolicy,
  Hold,
  InstanceObservation,
  InstanceState,
  Plan,
  ServiceInfo,
  ProbeResult,
  ServiceObservation,
  Skip,
  TaskLookup,
  Wait,
} from "../domain/types";
import {
  basisOf,
  makeAction,
  mayReturn,
  removalReason,
  streakDegraded,
  type Evaluated,
} from "./actions";
import { initialState, observe } from "./fold-observation";
import { judgeStreak, type ProbeHistory } from "./probe-window";
import { firstBrake, isReplacementCandidate, replaceAfterFor } from "./replace-brakes";
import {
  isFailedReplacement,
  noteFailedReplacement,
  releaseStorms,
  stormedServices,
  type StormBook,
} from "./replace-storm";
import {
  canServe,
  describeTask,
  ecsServiceKey,
  isEcsUnhealthy,
  isGone,
  isGoingAway,
} from "./task-signals";

export { ecsServiceKey } from "./task-signals";

export interface PlanInput {
  readonly now: number;
  readonly services: readonly ServiceObservation[];
  readonly state: ReadonlyMap<string, InstanceState>;
  readonly global: GlobalPolicy;
  /**
   * How long after its own mutation the checker trusts its state over a Cloud Map listing
   * (Cloud Map applies changes asynchronously, so an early listing can be stale).
   */
  readonly settleMs: number;
  /** ECS services of replacement candidates (`CLUSTER/SERVICE`), as DescribeServices saw them. */
  readonly ecsServices?: ReadonlyMap<string, EcsServiceState>;
  /** Epoch ms of the last replacement per ECS service (`CLUSTER/SERVICE`). */
  readonly lastReplacement?: ReadonlyMap<string, number>;
  /**
   * The cycle's probes so far, when `services` carries only the ones that landed since the last
   * pass (a pass mid-cycle): the degraded rule judges all of them. Default: the probes in
   * `services`.
   */
  readonly probeStats?: { readonly probed: number; readonly failed: number };
  /**
   * Plan replacements (default true). A pass mid-cycle leaves them to the cycle's end: they wait
   * minutes anyway, and need the ECS services described.
   */
  readonly replacements?: boolean;
  /**
   * The namespace's probe results over time, for the degraded rule over each removal's failure
   * streak. Without it only the per-cycle rule applies.
   */
  readonly history?: ProbeHistory;
  /** Probes a cycle makes in the whole namespace (default: the probes in `services`). */
  readonly namespaceProbes?: number;
  /**
   * Failed replacements per ECS service (see replace-storm.ts), and the interval (how long a
   * task has passed). The plan returns the book as it leaves it.
   */
  readonly storms?: { readonly book: StormBook; readonly intervalMs: number };
}

/** The degraded rule: most of enough probes failed at once. */
export function isDegraded(
  stats: { readonly probed: number; readonly failed: number },
  global: GlobalPolicy,
): boolean {
  return (
    stats.probed >= global.degradedMinInstances &&
    stats.failed * 100 > stats.probed * global.degradedFailPercent
  );
}

/** `auto` picks the lever the service supports; an explicit setting wins. */
export function resolveActionMode(
  service: ServiceInfo,
  setting: ServiceObservation["policy"]["action"],
): { mode: ActionMode; warning?: string } {
  if (setting === "auto") return { mode: service.customHealth ? "custom-status" : "deregister" };
  if (setting === "custom-status" && !service.customHealth) {
    return {
      mode: "observe",
      warning:
        `service ${service.name} (${service.id}) has no custom health config, so action ` +
        `custom-status cannot work there (Cloud Map answers CustomHealthNotFound); observing only`,
    };
  }
  return { mode: setting };
}

export function plan(input: PlanInput): Plan {
  const probeStats = input.probeStats ?? countProbes(input.services);
  const degraded = isDegraded(probeStats, input.global);

  const out: Out = {
    namespaceProbes: input.namespaceProbes ?? probeStats.probed,
    waits: [],
    updates: new Map<string, InstanceState>(),
    actions: [] as Action[],
    holds: [] as Hold[],
    skips: [] as Skip[],
    forget: [] as string[],
    warnings: [] as string[],
    storms: input.storms?.book ?? new Map(),
  };
  const replaceable: Evaluated[] = [];
  for (const svc of input.services) planService(svc, input, degraded, out, replaceable);
  if (input.replacements !== false) planReplacements(replaceable, input, degraded, out);
  const { actions, holds, skips, updates, forget, warnings, waits, storms } = out;
  return { actions, holds, skips, updates, forget, warnings, waits, degraded, probeStats, storms };
}

function countProbes(services: readonly ServiceObservation[]): { probed: number; failed: number } {
  let probed = 0;
  let failed = 0;
  for (const svc of services) {
    for (const obs of svc.instances) {
      if (!counts(obs)) continue;
      probed++;
      if (!obs.probe.ok) failed++;
    }
  }
  return { probed, failed };
}

/** A probe result that says something about the target (not the checker's own error). */
function counts(obs: InstanceObservation): obs is InstanceObservation & { probe: ProbeResult } {
  return obs.probe !== undefined && obs.probe.local !== true && obs.problem === undefined;
}

type Out = {
  namespaceProbes: number;
  waits: Wait[];
  updates: Map<string, InstanceState>;
  actions: Action[];
  holds: Hold[];
  skips: Skip[];
  forget: string[];
  warnings: string[];
  storms: StormBook;
};

function planService(
  svc: ServiceObservation,
  input: PlanInput,
  degraded: boolean,
  out: Out,
  replaceable: Evaluated[],
): void {
  const { mode, warning } = resolveActionMode(svc.service, svc.policy.action);
  if (warning) out.warnings.push(warning);
  const serviceName = svc.service.name;
  const evaluated: Evaluated[] = [];

  for (const obs of svc.instances) {
    const prev = input.state.get(obs.key);
    const skip = (problem: string): void => {
      out.skips.push({ key: obs.key, serviceName, instanceId: obs.record.instanceId, problem });
    };
    if (!obs.registered) {
      // Not in Cloud Map: only instances the checker took out are worth remembering.
      const recentlyMutated =
        prev?.mutatedAt !== undefined && input.now - prev.mutatedAt < input.settleMs;
      const ours = prev !== undefined && prev.removedByChecker && mode === "deregister";
      if (prev === undefined || (!ours && !recentlyMutated) || (ours && isGone(obs.task))) {
        if (prev !== undefined) out.forget.push(obs.key);
        continue;
      }
    }
    if (obs.problem !== undefined) {
      skip(obs.problem);
      continue;
    }
    if (obs.registered && obs.task.kind === "missing") {
      skip(`ECS task ${obs.record.instanceId} not found (unknown task)`);
      continue;
    }

    const base = prev ?? initialState(obs, svc.service, input.now);
    const next = observe(base, obs, svc, mode, input, degraded);
    out.updates.set(obs.key, next);
    evaluated.push({ obs, next, goingAway: isGoingAway(obs.task) });
  }

  const act = (e: Evaluated, takeOut: boolean, reason: string): void => {
    out.actions.push(makeAction(e, svc.service, mode, takeOut, reason, basisOf(e, takeOut)));
    if (takeOut && !e.goingAway) noteIfReplacementFailed(e, input, out);
  };
  const hold = (e: Evaluated, rule: Hold["rule"], detail: string): void => {
    out.holds.push({
      key: e.obs.key,
      serviceName,
      instanceId: e.obs.record.instanceId,
      rule,
      detail,
    });
  };

  // Going-away tasks leave at once: ECS, not our probes, says so, and they stop serving anyway.
  for (const e of evaluated) {
    if (e.goingAway && e.next.inRotation) {
      act(e, true, `ECS task is going away (${describeTask(e.obs.task)})`);
    }
  }

  // Recoveries: on the current success streak, never on a verdict left over from before a
  // failure (a put-back delayed by AWS or ECS must not happen once the target fails again).
  for (const e of evaluated) {
    if (e.goingAway || e.next.inRotation || !mayReturn(e.next, svc.policy.healthyThreshold))
      continue;
    if (mode === "deregister" && !e.next.removedByChecker) continue;
    if (!canServe(e.obs.task)) {
      hold(e, "task-not-running", `healthy again but not put back: ${describeTask(e.obs.task)}`);
    } else if (degraded) {
      hold(e, "degraded", "checker degraded this cycle: not putting back");
    } else {
      act(e, false, `${e.next.consecutiveSuccesses} consecutive successful checks`);
    }
  }

  // Removals, within the cap. Going-away tasks neither count toward it nor consume it.
  const active = evaluated.filter((e) => !e.goingAway);
  if (input.storms !== undefined && out.storms.size > 0) {
    const witnesses = active.map((e) => ({
      ecsService: ecsServiceKey(e.obs.task),
      task: e.obs.task,
      state: e.next,
    }));
    const { intervalMs } = input.storms;
    out.storms = releaseStorms(out.storms, witnesses, input.lastReplacement, intervalMs, input.now);
  }
  const total = active.length;
  let outOfRotation = active.filter((e) => !e.next.inRotation).length;
  const capOut = Math.floor((total * svc.policy.maxUnhealthyPercent) / 100);
  // One held by a cap whose last check passed is on its way back: taking it out once the cap
  // frees would remove a target that answers (it goes again if it fails again).
  const candidates = active
    .filter(
      (e) => e.next.verdict === "unhealthy" && e.next.inRotation && e.next.consecutiveFailures > 0,
    )
    .sort(
      (a, b) =>
        (a.next.unhealthySince ?? 0) - (b.next.unhealthySince ?? 0) ||
        a.obs.key.localeCompare(b.obs.key),
    );
  for (const e of candidates) {
    if (degraded) {
      hold(e, "degraded", "checker degraded this cycle: most probes failed at once");
    } else if (outOfRotation >= total - 1) {
      hold(e, "last-instance", `would leave ${serviceName} with no instance in rotation`);
    } else if (outOfRotation >= capOut) {
      hold(
        e,
        "max-unhealthy-percent",
        `${outOfRotation}/${total} already out of rotation (max ${svc.policy.maxUnhealthyPercent}%)`,
      );
    } else {
      const ecs = isEcsUnhealthy(e.obs.task);
      const since = e.next.failingSince ?? e.next.unhealthySince ?? input.now;
      const streak = ecs
        ? ({ kind: "ok" } as const)
        : judgeStreak(since, input.history, out.namespaceProbes, input.global);
      if (streak.kind === "wait") {
        out.waits.push({ key: e.obs.key, serviceId: svc.service.id, missing: streak.missing });
      } else if (streak.kind === "degraded") {
        hold(e, "degraded", streakDegraded(streak));
      } else {
        act(e, true, removalReason(e));
        outOfRotation++;
      }
    }
  }

  // Replacement candidates: unhealthy long enough, and out of rotation by now (an instance the
  // cap keeps in rotation is never replaced: the cap applies to replacements too).
  const replaceAfter = replaceAfterFor(svc.policy.replaceAfterMs, svc.service);
  if (replaceAfter === undefined) return;
  const removedNow = new Set(out.actions.filter((a) => a.kind !== "stop-task").map((a) => a.key));
  const serviceChecks = checksOf(active);
  for (const e of active) {
    if (
      isReplacementCandidate(e.next, e.obs.task, removedNow.has(e.obs.key), input.now, replaceAfter)
    )
      replaceable.push({ ...e, mode, service: svc.service, serviceChecks });
  }
}

/** A service's tasks with a latest check, and how many of those fail it (or fail ECS's). */
function checksOf(active: readonly Evaluated[]): { probed: number; failed: number } {
  let probed = 0;
  let failed = 0;
  for (const { next, obs } of active) {
    if (next.consecutiveFailures > 0 || isEcsUnhealthy(obs.task)) failed++;
    else if (next.consecutiveSuccesses === 0) continue;
    probed++;
  }
  return { probed, failed };
}

/** A task started after its service's last replacement taken out: that replacement failed. */
function noteIfReplacementFailed(e: Evaluated, input: PlanInput, out: Out): void {
  const key = ecsServiceKey(e.obs.task);
  if (key === undefined || e.obs.task.kind !== "task") return;
  if (!isFailedReplacement(e.obs.task, e.next, input.lastReplacement?.get(key), input.now)) return;
  out.storms = noteFailedReplacement(out.storms, key, e.obs.task.task.taskArn, input.now);
}

/** Replacements across services, through every brake, oldest failure first. */
function planReplacements(
  replaceable: Evaluated[],
  input: PlanInput,
  degraded: boolean,
  out: Out,
): void {
  const sorted = [...replaceable].sort(
    (a, b) => (a.next.unhealthySince ?? 0) - (b.next.unhealthySince ?? 0),
  );
  const replacedThisCycle = new Set<string>();
  const stormed = stormedServices(out.storms);
  for (const e of sorted) {
    const key = ecsServiceKey(e.obs.task);
    const held = firstBrake(
      { ecsService: key, serviceChecks: e.serviceChecks },
      {
        now: input.now,
        global: input.global,
        degraded,
        ecsServices: input.ecsServices,
        lastReplacement: input.lastReplacement,
        replacedThisCycle,
        countThisCycle: replacedThisCycle.size,
        stormed,
      },
    );
    if (held !== undefined) {
      out.holds.push({
        key: e.obs.key,
        serviceName: e.service!.name,
        instanceId: e.obs.record.instanceId,
        ...held,
      });
      continue;
    }
    replacedThisCycle.add(key!);
    const task = e.obs.task as Extract<TaskLookup, { kind: "task" }>;
    const unhealthyFor = Math.round((input.now - (e.next.unhealthySince ?? input.now)) / 1000);
    out.actions.push({
      kind: "stop-task",
      key: e.obs.key,
      serviceId: e.next.serviceId,
      serviceName: e.service!.name,
      instanceId: e.next.instanceId,
      cluster: task.task.clusterArn,
      taskArn: task.task.taskArn,
      ecsService: key!,
      reason: `cloudmap-health-checker: unhealthy for ${unhealthyFor}s (${removalReason(e)})`,
      dryRun: e.mode === "observe",
      basis: basisOf(e, true),
    });
  }
}

export { mayReturn, streakDegraded } from "./actions";
