// The rules that decide, within a cycle, when and what to plan: which tasks ECS must be asked
// about, whether a pass before the cycle's end may act, which services go first, and what the
// rate limit leaves for the next cycle. Pure: the cycle engine hands in what it saw.

import type { Action, GlobalPolicy, InstanceState, ServiceObservation } from "../domain/types";
import { isDegraded } from "./planner";
import { ecsServiceKey } from "./task-signals";
import type { ProbeHistory } from "./probe-window";
import { replaceAfterFor } from "./replace-brakes";

/**
 * Instance IDs whose cached ECS state (a RUNNING from an earlier DescribeTasks, with this cycle's
 * ListTasks) could decide something, so ECS must be asked afresh. A task is steady when it cannot:
 * its instance is healthy and in rotation, or out of rotation with its probes still failing where
 * a recovery needs more than one success. Only a recovery acts on the latter, and its first
 * success makes it unsteady, so ECS is asked before the put-back.
 */
export function unsteadyTaskIds(
  states: Iterable<InstanceState>,
  healthyThresholdOf: (serviceId: string) => number | undefined,
): Set<string> {
  const unsteady = new Set<string>();
  for (const st of states) {
    const serving = st.verdict === "healthy" && st.inRotation;
    const stillFailing =
      st.verdict === "unhealthy" &&
      !st.inRotation &&
      st.consecutiveSuccesses === 0 &&
      (healthyThresholdOf(st.serviceId) ?? 1) > 1;
    if (!serving && !stillFailing) unsteady.add(st.instanceId);
  }
  return unsteady;
}

/** What a pass before the cycle's end knows about the cycle so far. */
export interface PassMoment {
  readonly now: number;
  /** No mid-cycle pass starts after this: the cycle's end plans what is left. */
  readonly passBy: number;
  readonly aborted: boolean;
  /** This replica holds the lease and may act. */
  readonly mayAct: boolean;
  /** The last cycle's end found the checker degraded. */
  readonly lastDegraded: boolean;
  /** This cycle's probes so far. */
  readonly probed: number;
  readonly failed: number;
}

/**
 * A pass may decide before the cycle's end only while this replica may act, in time, after a
 * cycle that was not degraded and with the probes so far not degraded either (the cycle's end
 * judges the whole cycle again).
 */
export function mayDecideNow(m: PassMoment, global: GlobalPolicy): boolean {
  return (
    !m.aborted &&
    m.now < m.passBy &&
    m.mayAct &&
    !m.lastDegraded &&
    !isDegraded({ probed: m.probed, failed: m.failed }, global)
  );
}

/**
 * Whether a service's results landed so far may be planned now. Where one failure removes a
 * target (`hairTrigger`), they wait until enough of the namespace's probes landed after the
 * oldest of them to tell a failing target from the checker's own network failing; folded
 * sooner, such failures would count towards verdicts. A namespace too small for the degraded
 * rule has nothing to wait for.
 */
export function resultsToldApart(
  oldestPendingAt: number | undefined,
  ctx: ToldApartContext,
): boolean {
  return probesStillMissing(oldestPendingAt, ctx) === 0;
}

export interface ToldApartContext {
  readonly hairTrigger: boolean;
  readonly namespaceProbes: number;
  readonly history: ProbeHistory;
  readonly global: GlobalPolicy;
}

/** How many more of the namespace's probes must land before `resultsToldApart` (0: none). */
export function probesStillMissing(
  oldestPendingAt: number | undefined,
  ctx: ToldApartContext,
): number {
  const min = ctx.global.degradedMinInstances;
  if (!ctx.hairTrigger || ctx.namespaceProbes < min || oldestPendingAt === undefined) return 0;
  return Math.max(0, min - ctx.history.since(oldestPendingAt).probed);
}

/** What `servicesToPlanFirst` sees of one listed instance. */
export interface ListedTask {
  readonly registered: boolean;
  /** Its ID is an ECS task ID in a known cluster. */
  readonly ecsTask: boolean;
  readonly instanceId: string;
  /** In rotation by the checker's state (true when it has none yet). */
  readonly inRotation: boolean;
}

/**
 * Indexes of the services to plan as the cycle starts, before any probe lands: one with a task
 * ECS is stopping that is still in rotation (it leaves at once, not after this cycle's probes),
 * and one where the rate limit left changes undone last cycle (which then get the whole interval).
 */
export function servicesToPlanFirst(
  services: ReadonlyArray<{
    readonly serviceId: string;
    readonly instances: readonly ListedTask[];
  }>,
  backlog: ReadonlySet<string>,
  goingAway: (taskId: string) => boolean,
): Set<number> {
  const first = new Set<number>();
  services.forEach(({ serviceId, instances }, k) => {
    const leaving = (i: ListedTask): boolean =>
      i.registered && i.ecsTask && i.inRotation && goingAway(i.instanceId);
    if (backlog.has(serviceId) || instances.some(leaving)) first.add(k);
  });
  return first;
}

/**
 * IDs of the services the next cycle starts on: those of the actions left undone (by the rate
 * limit or the deadline), as many actions as the rate limit allows in an interval. More would
 * plan services whose turn cannot come before the cycle's end plans them anyway.
 */
export function nextBacklog(
  actions: readonly Action[],
  done: ReadonlySet<string>,
  maxMutationsPerSecond: number,
  intervalMs: number,
): Set<string> {
  return new Set(
    actions
      .filter((a) => !done.has(a.key))
      .slice(0, Math.ceil((maxMutationsPerSecond * intervalMs) / 1000))
      .map((a) => a.serviceId),
  );
}

/**
 * `CLUSTER/SERVICE` of the ECS services to describe this cycle: those of replacement candidates
 * only (instances already judged unhealthy where replacing is on), so a healthy namespace costs
 * no DescribeServices call.
 */
export function ecsServicesToDescribe(
  services: readonly ServiceObservation[],
  state: ReadonlyMap<string, InstanceState>,
): string[] {
  const keys = new Set<string>();
  for (const s of services) {
    if (replaceAfterFor(s.policy.replaceAfterMs, s.service) === undefined) continue;
    for (const o of s.instances) {
      const key = ecsServiceKey(o.task);
      if (key !== undefined && state.get(o.key)?.verdict === "unhealthy") keys.add(key);
    }
  }
  return [...keys];
}
