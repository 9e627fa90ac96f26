// The brakes on replacing a task (StopTask), as an ordered list of small named rules. Each looks
// at one candidate in the context of the cycle and either holds it back (with the rule's name and
// why) or lets it pass to the next; a candidate that passes them all is replaced. Order matters
// only for which reason a hold gives: the first brake that applies names it.

import type {
  EcsServiceState,
  GlobalPolicy,
  Hold,
  InstanceState,
  TaskLookup,
} from "../domain/types";
import { STORM_FAILURES, STORM_RELEASE_MS, STORM_WINDOW_MS } from "./replace-storm";
import { canServe } from "./task-signals";

/** `replace-after` of `auto` for a service ECS manages (Service Connect). */
export const AUTO_REPLACE_AFTER_MS = 60_000;

/**
 * How long a task of this service stays unhealthy before it is replaced, or undefined: never.
 * `auto` replaces in services ECS manages, where stopping the task is the one lever known to
 * drain it from Service Connect's proxies, and never in others.
 */
export function replaceAfterFor(
  setting: number | "auto" | undefined,
  service: { readonly ecsService?: unknown },
): number | undefined {
  if (setting !== "auto") return setting;
  return service.ecsService !== undefined ? AUTO_REPLACE_AFTER_MS : undefined;
}

/**
 * A task to consider replacing: unhealthy for `replaceAfterMs`, its task still serving, and out
 * of rotation by now (`removedNow`: this plan takes it out). One the unhealthy cap keeps in
 * rotation is never replaced: the cap applies to replacements too.
 */
export function isReplacementCandidate(
  next: InstanceState,
  task: TaskLookup,
  removedNow: boolean,
  now: number,
  replaceAfterMs: number,
): boolean {
  const since = next.unhealthySince;
  if (next.verdict !== "unhealthy" || since === undefined || now - since < replaceAfterMs) {
    return false;
  }
  if (task.kind !== "task" || !canServe(task)) return false;
  return !next.inRotation || removedNow;
}

/** What the brakes see of one candidate. */
export interface ReplaceCandidate {
  /** `CLUSTER/SERVICE` of its task's ECS service; undefined for a standalone task. */
  readonly ecsService: string | undefined;
  /** Its Cloud Map service's tasks with a latest check, and how many of those fail it. */
  readonly serviceChecks?: { readonly probed: number; readonly failed: number };
}

/** The cycle around the candidates: read-only for the brakes. */
export interface ReplaceContext {
  readonly now: number;
  readonly global: GlobalPolicy;
  /** The checker judged itself degraded this cycle. */
  readonly degraded: boolean;
  /** DescribeServices as seen this cycle, by `CLUSTER/SERVICE`. */
  readonly ecsServices: ReadonlyMap<string, EcsServiceState> | undefined;
  /** Epoch ms of the last replacement per ECS service (earlier cycles). */
  readonly lastReplacement: ReadonlyMap<string, number> | undefined;
  /** ECS services already given a replacement by this plan. */
  readonly replacedThisCycle: ReadonlySet<string>;
  /** Replacements this plan already makes, across services. */
  readonly countThisCycle: number;
  /** ECS services whose replacements keep failing (see replace-storm.ts). */
  readonly stormed?: ReadonlySet<string>;
}

export type Brake = (
  c: ReplaceCandidate,
  ctx: ReplaceContext,
) => { readonly rule: Hold["rule"]; readonly detail: string } | undefined;

/** A checker that cannot trust its own probes replaces nothing. */
export const whileDegraded: Brake = (_c, ctx) =>
  ctx.degraded
    ? { rule: "degraded", detail: "checker degraded this cycle: not replacing" }
    : undefined;

/** Stopping a task no ECS service owns removes capacity that nothing brings back. */
export const standaloneTask: Brake = (c) =>
  c.ecsService === undefined
    ? {
        rule: "replace-standalone-task",
        detail: "the task belongs to no ECS service: nothing would replace it",
      }
    : undefined;

/**
 * A failure most of a service's tasks share is not one that replacing a task mends (a wrong
 * check path or port, a dependency that is down): it would only churn tasks.
 */
export const serviceWideFailure: Brake = (c) => {
  const s = c.serviceChecks;
  if (s === undefined || s.failed * 2 <= s.probed) return undefined;
  return {
    rule: "replace-service-failing",
    detail:
      `${s.failed} of the service's ${s.probed} checked tasks fail: a cause they share ` +
      "(check path or port, a dependency) is likelier than a bad task, and replacing would not mend it",
  };
};

/** Replacements whose successors fail again do not help: stop until one passes a while. */
export const notHelping: Brake = (c, ctx) =>
  c.ecsService !== undefined && ctx.stormed?.has(c.ecsService) === true
    ? {
        rule: "replace-not-helping",
        detail:
          `the tasks that replaced ${c.ecsService}'s stopped ones were taken out again ` +
          `${STORM_FAILURES} times within ${STORM_WINDOW_MS / 60_000} min: not replacing until one ` +
          `of its new tasks passes for ${STORM_RELEASE_MS / 60_000} min`,
      }
    : undefined;

/** Without DescribeServices' answer the other brakes cannot be judged. */
export const serviceUnknown: Brake = (c, ctx) =>
  c.ecsService !== undefined && !ctx.ecsServices?.has(c.ecsService)
    ? {
        rule: "replace-service-unknown",
        detail: `ECS service ${c.ecsService} could not be described`,
      }
    : undefined;

/** A service already short of tasks would drop further below what it needs. */
export const serviceShort: Brake = (c, ctx) => {
  const s = c.ecsService === undefined ? undefined : ctx.ecsServices?.get(c.ecsService);
  if (s === undefined || s.runningCount >= s.desiredCount) return undefined;
  return {
    rule: "replace-service-short",
    detail: `${c.ecsService} runs ${s.runningCount} of ${s.desiredCount} tasks`,
  };
};

/** During a deployment new tasks may be failing for their own reasons: ECS's circuit breaker
 * judges them, and a replacement would only feed the rollout more of the same. */
export const deploying: Brake = (c, ctx) => {
  const s = c.ecsService === undefined ? undefined : ctx.ecsServices?.get(c.ecsService);
  if (s === undefined) return undefined;
  if (s.deployments <= 1 && (s.rolloutState === undefined || s.rolloutState === "COMPLETED")) {
    return undefined;
  }
  return {
    rule: "replace-deployment",
    detail: `${c.ecsService} is deploying (${s.deployments} deployments, ${s.rolloutState ?? "?"})`,
  };
};

/** One replacement per ECS service per cooldown, this cycle included: let it settle first. */
export const cooldown: Brake = (c, ctx) => {
  if (c.ecsService === undefined) return undefined;
  const last = ctx.lastReplacement?.get(c.ecsService);
  const cooling = last !== undefined && ctx.now - last < ctx.global.replaceCooldownMs;
  if (!cooling && !ctx.replacedThisCycle.has(c.ecsService)) return undefined;
  return {
    rule: "replace-cooldown",
    detail: `${c.ecsService} had a replacement less than ${ctx.global.replaceCooldownMs / 1000}s ago`,
  };
};

/** A bound on replacements across the namespace, whatever else passes. */
export const cycleCap: Brake = (_c, ctx) =>
  ctx.countThisCycle >= ctx.global.maxReplacementsPerCycle
    ? {
        rule: "replace-cycle-cap",
        detail: `already ${ctx.countThisCycle} replacement(s) this cycle`,
      }
    : undefined;

/** Every brake, in the order a hold names its reason. */
export const REPLACE_BRAKES: readonly Brake[] = [
  whileDegraded,
  standaloneTask,
  serviceWideFailure,
  notHelping,
  serviceUnknown,
  serviceShort,
  deploying,
  cooldown,
  cycleCap,
];

/** The first brake that holds the candidate back, or undefined to replace it. */
export function firstBrake(
  c: ReplaceCandidate,
  ctx: ReplaceContext,
  brakes: readonly Brake[] = REPLACE_BRAKES,
): ReturnType<Brake> {
  for (const brake of brakes) {
    const hold = brake(c, ctx);
    if (hold !== undefined) return hold;
  }
  return undefined;
}
