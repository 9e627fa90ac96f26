// ECS task state with as few DescribeTasks calls as the decisions allow. Each cycle one ListTasks
// per cluster (desiredStatus STOPPED) finds every task that is going away; DescribeTasks then
// runs only for tasks that are new, going away, not steadily RUNNING, or not healthy and in
// rotation in our view, plus a staggered refresh of the rest (which catches ECS's own health
// status) at least every `fullPassMs`, or slower where the namespace is so large that this would
// take more than a fifth of the account's ECS budget. When ListTasks fails, every task is described.
// The cycle waits only for the tasks its decisions need; a staggered refresh that ECS (or its
// throttling) is slow to answer lands when it lands, and is not asked again meanwhile.

import type { TaskLookup } from "../domain/types";
import type { Clock, EcsPort, TaskRef } from "../ports";
import { isGoingAway } from "../plan/task-signals";
import { offsetOf } from "../util/offset";

interface Entry {
  readonly lookup: TaskLookup;
  readonly at: number;
}

/** Refresh period for steady tasks: catches ECS UNHEALTHY within about six intervals, 30 s at most. */
export function fullPassMs(intervalMs: number): number {
  return Math.max(intervalMs, Math.min(30_000, 6 * intervalMs));
}

/**
 * DescribeTasks calls a second the steady refresh may use on average. DescribeTasks and ListTasks
 * share one bucket per account and region (20 a second sustained) with every other ECS client:
 * the checker keeps to a fifth of it however large the namespace.
 */
export const REFRESH_CALLS_PER_SECOND = 4;

/**
 * The refresh period for `tasks` steady tasks: `baseMs`, stretched where the budget asks. Ages
 * are staggered over [period/2, period), so the rate is about 1.39 x tasks / period.
 */
export function refreshPeriodMs(baseMs: number, tasks: number): number {
  return Math.max(baseMs, Math.ceil((1000 * 1.39 * tasks) / (100 * REFRESH_CALLS_PER_SECOND)));
}

export class TaskStateCache {
  private readonly entries = new Map<string, Entry>();
  /** DescribeTasks calls saved by the cache, for metrics and benchmarks. */
  skipped = 0;
  /** Tasks of a refresh still waiting for ECS. */
  private readonly refreshing = new Set<string>();
  /** The latest cycle's lookups: a refresh that lands mid-cycle updates them in place. */
  private current: Map<string, TaskLookup> | undefined;

  constructor(
    private readonly ecs: EcsPort,
    private readonly clock: Clock,
    private readonly refreshMs: number,
  ) {}

  /**
   * Task state for every ref. `steady(taskId)` says the checker sees the task's instance as
   * healthy and in rotation (so a cached RUNNING is enough to decide nothing about it).
   */
  async read(
    refs: readonly TaskRef[],
    steady: (taskId: string) => boolean,
  ): Promise<Map<string, TaskLookup>> {
    const read = await this.start(refs, steady);
    await read.refreshed;
    return read.lookups();
  }

  /**
   * Lists the going-away tasks and starts describing the due ones without waiting for them, so
   * the cycle probes while ECS answers: a slow DescribeTasks then costs no reaction time.
   */
  async start(refs: readonly TaskRef[], steady: (taskId: string) => boolean): Promise<TaskRead> {
    const now = this.clock.now();
    const period = refreshPeriodMs(this.refreshMs, refs.length);
    const goingAway = await this.ecs.listGoingAway([...new Set(refs.map((r) => r.cluster))]);
    const needed: TaskRef[] = [];
    const refresh: TaskRef[] = [];
    for (const r of refs) {
      const e = this.entries.get(r.taskId);
      if (goingAway === undefined || !e || e.lookup.kind !== "task" || goingAway.has(r.taskId)) {
        needed.push(r);
        continue;
      }
      const running =
        e.lookup.task.lastStatus === "RUNNING" && e.lookup.task.desiredStatus === "RUNNING";
      if (!running || !steady(r.taskId)) {
        needed.push(r);
        continue;
      }
      // Stagger refreshes over [period/2, period) so they do not all fall in one cycle.
      const age = period / 2 + offsetOf(r.taskId, period / 2);
      if (now - e.at >= age && !this.refreshing.has(r.taskId)) refresh.push(r);
    }
    this.skipped = refs.length - needed.length - refresh.length;
    const known = (taskId: string): boolean => {
      const cached = this.entries.get(taskId)?.lookup;
      return goingAway?.has(taskId) === true || (cached !== undefined && isGoingAway(cached));
    };
    const described =
      needed.length > 0
        ? this.ecs.describeTasks(needed)
        : Promise.resolve(new Map<string, TaskLookup>());
    // Settled now, so a failure while the probes run is never an unhandled rejection.
    const settled = described.then(
      (fresh) => ({ fresh, err: undefined }),
      (err: unknown) => ({ fresh: undefined, err }),
    );
    // Merged once a cycle, however many passes ask (each would walk every task).
    let merged: Promise<Map<string, TaskLookup>> | undefined;
    return {
      goingAway: known,
      cached: (taskId) => this.entries.get(taskId)?.lookup,
      lookups: () =>
        (merged ??= settled.then(({ fresh, err }) => {
          if (err !== undefined) throw err;
          return (this.current = this.merge(refs, fresh!, now));
        })),
      refreshed: this.refresh(refresh, now),
    };
  }

  /** Describes steady tasks in the background; their state is used once it has arrived. */
  private async refresh(refs: readonly TaskRef[], at: number): Promise<void> {
    if (refs.length === 0) return;
    for (const r of refs) this.refreshing.add(r.taskId);
    try {
      const fresh = await this.ecs.describeTasks(refs);
      for (const [id, lookup] of fresh) {
        if (lookup.kind !== "unavailable" && this.entries.has(id)) {
          this.entries.set(id, { lookup, at });
          if (this.current?.has(id)) this.current.set(id, lookup);
        }
      }
    } catch {
      // A refresh is best effort: the cached state stands and the task is due again next cycle.
    } finally {
      for (const r of refs) this.refreshing.delete(r.taskId);
    }
  }

  private merge(
    refs: readonly TaskRef[],
    fresh: ReadonlyMap<string, TaskLookup>,
    at: number,
  ): Map<string, TaskLookup> {
    for (const [id, lookup] of fresh) {
      if (lookup.kind !== "unavailable") this.entries.set(id, { lookup, at });
    }
    const out = new Map<string, TaskLookup>();
    const wanted = new Set<string>();
    for (const r of refs) {
      wanted.add(r.taskId);
      const lookup = fresh.get(r.taskId) ?? this.entries.get(r.taskId)?.lookup;
      if (lookup) out.set(r.taskId, lookup);
    }
    for (const id of this.entries.keys()) if (!wanted.has(id)) this.entries.delete(id);
    return out;
  }
}

/** A cycle's task-state read in flight. */
export interface TaskRead {
  /** Known to be going away already (ListTasks, or the cached state): not worth a probe. */
  goingAway(taskId: string): boolean;
  /** What the cache knew of a task as this cycle began. */
  cached(taskId: string): TaskLookup | undefined;
  /**
   * Every ref's state once the DescribeTasks the decisions need has answered: cached state
   * where none was due, with whatever part of a background refresh has arrived by then.
   */
  lookups(): Promise<Map<string, TaskLookup>>;
  /** Resolves when this cycle's background refresh has landed (tests and benchmarks). */
  readonly refreshed: Promise<void>;
}
