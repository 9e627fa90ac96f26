// The last check before an action is sent: it must still be true then, not only when it was
// planned. Actions wait for the rate limit, for the durable record and for AWS; probes land
// meanwhile, and one that contradicts the decision cancels it (the next plan decides afresh).

import type { Action, GlobalPolicy } from "../domain/types";
import { judgeStreak, type ProbeHistory } from "./probe-window";

/** Epoch ms of a target's latest passing and failing answers, folded into state or not. */
export interface LatestAnswers {
  readonly okAt: number | undefined;
  readonly failAt: number | undefined;
}

export interface SendContext {
  readonly latest: LatestAnswers | undefined;
  /** ECS has said, since the decision, that the instance's task is going away. */
  readonly taskGoingAway: boolean;
  readonly history: ProbeHistory | undefined;
  /** Probes a cycle makes in the namespace (see judgeStreak). */
  readonly namespaceProbes: number;
  readonly global: Pick<GlobalPolicy, "degradedFailPercent" | "degradedMinInstances">;
}

export function takesOut(action: Action): boolean {
  return (
    action.kind === "deregister" ||
    action.kind === "stop-task" ||
    (action.kind === "set-status" && action.status === "UNHEALTHY")
  );
}

/** Why `action` is no longer true, or undefined while it is. */
export function staleBecause(action: Action, ctx: SendContext): string | undefined {
  const { basis } = action;
  // ECS's word (a task going away, ECS's own health check) does not age with our probes.
  if (basis.kind === "task") return undefined;
  if (takesOut(action)) {
    const okAt = ctx.latest?.okAt;
    if (okAt !== undefined && okAt > basis.at) {
      return "the target passed a check after the decision";
    }
    if (basis.failingSince !== undefined) {
      const v = judgeStreak(basis.failingSince, ctx.history, ctx.namespaceProbes, ctx.global);
      if (v.kind === "degraded") {
        return (
          `${v.failed} of the namespace's ${v.probed} probes since the target's first failure ` +
          `failed: suspecting the checker's own network`
        );
      }
    }
    return undefined;
  }
  if (ctx.taskGoingAway) return "ECS says the task is going away";
  const failAt = ctx.latest?.failAt;
  if (failAt !== undefined && failAt > basis.at) {
    return "the target failed a check after the decision";
  }
  return undefined;
}
