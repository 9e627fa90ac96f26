// What the checker remembers from one cycle to the next, beyond each instance's state: the
// namespace's recent probe results, each target's latest answers, and what the last cycle's end
// left for the next one.

import type { Action, GlobalPolicy, InstanceState, Plan, ProbeResult } from "../domain/types";
import { staleBecause, type LatestAnswers } from "../plan/at-send";
import type { StormBook } from "../plan/replace-storm";
import { ProbeLog } from "../state/probe-log";

type Answers = { -readonly [K in keyof LatestAnswers]: LatestAnswers[K] };

export class CycleMemory {
  /** Every tracked instance's state, by instance key. */
  readonly state = new Map<string, InstanceState>();
  /** The namespace's probe results over the last minute or so, for the degraded rule. */
  readonly history: ProbeLog;
  /** Each target's latest passing and failing answers, folded or not: the check at send. */
  private readonly answers = new Map<string, Answers>();
  /** Last replacement per ECS service (`CLUSTER/SERVICE`), for the cooldown. */
  readonly lastReplacement = new Map<string, number>();
  /** IDs of the services where the rate limit (or the deadline) left changes undone. */
  backlog: ReadonlySet<string> = new Set();
  /** The last cycle's end found it degraded: no decision until a cycle's end says otherwise. */
  lastDegraded = false;
  /** How long the last cycle's end took, from its last pass to its report (see `passBy`). */
  lastEndMs = 0;
  /** Services whose removals the last cycle's end left waiting, with the probes still missing. */
  carriedWaits: ReadonlyMap<string, number> = new Map();
  /** This cycle's ListTasks: the tasks ECS is stopping (a put-back then waits). */
  goingAway: (taskId: string) => boolean = () => false;
  /** Probes a cycle makes in the namespace (the current cycle's). */
  namespaceProbes = 0;

  /** Failed replacements per ECS service (see plan/replace-storm.ts). In memory only: a new
   * lease holder starts with none, as its cooldowns do. */
  private storms: StormBook = new Map();

  constructor(private readonly intervalMs: number) {
    this.history = new ProbeLog(Math.max(60_000, 10 * intervalMs));
  }

  /** What a plan needs of the storm book. */
  get stormInput(): { book: StormBook; intervalMs: number } {
    return { book: this.storms, intervalMs: this.intervalMs };
  }

  /** Keeps the book a plan leaves. */
  keepStorms(result: Plan): void {
    if (result.storms !== undefined) this.storms = result.storms;
  }

  /** Notes a result from the target itself (never one that failed inside the checker). */
  heard(key: string, r: ProbeResult): void {
    this.history.record(r.at, r.ok);
    const seen = this.answers.get(key);
    if (seen === undefined) {
      this.answers.set(
        key,
        r.ok ? { okAt: r.at, failAt: undefined } : { okAt: undefined, failAt: r.at },
      );
    } else if (r.ok) seen.okAt = r.at;
    else seen.failAt = r.at;
  }

  /** Forgets the answers of instances no longer tracked. */
  pruneAnswers(): void {
    for (const key of this.answers.keys()) if (!this.state.has(key)) this.answers.delete(key);
  }

  /** Why an action is no longer true right before it is sent (see plan/at-send.ts). */
  staleCheck(global: GlobalPolicy): (action: Action) => string | undefined {
    return (action) =>
      staleBecause(action, {
        latest: this.answers.get(action.key),
        taskGoingAway: this.goingAway(action.instanceId),
        history: this.history,
        namespaceProbes: this.namespaceProbes,
        global,
      });
  }
}
