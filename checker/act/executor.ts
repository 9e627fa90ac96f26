// Act step: carry out the planner's actions on Cloud Map, rate-limited, and report each.
// A failed call leaves the instance's state untouched, so the next cycle plans it again.

import type { Action, InstanceState } from "../domain/types";
import { applyAction } from "../plan/apply";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { ActionRecord } from "../observability/status";
import type { CloudMapPort, Clock, EcsPort, StateStore } from "../ports";
import { describeAwsError, isTransientAwsError } from "../aws/errors";
import { LeaseLostError } from "../ports";
import type { LeaseKeeper } from "../cycle/lease-keeper";
import type { StoreHealth } from "../state/store-health";
import type { RateLimiter } from "./rate-limiter";

/** A mutation's answer may come this long after the deadline to start one (see timeLeft). */
const MUTATION_MARGIN_MS = 1000;
const MIN_MUTATION_MS = 1000;

/** AWS answers that mean the change we wanted is already in place (or under way). */
const ALREADY_DONE: Partial<Record<Action["kind"], readonly string[]>> = {
  deregister: ["InstanceNotFound"],
  register: ["DuplicateRequest"],
};

export class Executor {
  constructor(
    private readonly deps: {
      readonly cloudMap: CloudMapPort;
      readonly store: StateStore;
      readonly namespaceId: string;
      readonly clock: Clock;
      readonly logger: Logger;
      readonly metrics: Metrics;
      readonly limiter: RateLimiter;
      readonly storeHealth: StoreHealth;
      readonly leaseKeeper: LeaseKeeper;
      readonly ecs: EcsPort;
      /** Told of every replacement made, for the per-service cooldown. */
      readonly onReplaced: (ecsService: string, at: number) => void;
    },
  ) {}

  /**
   * Applies actions in order until `deadline` (the cycle's end), updating `state` for each that
   * succeeded: what the rate limit leaves undone is planned again next cycle, so a burst of
   * changes never makes cycles late. `staleBecause` is asked right before each is sent (and
   * again after its durable record is written): an action it calls stale is not sent.
   */
  async execute(
    actions: readonly Action[],
    state: Map<string, InstanceState>,
    signal?: AbortSignal,
    deadline = Infinity,
    staleBecause: (action: Action) => string | undefined = () => undefined,
  ): Promise<ActionRecord[]> {
    const records: ActionRecord[] = [];
    for (const action of actions) {
      // The lease may run out mid-way: a replica without it must not act.
      if (signal?.aborted || !this.deps.leaseKeeper.mayAct()) break;
      const record = await this.one(action, state, signal, deadline, staleBecause);
      if (record === "deferred") break;
      if (record) records.push(record);
    }
    return records;
  }

  private async one(
    action: Action,
    state: Map<string, InstanceState>,
    signal: AbortSignal | undefined,
    deadline: number,
    staleBecause: (action: Action) => string | undefined,
  ): Promise<ActionRecord | undefined | "deferred"> {
    const { logger, metrics, clock } = this.deps;
    const prev = state.get(action.key);
    if (!prev) return undefined;
    const base = {
      kind: action.kind,
      ...(action.kind === "set-status" ? { status: action.status } : {}),
      service: action.serviceName,
      serviceId: action.serviceId,
      instanceId: action.instanceId,
      reason: action.reason,
      dryRun: action.dryRun,
    };
    const logFields = base;
    const stale = (): ActionRecord | undefined => {
      const why = staleBecause(action);
      if (why === undefined) return undefined;
      metrics.actions.inc({ service: action.serviceName, kind: action.kind, outcome: "stale" });
      logger.info({ ...logFields, why }, `not sent: ${describe(action)} is no longer true`);
      return { ...base, at: new Date(clock.now()).toISOString(), outcome: "stale", error: why };
    };
    if (action.dryRun) {
      const dropped = stale();
      if (dropped) return dropped;
      state.set(action.key, applyAction(prev, action, clock.now()));
      // A would-be replacement starts the cooldown too, so observe mode reports each once.
      if (action.kind === "stop-task") this.deps.onReplaced(action.ecsService, clock.now());
      metrics.actions.inc({ service: action.serviceName, kind: action.kind, outcome: "dry_run" });
      logger.info(logFields, `observe: would ${describe(action)}`);
      return { ...base, at: new Date(clock.now()).toISOString(), outcome: "dry-run" };
    }
    if (!(await this.deps.limiter.take(signal, deadline))) return "deferred";
    const droppedBefore = stale();
    if (droppedBefore) return droppedBefore;
    if (action.kind === "stop-task") {
      try {
        await this.deps.ecs.stopTask(
          action.cluster,
          action.taskArn,
          action.reason,
          this.timeLeft(deadline),
        );
        this.deps.onReplaced(action.ecsService, clock.now());
        metrics.actions.inc({ service: action.serviceName, kind: action.kind, outcome: "ok" });
        logger.warn({ ...logFields, taskArn: action.taskArn }, describe(action));
        return { ...base, at: new Date(clock.now()).toISOString(), outcome: "ok" };
      } catch (err) {
        const error = describeAwsError(err);
        metrics.actions.inc({ service: action.serviceName, kind: action.kind, outcome: "error" });
        logger.error(
          { ...logFields, err: error },
          `failed to ${describe(action)}; will retry next cycle`,
        );
        return { ...base, at: new Date(clock.now()).toISOString(), outcome: "error", error };
      }
    }
    const next = applyAction(prev, action, clock.now());
    const failed = (error: string): ActionRecord => {
      metrics.actions.inc({ service: action.serviceName, kind: action.kind, outcome: "error" });
      return { ...base, at: new Date(clock.now()).toISOString(), outcome: "error", error };
    };
    if (next.removedByChecker) {
      // Record a removal durably before acting, so a crash right after it loses nothing;
      // without a record, no removal.
      try {
        await this.deps.store.put(this.deps.namespaceId, next);
        this.deps.storeHealth.ok();
      } catch (err) {
        if (err instanceof LeaseLostError) this.deps.leaseKeeper.lost();
        else this.deps.storeHealth.failed(describeAwsError(err));
        logger.error(
          { ...logFields, err: describeAwsError(err) },
          `not acting: could not record the removal`,
        );
        return failed(describeAwsError(err));
      }
      // Writing the record took time: probes may have landed meanwhile.
      const droppedAfter = stale();
      if (droppedAfter) {
        await this.forgetRecord(action.key);
        return droppedAfter;
      }
    }
    try {
      await this.call(action, this.timeLeft(deadline));
      state.set(action.key, next);
      metrics.actions.inc({ service: action.serviceName, kind: action.kind, outcome: "ok" });
      logger.info(logFields, describe(action));
    } catch (err) {
      const error = describeAwsError(err);
      logger.error(
        { ...logFields, err: error, transient: isTransientAwsError(err) },
        `failed to ${describe(action)}; will retry next cycle`,
      );
      return failed(error);
    }
    // Back in rotation: the record has served.
    if (!next.removedByChecker) await this.forgetRecord(action.key);
    return { ...base, at: new Date(clock.now()).toISOString(), outcome: "ok" };
  }

  /** A failed delete leaves a record that the next holder reconciles against Cloud Map, so it
   * is not an error of the action. */
  private async forgetRecord(key: string): Promise<void> {
    try {
      await this.deps.store.delete(this.deps.namespaceId, key);
      this.deps.storeHealth.ok();
    } catch (err) {
      this.deps.storeHealth.failed(describeAwsError(err));
    }
  }

  /**
   * A mutation may take what is left of the cycle (the deadline leaves a margin for its answer),
   * at least MIN_MUTATION_MS. One cut short has an unknown outcome: it is reported as failed and
   * the next cycle reads Cloud Map afresh and plans it again (each mutation is idempotent).
   */
  private timeLeft(deadline: number): AbortSignal | undefined {
    if (!Number.isFinite(deadline)) return undefined;
    const left = deadline - this.deps.clock.now() + MUTATION_MARGIN_MS;
    return AbortSignal.timeout(Math.max(MIN_MUTATION_MS, left));
  }

  private async call(action: Action, signal: AbortSignal | undefined): Promise<void> {
    const { cloudMap } = this.deps;
    try {
      switch (action.kind) {
        case "deregister":
          return await cloudMap.deregisterInstance(action.serviceId, action.instanceId, signal);
        case "register":
          return await cloudMap.registerInstance(
            action.serviceId,
            action.instanceId,
            action.attributes,
            action.creatorRequestId,
            signal,
          );
        case "set-status":
          return await cloudMap.setCustomHealthStatus(
            action.serviceId,
            action.instanceId,
            action.status,
            signal,
          );
        case "stop-task":
          throw new Error("stop-task is not a Cloud Map call");
      }
    } catch (err) {
      const name = (err as { name?: string }).name ?? "";
      if (ALREADY_DONE[action.kind]?.includes(name)) return;
      throw err;
    }
  }
}

function describe(action: Action): string {
  switch (action.kind) {
    case "deregister":
      return "deregister instance";
    case "register":
      return "re-register instance";
    case "set-status":
      return `set custom health status ${action.status}`;
    case "stop-task":
      return "replace task (StopTask)";
  }
}
