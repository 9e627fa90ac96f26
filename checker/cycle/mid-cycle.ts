// Decisions before the cycle's end: as probes land, the services whose results may decide
// something are planned at once (in passes run one at a time), so a failing target leaves
// without waiting for the namespace's last probe.

import type { GlobalPolicy, Plan, ProbeResult } from "../domain/types";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { ActionRecord } from "../observability/status";
import type { Clock } from "../ports";
import { foldPlan } from "../plan/apply";
import { mayDecideNow, probesStillMissing } from "../plan/cycle-rules";
import { isDecisive } from "../plan/decisive";
import { plan } from "../plan/planner";
import { observe, type Listed, type ProbeItem } from "../read/listing";
import type { TaskRead } from "../read/task-cache";
import type { CycleMemory } from "./memory";

/** One cycle's probes as they land, for the passes that decide before the cycle's end. */
export interface CycleRun {
  readonly listed: readonly Listed[];
  readonly tasks: TaskRead;
  readonly started: number;
  /** No mutation starts after this, so the last one's answer lands within the interval. */
  readonly actBy: number;
  /** Nor one from a mid-cycle pass after this: `actBy` less what the last cycle's end took, so a
   * pass waiting on the rate limit leaves the cycle's end its time within the interval. */
  readonly passBy: number;
  readonly signal: AbortSignal | undefined;
  /** Every result this cycle (the report shows them). */
  readonly all: Map<string, ProbeResult>;
  /** Results not folded into state yet. */
  pending: Map<string, ProbeResult>;
  /** Results so far, and how many failed: what the degraded rule judges. */
  probed: number;
  failed: number;
  /** Failed results by Cloud Map service name (they add up to `failed`). */
  readonly failedBy: Map<string, number>;
  /** Probes this cycle makes. */
  readonly expected: number;
  /** Some service removes a target on one failure. */
  readonly hairTrigger: boolean;
  /** Probes that failed inside the checker (never the target's failure), and the first reason. */
  local: number;
  localDetail: string | undefined;
  /** Services whose removals wait for more probes to land (see plan/probe-window.ts), and the
   * count of results `probed` must reach before they are planned again. */
  recheck: Set<number>;
  recheckAt: number;
  /** A result that may decide something waits for a pass. */
  wanted: boolean;
  /** Indexes in `listed` of the services the next pass plans: a result that may decide
   * something landed, a task is leaving, or last cycle's rate limit left changes undone. */
  toPlan: Set<number>;
  readonly records: ActionRecord[];
  /**
   * Asks for `missing` more of the namespace's probes at once, for the services (indexes in
   * `listed`) whose removals wait on them; they are planned again when those land.
   */
  witness: (missing: number, services: readonly number[]) => void;
  /** The cycle's end has begun: no pass may plan or act any more. */
  closed: boolean;
}

export function newRun(
  r: Pick<
    CycleRun,
    "listed" | "tasks" | "started" | "actBy" | "passBy" | "signal" | "expected" | "toPlan"
  >,
): CycleRun {
  return {
    ...r,
    all: new Map(),
    pending: new Map(),
    probed: 0,
    failed: 0,
    failedBy: new Map(),
    hairTrigger: r.listed.some((l) => l.policy.unhealthyThreshold <= 1),
    local: 0,
    localDetail: undefined,
    recheck: new Set(),
    recheckAt: Infinity,
    wanted: false,
    records: [],
    witness: () => undefined,
    closed: false,
  };
}

/** Runs `pass` one at a time; a request while one runs queues one more, which takes all since. */
export class SerialPasses {
  private chain: Promise<void> = Promise.resolve();
  private queued = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly failed: (err: unknown) => void,
  ) {}

  request(): void {
    if (this.queued) return;
    this.queued = true;
    this.chain = this.chain
      .then(() => {
        this.queued = false;
        return this.pass();
      })
      .catch(this.failed);
  }

  /** Resolves once no pass runs or waits. */
  async idle(): Promise<void> {
    for (let seen; seen !== this.chain;) await (seen = this.chain);
  }
}

/** Plans these services (by ID, with the probes each still misses) again once enough more
 * results have landed after `probed`. */
export function waitOn(run: CycleRun, waits: ReadonlyMap<string, number>, probed: number): void {
  if (waits.size === 0) return;
  const waiting: number[] = [];
  let most = 0;
  run.listed.forEach((l, k) => {
    const missing = waits.get(l.snap.info.id);
    if (missing === undefined) return;
    run.recheck.add(k);
    run.recheckAt = Math.min(run.recheckAt, probed + missing);
    waiting.push(k);
    most = Math.max(most, missing);
  });
  if (waiting.length > 0) run.witness(most, waiting);
}

/** Takes in one landed result; true when a pass should run for it. */
export function land(
  run: CycleRun,
  item: ProbeItem,
  r: ProbeResult,
  memory: CycleMemory,
  metrics: Metrics,
): boolean {
  // An aborted probe says nothing about the target.
  if (!r.ok && r.detail === "aborted") return false;
  run.all.set(item.key, r);
  if (r.local === true) {
    // The checker's own fault: counted apart, reported, and never decided on.
    run.local++;
    run.localDetail ??= r.detail;
    metrics.probeLocalErrors.inc({ service: item.service });
    return false;
  }
  memory.heard(item.key, r);
  run.pending.set(item.key, r);
  run.probed++;
  if (!r.ok) {
    run.failed++;
    run.failedBy.set(item.service, (run.failedBy.get(item.service) ?? 0) + 1);
  }
  let decisive = isDecisive(memory.state.get(item.key), r, item.policy);
  if (decisive) run.toPlan.add(item.listedAt);
  if (run.probed >= run.recheckAt) {
    for (const k of run.recheck) run.toPlan.add(k);
    run.recheck.clear();
    run.recheckAt = Infinity;
    decisive = true;
  }
  if (run.wanted || decisive) {
    run.wanted = true;
    return true;
  }
  return false;
}

export interface PassContext {
  readonly memory: CycleMemory;
  readonly clock: Clock;
  readonly global: GlobalPolicy;
  readonly settleMs: number;
  readonly logger: Logger;
  /** This replica holds the lease and may act. */
  mayAct(): boolean;
  act(
    result: Plan,
    forgotten: readonly string[],
    signal: AbortSignal | undefined,
    deadline: number,
  ): Promise<ActionRecord[]>;
}

/**
 * A decision before the cycle's end, on the probes landed so far, while `mayDecideNow` allows
 * (the cycle's end judges the whole cycle again). That alone is cycle-aligned: an outage of the
 * checker's own network that starts mid-cycle splits across two cycles, neither of which looks
 * degraded yet. So each removal is also judged over the namespace's probes since its failure
 * streak began (plan/probe-window.ts), and waits for enough of them to land.
 */
export async function midPass(run: CycleRun, ctx: PassContext): Promise<void> {
  const { memory, clock, global: g } = ctx;
  const ready = (): boolean =>
    !run.closed &&
    mayDecideNow(
      {
        now: clock.now(),
        passBy: run.passBy,
        aborted: run.signal?.aborted === true,
        mayAct: ctx.mayAct(),
        lastDegraded: memory.lastDegraded,
        probed: run.probed,
        failed: run.failed,
      },
      g,
    );
  const missing = (k: number): number => {
    let oldest: number | undefined;
    for (const { key } of run.listed[k]!.instances) {
      const r = run.pending.get(key);
      if (r !== undefined && (oldest === undefined || r.at < oldest)) oldest = r.at;
    }
    return probesStillMissing(oldest, {
      hairTrigger: run.hairTrigger,
      namespaceProbes: run.expected,
      history: memory.history,
      global: g,
    });
  };
  if (!ready()) return;
  const lookups = await run.tasks.lookups();
  if (!ready()) return; // probes that landed meanwhile may have changed the picture
  const now: number[] = [];
  const waiting: number[] = [];
  let most = 0;
  for (const k of run.toPlan) {
    const m = missing(k);
    if (m === 0) {
      now.push(k);
    } else {
      waiting.push(k);
      most = Math.max(most, m);
    }
  }
  if (waiting.length > 0) run.witness(most, waiting);
  for (const k of now) run.toPlan.delete(k);
  // Services left waiting get the pass that a later landing asks for.
  run.wanted = run.toPlan.size > 0;
  // Only the services in `toPlan`, with every result of theirs landed so far: a pass over
  // the whole namespace costs as much as the cycle's end (20,000 instances), and a failing
  // wave brings dozens of passes. The other results wait for their service's next pass or the
  // cycle's end; taken out of `pending` service by service, a pass costs what it plans, not
  // what waits. Caps count whole services, so each one planned is planned in full.
  const listed = now.sort((a, b) => a - b).map((k) => run.listed[k]!);
  if (listed.length === 0) return;
  const batch = new Map<string, ProbeResult>();
  for (const l of listed) {
    for (const { key } of l.instances) {
      const r = run.pending.get(key);
      if (r === undefined) continue;
      batch.set(key, r);
      run.pending.delete(key);
    }
  }
  const result = plan({
    now: clock.now(),
    services: observe(listed, lookups, batch, run.started),
    state: memory.state,
    global: g,
    settleMs: ctx.settleMs,
    lastReplacement: memory.lastReplacement,
    probeStats: { probed: run.probed, failed: run.failed },
    replacements: false,
    history: memory.history,
    namespaceProbes: run.expected,
    storms: memory.stormInput,
  });
  const forgotten = foldPlan(memory.state, result);
  memory.keepStorms(result);
  waitOn(run, new Map(result.waits.map((w) => [w.serviceId, w.missing])), run.probed);
  if (result.actions.length === 0 && result.forget.length === 0) return;
  const records = await ctx.act(result, forgotten, run.signal, run.passBy);
  run.records.push(...records);
  ctx.logger.debug(
    { folded: batch.size, services: listed.length, actions: records.length },
    "decided mid-cycle",
  );
}
