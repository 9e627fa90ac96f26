// One namespace's checker: read -> probe -> plan -> act, once per cycle.

import { describeAwsError } from "../aws/errors";
import type { CheckerConfig } from "../config";
import { serviceSettings } from "../config";
import {
  instanceKey,
  type CheckSpec,
  type EcsServiceState,
  type InstanceObservation,
  type InstanceRecord,
  type InstanceState,
  type Plan,
  type ProbeResult,
  type ProbeTarget,
  type ServiceObservation,
  type ServicePolicy,
  type TaskLookup,
} from "../domain/types";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { ActionRecord, StatusBook } from "../observability/status";
import { foldPlan } from "../plan/apply";
import { staleBecause, type LatestAnswers } from "../plan/at-send";
import { isDecisive } from "../plan/decisive";
import {
  ecsServicesToDescribe,
  mayDecideNow,
  nextBacklog,
  resultsToldApart,
  servicesToPlanFirst,
  unsteadyTaskIds,
} from "../plan/cycle-rules";
import { plan } from "../plan/planner";
import { describeTask } from "../plan/task-signals";
import type {
  CloudMapPort,
  Clock,
  EcsPort,
  LeasePort,
  Prober,
  StateStore,
  TaskRef,
} from "../ports";
import { probeTarget } from "../probe/target";
import { ProbeLog } from "../state/probe-log";
import { ProbeConcurrency, runSpread } from "../probe/schedule";
import { Executor, RateLimiter } from "./executor";
import { LeaseKeeper } from "./lease-keeper";
import { PHASES, PhaseTimer, type PhaseTimes } from "./phases";
import { StoreHealth } from "./store-health";
import { fullPassMs, TaskStateCache, type TaskRead } from "./task-cache";
import { NamespaceReader, type ServiceSnapshot } from "./reader";

export interface CheckerDeps {
  readonly config: CheckerConfig;
  readonly cloudMap: CloudMapPort;
  readonly ecs: EcsPort;
  readonly prober: Prober;
  readonly clock: Clock;
  readonly store: StateStore;
  readonly lease: LeasePort;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly status: StatusBook;
}

/** What one cycle saw and did; `once` prints it as JSON. */
export interface CycleReport {
  readonly namespace: { id: string; name: string };
  readonly startedAt: string;
  readonly durationMs: number;
  /** Milliseconds of the cycle spent in each phase (they add up to `durationMs`). */
  readonly phases: Readonly<PhaseTimes>;
  readonly degraded: boolean;
  readonly probeStats: Plan["probeStats"];
  readonly services: ReadonlyArray<{
    readonly id: string;
    readonly name: string;
    readonly customHealth: boolean;
    readonly ecsService: string | undefined;
    readonly instances: ReadonlyArray<{
      readonly instanceId: string;
      readonly address: string | undefined;
      readonly registered: boolean;
      readonly task: string;
      readonly probe: ProbeResult | undefined;
      readonly problem: string | undefined;
      readonly verdict: string | undefined;
      readonly inRotation: boolean | undefined;
    }>;
  }>;
  readonly actions: readonly ActionRecord[];
  readonly holds: Plan["holds"];
  readonly skips: Plan["skips"];
  readonly warnings: readonly string[];
}

/** ECS task IDs: 32 hex digits, or a UUID for tasks from older ECS accounts. */
const TASK_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** One service's instances this cycle, before ECS state and probes are in. */
interface Listed {
  readonly snap: ServiceSnapshot;
  readonly check: CheckSpec;
  readonly policy: ServicePolicy;
  readonly instances: readonly ListedInstance[];
}

interface ListedInstance {
  readonly key: string;
  readonly record: InstanceRecord;
  readonly registered: boolean;
  /** ECS cluster of its task: from the ECS service behind it, or classic `ECS_CLUSTER_NAME`. */
  readonly cluster: string | undefined;
  /** Its ID is an ECS task ID in a known cluster, so DescribeTasks can answer for it. */
  readonly ecsTask: boolean;
  readonly target: ProbeTarget;
}

/** One probe to make this cycle. */
interface ProbeItem {
  readonly key: string;
  readonly service: string;
  /** Index in `listed` of its service, so a pass plans only what its results touch. */
  readonly listedAt: number;
  readonly check: CheckSpec;
  readonly policy: ServicePolicy;
  readonly target: ProbeTarget & { ok: true };
}

/** One cycle's probes as they land, for the passes that decide before the cycle ends. */
interface CycleRun {
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
}

/** Runs `pass` one at a time; a request while one runs queues one more, which takes all since. */
class SerialPasses {
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

/** Leave this share of the interval free after the last probe starts, for its timeout and acting. */
const SPREAD_SHARE = 0.8;

export class Checker {
  private readonly executor: Executor;
  private readonly leaseKeeper: LeaseKeeper;
  private readonly storeHealth: StoreHealth;
  private readonly loggedSkips = new Map<string, string>();
  private state = new Map<string, InstanceState>();
  private readonly taskCache: TaskStateCache;
  /** Last replacement per ECS service (`CLUSTER/SERVICE`), for the cooldown. */
  private readonly lastReplacement = new Map<string, number>();
  /** Each listed record's instance key, while the reader keeps the record. */
  private readonly keys = new WeakMap<InstanceRecord, string>();
  /** IDs of the services where the rate limit (or the deadline) left changes undone: the first
   * ones, holding as many changes as it allows in an interval. */
  private backlog: ReadonlySet<string> = new Set();
  /** The last cycle's end found it degraded: no decision until a cycle's end says otherwise. */
  private lastDegraded = false;
  /** How long the last cycle's end took, from its last pass to its report (see `passBy`). */
  private lastEndMs = 0;
  /** Sizes `auto` probe concurrency from how long probes take. */
  private readonly concurrency = new ProbeConcurrency();
  /** How long the checker trusts its own mutation over a Cloud Map listing. */
  private readonly settleMs: number;
  /** The namespace's probe results over the last minute or so, for the degraded rule. */
  private readonly history: ProbeLog;
  /** Each target's latest passing and failing answers, folded or not: the check at send. */
  private readonly answers = new Map<
    string,
    { -readonly [K in keyof LatestAnswers]: LatestAnswers[K] }
  >();
  /** This cycle's ListTasks: the tasks ECS is stopping (a put-back then waits). */
  private goingAway: (taskId: string) => boolean = () => false;
  /** Probes a cycle makes in the namespace (the current cycle's). */
  private namespaceProbes = 0;
  /** Services whose removals the last cycle's end left waiting, with the probes still missing. */
  private carriedWaits: ReadonlyMap<string, number> = new Map();

  private constructor(
    private readonly deps: CheckerDeps,
    private readonly reader: NamespaceReader,
  ) {
    this.storeHealth = new StoreHealth(deps.logger, deps.metrics, deps.status);
    this.settleMs = Math.max(30_000, 3 * deps.config.intervalMs);
    this.history = new ProbeLog(Math.max(60_000, 10 * deps.config.intervalMs));
    this.taskCache = new TaskStateCache(deps.ecs, deps.clock, fullPassMs(deps.config.intervalMs));
    this.leaseKeeper = new LeaseKeeper({
      lease: deps.lease,
      namespaceId: reader.namespace.id,
      intervalMs: deps.config.intervalMs,
      clock: deps.clock,
      logger: deps.logger,
      metrics: deps.metrics,
      status: deps.status,
      storeHealth: this.storeHealth,
    });
    this.executor = new Executor({
      cloudMap: deps.cloudMap,
      store: deps.store,
      namespaceId: reader.namespace.id,
      clock: deps.clock,
      logger: deps.logger,
      metrics: deps.metrics,
      limiter: new RateLimiter(deps.config.maxMutationsPerSecond, deps.clock),
      storeHealth: this.storeHealth,
      leaseKeeper: this.leaseKeeper,
      ecs: deps.ecs,
      onReplaced: (ecsService, at) => this.lastReplacement.set(ecsService, at),
    });
  }

  /** Resolves the namespace. Remembered state loads when this replica takes the lease. */
  static async create(deps: CheckerDeps): Promise<Checker> {
    const namespace = await deps.cloudMap.resolveNamespace(deps.config.namespace);
    const reader = new NamespaceReader(namespace, deps.cloudMap, deps.clock, deps.logger, {
      allowList: deps.config.services,
      resyncMs: deps.config.resyncIntervalMs,
      serviceRefreshMs: Math.min(deps.config.resyncIntervalMs, 60_000),
    });
    deps.status.namespace = { id: namespace.id, name: namespace.name };
    deps.logger.info(
      { namespaceId: namespace.id, namespace: namespace.name, replica: deps.lease.ownerId },
      "checker ready",
    );
    return new Checker(deps, reader);
  }

  /** Give up the lease (on shutdown) so a standby replica takes over at once. */
  release(): Promise<void> {
    return this.leaseKeeper.release();
  }

  /** Merge the durable removal records (left by a previous run or by the holder) into state. */
  private async syncRecords(): Promise<void> {
    const holder = this.leaseKeeper.mayAct();
    try {
      const records = await this.deps.store.load(this.reader.namespace.id);
      for (const [key, record] of records) {
        if (!this.state.get(key)?.removedByChecker) this.state.set(key, record);
      }
      // The records are the truth about what was taken out: one that is gone was put back
      // (or its task ended) by the holder, so this replica must not put it back again.
      for (const [key, st] of this.state) {
        if (st.removedByChecker && !records.has(key)) this.state.delete(key);
      }
      if (holder) {
        this.deps.logger.info({ records: records.size }, "resumed from durable removal records");
      }
    } catch (err) {
      this.storeHealth.failed(describeAwsError(err));
      // A holder that cannot see the records must not act on a partial picture.
      if (holder) this.leaseKeeper.lost();
    }
  }

  get namespace(): { id: string; name: string } {
    return this.reader.namespace;
  }

  async runCycle(signal?: AbortSignal): Promise<CycleReport> {
    const { clock, config, logger } = this.deps;
    const started = clock.now();
    const phases = new PhaseTimer(() => clock.now());
    // The holder loads records once, on taking the lease; a standby follows them every cycle,
    // so it keeps probing what the holder took out and its /status stays warm.
    if ((await this.leaseKeeper.renew()) || !this.leaseKeeper.mayAct()) await this.syncRecords();
    phases.end("lease");
    const known = byService(this.state.values());
    const listed = (await this.reader.read()).map((snap) =>
      this.list(snap, known.get(snap.info.id) ?? []),
    );
    phases.end("read");
    // ECS answers while the probes run: task state is needed to decide, not to probe.
    const tasks = await this.readTasks(listed);
    this.goingAway = tasks.goingAway;
    phases.end("ecs");
    const items = this.probeItems(listed, tasks.goingAway);
    const actBy = started + config.intervalMs - Math.min(1000, config.intervalMs / 10);
    const run: CycleRun = {
      listed,
      tasks,
      started,
      actBy,
      passBy: actBy - Math.min(this.lastEndMs, config.intervalMs / 10),
      signal,
      all: new Map(),
      pending: new Map(),
      probed: 0,
      failed: 0,
      expected: items.length,
      hairTrigger: listed.some((l) => l.policy.unhealthyThreshold <= 1),
      local: 0,
      localDetail: undefined,
      recheck: new Set(),
      recheckAt: Infinity,
      wanted: false,
      toPlan: this.startNow(listed, tasks.goingAway),
      records: [],
    };
    this.namespaceProbes = items.length;
    this.waitOn(run, this.carriedWaits, 0);
    const passes = new SerialPasses(
      () => this.midPass(run),
      (err) => logger.warn({ err: describeAwsError(err) }, "mid-cycle decision failed"),
    );
    if (run.toPlan.size > 0) passes.request();
    await this.probe(items, started, signal, (item, r) => {
      // An aborted probe says nothing about the target.
      if (!r.ok && r.detail === "aborted") return;
      run.all.set(item.key, r);
      if (r.local === true) {
        // The checker's own fault: counted apart, reported, and never decided on.
        run.local++;
        run.localDetail ??= r.detail;
        this.deps.metrics.probeLocalErrors.inc({ service: item.service });
        return;
      }
      this.history.record(r.at, r.ok);
      const seen = this.answers.get(item.key);
      if (seen === undefined) {
        this.answers.set(
          item.key,
          r.ok ? { okAt: r.at, failAt: undefined } : { okAt: undefined, failAt: r.at },
        );
      } else if (r.ok) seen.okAt = r.at;
      else seen.failAt = r.at;
      run.pending.set(item.key, r);
      run.probed++;
      if (!r.ok) run.failed++;
      let decisive = isDecisive(this.state.get(item.key), r, item.policy);
      if (decisive) run.toPlan.add(item.listedAt);
      if (run.probed >= run.recheckAt) {
        for (const k of run.recheck) run.toPlan.add(k);
        run.recheck.clear();
        run.recheckAt = Infinity;
        decisive = true;
      }
      if (run.wanted || decisive) {
        run.wanted = true;
        passes.request();
      }
    });
    await passes.idle();
    phases.end("probe");
    const endFrom = clock.now();

    // The cycle's end: fold what is left, judge the whole cycle (degraded, holds, replacements).
    const lookups = await tasks.lookups();
    const services = this.observe(listed, lookups, run.pending, started);
    const ecsServices = await this.describeEcsServices(services);
    phases.end("ecs");
    const result = plan({
      now: clock.now(),
      services,
      state: this.state,
      global: config.global,
      settleMs: this.settleMs,
      ecsServices,
      lastReplacement: this.lastReplacement,
      probeStats: { probed: run.probed, failed: run.failed },
      history: this.history,
      namespaceProbes: run.expected,
    });
    const forgotten = foldPlan(this.state, result);
    this.lastDegraded = result.degraded;
    // Removals still waiting for probes are planned again once enough of the next cycle's land.
    this.carriedWaits = new Map(result.waits.map((w) => [w.serviceId, w.missing]));
    this.report(result);
    this.reportLocal(run);
    phases.end("decide");
    // Renew right before acting (a slow cycle may have eaten the margin), then act only with
    // the margin left.
    if (!signal?.aborted && this.leaseKeeper.held()) await this.leaseKeeper.renew();
    phases.end("lease");
    if (!signal?.aborted && this.leaseKeeper.mayAct()) {
      run.records.push(...(await this.act(result, forgotten, signal, run.actBy)));
    } else if (result.actions.length > 0) {
      logger.debug({ actions: result.actions.length }, "not the lease holder: observing only");
    }
    phases.end("act");
    // Forget the answers of instances no longer tracked.
    for (const key of this.answers.keys()) if (!this.state.has(key)) this.answers.delete(key);
    const records = run.records;
    const everyProbe = (): ServiceObservation[] => this.observe(listed, lookups, run.all, started);
    this.updateStatus(services);
    phases.end("decide");
    const durationMs = clock.now() - started;
    const times = phases.times;
    this.summarize(started, durationMs, times, result, records.length);
    this.lastEndMs = clock.now() - endFrom;
    logger.debug(
      { durationMs, phases: times, ...result.probeStats, actions: records.length },
      "cycle done",
    );
    const state = this.state;
    return {
      namespace: this.reader.namespace,
      startedAt: new Date(started).toISOString(),
      durationMs,
      phases: times,
      degraded: result.degraded,
      probeStats: result.probeStats,
      // A getter, so `run` (which drops the report) never builds this per-instance list.
      get services() {
        return everyProbe().map((s) => ({
          id: s.service.id,
          name: s.service.name,
          customHealth: s.service.customHealth,
          ecsService: s.service.ecsService?.arn,
          instances: s.instances.map((o) => {
            const st = state.get(o.key);
            return {
              instanceId: o.record.instanceId,
              address: address(o.record.attributes),
              registered: o.registered,
              task: describeTask(o.task),
              probe: o.probe,
              problem: o.problem,
              verdict: st?.verdict,
              inRotation: st?.inRotation,
            };
          }),
        }));
      },
      actions: records,
      holds: result.holds,
      skips: result.skips,
      warnings: result.warnings,
    };
  }

  /** Every instance to consider (those listed, plus those the checker took out itself), with
   * where to probe it. */
  private list(snap: ServiceSnapshot, known: readonly InstanceState[]): Listed {
    const { check, policy } = serviceSettings(this.deps.config, snap.info.name);
    const entry = (record: InstanceRecord, registered: boolean, key: string): ListedInstance => {
      const cluster = snap.info.ecsService?.cluster ?? record.attributes["ECS_CLUSTER_NAME"];
      return {
        key,
        record,
        registered,
        cluster,
        ecsTask: cluster !== undefined && TASK_ID.test(record.instanceId),
        target: probeTarget(record.attributes, check),
      };
    };
    const listed = new Set<string>();
    const instances = snap.instances.map((record) => {
      listed.add(record.instanceId);
      // The same key string every cycle a listing is unchanged: Map lookups on it then hash it
      // once and compare by identity, not a fresh string per instance per cycle.
      let key = this.keys.get(record);
      if (key === undefined)
        this.keys.set(record, (key = instanceKey(snap.info.id, record.instanceId)));
      return entry(record, true, key);
    });
    for (const st of known) {
      if (listed.has(st.instanceId)) continue;
      const record = {
        serviceId: st.serviceId,
        instanceId: st.instanceId,
        attributes: st.attributes,
      };
      instances.push(entry(record, false, st.key));
    }
    return { snap, check, policy, instances };
  }

  /** Starts the cycle's ECS read; its lookups never reject (a failure leaves tasks unavailable). */
  private async readTasks(listed: readonly Listed[]): Promise<TaskRead> {
    const refs: TaskRef[] = [];
    for (const { instances } of listed) {
      for (const i of instances) {
        if (i.ecsTask) refs.push({ cluster: i.cluster!, taskId: i.record.instanceId });
      }
    }
    const none: TaskRead = {
      goingAway: () => false,
      lookups: async () => new Map(),
      refreshed: Promise.resolve(),
    };
    const unavailable = (err: unknown): TaskRead => {
      this.deps.logger.warn(
        { err: describeAwsError(err) },
        "DescribeTasks failed; ECS state unavailable",
      );
      return none;
    };
    if (refs.length === 0) return none;
    const thresholds = new Map(listed.map((l) => [l.snap.info.id, l.policy.healthyThreshold]));
    const unsteady = unsteadyTaskIds(this.state.values(), (id) => thresholds.get(id));
    try {
      const read = await this.taskCache.start(refs, (taskId) => !unsteady.has(taskId));
      return {
        goingAway: read.goingAway,
        lookups: () => read.lookups().catch((err: unknown) => unavailable(err).lookups()),
        refreshed: read.refreshed,
      };
    } catch (err) {
      return unavailable(err);
    }
  }

  private observe(
    listed: readonly Listed[],
    tasks: ReadonlyMap<string, TaskLookup>,
    probes: ReadonlyMap<string, ProbeResult>,
    now: number,
  ): ServiceObservation[] {
    return listed.map(({ snap, policy, instances }) => ({
      service: snap.info,
      policy,
      instances: instances.map((i): InstanceObservation => {
        let task: TaskLookup;
        if (i.cluster === undefined) task = { kind: "not-ecs" };
        else if (!i.ecsTask) task = { kind: "missing" };
        else task = tasks.get(i.record.instanceId) ?? { kind: "unavailable" };
        return {
          key: i.key,
          record: i.record,
          registered: i.registered,
          customStatus: snap.info.customHealth ? snap.statuses.get(i.record.instanceId) : undefined,
          task,
          probe: probes.get(i.key),
          problem: i.target.ok ? undefined : i.target.problem,
          observedAt: i.registered ? snap.listedAt : now,
        };
      }),
    }));
  }

  /** Every well-formed instance whose task is not known to be going away. */
  private probeItems(
    listed: readonly Listed[],
    goingAway: (taskId: string) => boolean,
  ): ProbeItem[] {
    const items: ProbeItem[] = [];
    listed.forEach(({ snap, check, policy, instances }, listedAt) => {
      for (const i of instances) {
        if (!i.target.ok || (i.ecsTask && goingAway(i.record.instanceId))) continue;
        const service = snap.info.name;
        items.push({ key: i.key, service, listedAt, check, policy, target: i.target });
      }
    });
    return items;
  }

  /** Plans these services (by ID, with the probes each still misses) again once enough more
   * results have landed after `probed`. */
  private waitOn(run: CycleRun, waits: ReadonlyMap<string, number>, probed: number): void {
    if (waits.size === 0) return;
    run.listed.forEach((l, k) => {
      const missing = waits.get(l.snap.info.id);
      if (missing === undefined) return;
      run.recheck.add(k);
      run.recheckAt = Math.min(run.recheckAt, probed + missing);
    });
  }

  /** One line a cycle for probes the checker could not make, and /healthz says so. */
  private reportLocal(run: CycleRun): void {
    this.deps.status.localErrors =
      run.local > 0 ? { count: run.local, detail: run.localDetail ?? "" } : undefined;
    if (run.local === 0) return;
    this.deps.logger.error(
      { probes: run.local, detail: run.localDetail },
      "probes failed inside the checker before reaching their targets; nothing decided on them",
    );
  }

  /** Indexes in `listed` of the services to plan as the cycle starts (see servicesToPlanFirst). */
  private startNow(listed: readonly Listed[], goingAway: (taskId: string) => boolean): Set<number> {
    const services = listed.map(({ snap, instances }) => ({
      serviceId: snap.info.id,
      instances: instances.map((i) => ({
        registered: i.registered,
        ecsTask: i.ecsTask,
        instanceId: i.record.instanceId,
        inRotation: this.state.get(i.key)?.inRotation ?? true,
      })),
    }));
    return servicesToPlanFirst(services, this.backlog, goingAway);
  }

  /**
   * Probes each item at its stable offset from the cycle's start, so the last probe starts early
   * enough to finish (and be acted on) within the interval however long the reads took.
   * `landed` hears each result as it comes.
   */
  private async probe(
    items: readonly ProbeItem[],
    started: number,
    signal: AbortSignal | undefined,
    landed: (item: ProbeItem, result: ProbeResult) => void,
  ): Promise<void> {
    const { config, prober, clock, metrics } = this.deps;
    let maxTimeout = 0;
    for (const { check } of items) maxTimeout = Math.max(maxTimeout, check.timeoutMs);
    const spreadMs = Math.max(0, config.intervalMs * SPREAD_SHARE - maxTimeout);
    await runSpread(
      items,
      {
        keyOf: (i) => i.key,
        spreadMs,
        concurrency:
          config.concurrency === "auto"
            ? this.concurrency.limit(items.length, maxTimeout, spreadMs)
            : config.concurrency,
        sleep: (ms, s) => clock.sleep(ms, s),
        now: () => clock.now(),
        origin: started,
        signal,
        seed: this.reader.namespace.id,
      },
      async (item) => {
        const r = await prober.probe(item.target, item.check, signal);
        metrics.probes.inc({ service: item.service, result: r.ok ? "success" : "failure" });
        metrics.probeDuration.observe({ service: item.service }, r.latencyMs / 1000);
        this.concurrency.observe(r.latencyMs);
        landed(item, r);
        return r;
      },
    );
  }

  /**
   * A decision before the cycle's end, on the probes landed so far: only while this replica may
   * act, the last cycle was not degraded and the probes so far do not make this one degraded
   * (the cycle's end judges it again over all of them). That alone is cycle-aligned: an outage
   * of the checker's own network that starts mid-cycle splits across two cycles, neither of
   * which looks degraded yet. So each removal is also judged over the namespace's probes since
   * its failure streak began (plan/probe-window.ts), and waits for enough of them to land.
   */
  private async midPass(run: CycleRun): Promise<void> {
    const { config, clock, logger } = this.deps;
    const g = config.global;
    const ready = (): boolean =>
      mayDecideNow(
        {
          now: clock.now(),
          passBy: run.passBy,
          aborted: run.signal?.aborted === true,
          mayAct: this.leaseKeeper.mayAct(),
          lastDegraded: this.lastDegraded,
          probed: run.probed,
          failed: run.failed,
        },
        g,
      );
    const told = (k: number): boolean => {
      let oldest: number | undefined;
      for (const { key } of run.listed[k]!.instances) {
        const r = run.pending.get(key);
        if (r !== undefined && (oldest === undefined || r.at < oldest)) oldest = r.at;
      }
      return resultsToldApart(oldest, {
        hairTrigger: run.hairTrigger,
        namespaceProbes: run.expected,
        history: this.history,
        global: g,
      });
    };
    if (!ready()) return;
    const lookups = await run.tasks.lookups();
    if (!ready()) return; // probes that landed meanwhile may have changed the picture
    const now = [...run.toPlan].filter(told);
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
      services: this.observe(listed, lookups, batch, run.started),
      state: this.state,
      global: g,
      settleMs: this.settleMs,
      lastReplacement: this.lastReplacement,
      probeStats: { probed: run.probed, failed: run.failed },
      replacements: false,
      history: this.history,
      namespaceProbes: run.expected,
    });
    const forgotten = foldPlan(this.state, result);
    this.waitOn(run, new Map(result.waits.map((w) => [w.serviceId, w.missing])), run.probed);
    if (result.actions.length === 0 && result.forget.length === 0) return;
    const records = await this.act(result, forgotten, run.signal, run.passBy);
    run.records.push(...records);
    logger.debug(
      { folded: batch.size, services: listed.length, actions: records.length },
      "decided mid-cycle",
    );
  }

  /** Carries out a plan: forgets durably the removals it dropped, then acts within the deadline. */
  private async act(
    result: Plan,
    forgotten: readonly string[],
    signal: AbortSignal | undefined,
    deadline: number,
  ): Promise<ActionRecord[]> {
    for (const key of forgotten) await this.forgetDurably(key);
    const { global } = this.deps.config;
    const records = await this.executor.execute(
      result.actions,
      this.state,
      signal,
      deadline,
      (action) =>
        staleBecause(action, {
          latest: this.answers.get(action.key),
          taskGoingAway: this.goingAway(action.instanceId),
          history: this.history,
          namespaceProbes: this.namespaceProbes,
          global,
        }),
    );
    // Actions without a record: the rate limit (or the deadline) left them undone. The next
    // cycle starts on the services of as many as the rate limit allows in an interval (more
    // would plan services whose turn cannot come before the cycle's end plans them anyway).
    const done = new Set(records.map((r) => instanceKey(r.serviceId, r.instanceId)));
    const { maxMutationsPerSecond, intervalMs } = this.deps.config;
    this.backlog = nextBacklog(result.actions, done, maxMutationsPerSecond, intervalMs);
    for (const r of records) {
      this.deps.status.recordAction(r);
      // Re-read what we changed: a revision token need not be monotonic (an emulator's is a sum
      // that another registration can bring back to the cached value).
      if (r.outcome === "ok") this.reader.invalidate(r.serviceId);
    }
    return records;
  }

  /**
   * DescribeServices for the ECS services of replacement candidates only (instances already
   * judged unhealthy where replacing is on), so a healthy namespace costs no call.
   */
  private async describeEcsServices(
    services: readonly ServiceObservation[],
  ): Promise<Map<string, EcsServiceState>> {
    const keys = ecsServicesToDescribe(services, this.state);
    if (keys.length === 0) return new Map();
    return this.deps.ecs.describeServices(keys);
  }

  private async forgetDurably(key: string): Promise<void> {
    try {
      await this.deps.store.delete(this.reader.namespace.id, key);
      this.storeHealth.ok();
    } catch (err) {
      this.storeHealth.failed(describeAwsError(err));
      this.deps.logger.warn({ key, err: describeAwsError(err) }, "could not delete state record");
    }
  }

  private report(result: Plan): void {
    const { logger, metrics } = this.deps;
    for (const w of result.warnings) logger.warn(w);
    for (const h of result.holds) {
      metrics.holds.inc({ service: h.serviceName, rule: h.rule });
      logger.warn(
        { service: h.serviceName, instanceId: h.instanceId, rule: h.rule, detail: h.detail },
        "action held back by a safety rule",
      );
    }
    const skipping = new Set<string>();
    for (const s of result.skips) {
      skipping.add(s.key);
      if (this.loggedSkips.get(s.key) === s.problem) continue;
      this.loggedSkips.set(s.key, s.problem);
      logger.warn(
        { service: s.serviceName, instanceId: s.instanceId, problem: s.problem },
        "skipping instance",
      );
    }
    for (const key of this.loggedSkips.keys()) if (!skipping.has(key)) this.loggedSkips.delete(key);
    if (result.degraded) {
      logger.error(
        result.probeStats,
        "checker degraded: most probes failed at once; suspecting the checker's own network, acting on nothing",
      );
    }
  }

  private updateStatus(services: readonly ServiceObservation[]): void {
    const { status, metrics } = this.deps;
    // One gauge update per label set, not one per instance.
    const counts = new Map<
      string,
      { service: string; verdict: string; in_rotation: string; n: number }
    >();
    for (const s of services) {
      for (const o of s.instances) {
        const st = this.state.get(o.key);
        if (!st) continue;
        const id = `${s.service.name}\0${st.verdict}\0${st.inRotation}`;
        const c = counts.get(id);
        if (c) c.n++;
        else
          counts.set(id, {
            service: s.service.name,
            verdict: st.verdict,
            in_rotation: String(st.inRotation),
            n: 1,
          });
      }
    }
    metrics.instances.reset();
    for (const { n, ...labels } of counts.values()) metrics.instances.set(labels, n);
    const state = this.state;
    status.showInstances(() =>
      services.flatMap((s) =>
        s.instances.flatMap((o) => {
          const st = state.get(o.key);
          if (!st) return [];
          return [
            {
              service: s.service.name,
              instanceId: st.instanceId,
              address: address(st.attributes),
              verdict: st.verdict,
              inRotation: st.inRotation,
              removedByChecker: st.removedByChecker,
              removalReason: st.removalReason,
              consecutiveFailures: st.consecutiveFailures,
              consecutiveSuccesses: st.consecutiveSuccesses,
              task: describeTask(o.task),
              lastProbe: st.lastProbe,
            },
          ];
        }),
      ),
    );
  }

  private summarize(
    started: number,
    durationMs: number,
    phases: Readonly<PhaseTimes>,
    result: Plan,
    actions: number,
  ): void {
    const { status, metrics, config, clock } = this.deps;
    const late = durationMs > config.intervalMs;
    metrics.cycles.inc({ result: result.degraded ? "degraded" : late ? "late" : "ok" });
    metrics.cycleDuration.observe(durationMs / 1000);
    for (const phase of PHASES) metrics.cyclePhase.observe({ phase }, phases[phase] / 1000);
    metrics.degraded.set(result.degraded ? 1 : 0);
    metrics.lastCycle.set(clock.now() / 1000);
    status.lastCycle = {
      startedAt: new Date(started).toISOString(),
      durationMs,
      phases,
      degraded: result.degraded,
      late,
      probed: result.probeStats.probed,
      failed: result.probeStats.failed,
      actions,
      holds: result.holds,
      warnings: result.warnings,
    };
    status.lastCycleCompletedAt = clock.now();
    status.lastError = undefined;
  }
}

function address(attributes: Readonly<Record<string, string>>): string | undefined {
  const ip = attributes["AWS_INSTANCE_IPV4"];
  const port = attributes["AWS_INSTANCE_PORT"];
  return ip ? (port ? `${ip}:${port}` : ip) : undefined;
}

/** States by service ID, in one walk over them (rather than one walk per service). */
function byService(states: Iterable<InstanceState>): Map<string, InstanceState[]> {
  const out = new Map<string, InstanceState[]>();
  for (const st of states) {
    const list = out.get(st.serviceId);
    if (list) list.push(st);
    else out.set(st.serviceId, [st]);
  }
  return out;
}
