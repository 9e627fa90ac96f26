// One namespace's checker: lease -> read -> ecs -> probe -> decide -> act, once per cycle. It
// only moves data between its collaborators; every rule it applies lives in plan/.

import { describeAwsError } from "../aws/errors";
import {
  instanceKey,
  type EcsServiceState,
  type InstanceRecord,
  type Plan,
  type ProbeResult,
  type ServiceObservation,
} from "../domain/types";
import { cycleReport, type CycleReport } from "../observability/cycle-report";
import { cloudMapProblem, ecsProblem } from "../observability/outages";
import type { ActionRecord } from "../observability/status";
import { foldPlan } from "../plan/apply";
import {
  ecsServicesToDescribe,
  nextBacklog,
  servicesToPlanFirst,
  unsteadyTaskIds,
} from "../plan/cycle-rules";
import { plan } from "../plan/planner";
import { runSpread } from "../probe/schedule";
import {
  byService,
  listService,
  observe,
  probeItems,
  taskRefs,
  type Listed,
  type ProbeItem,
} from "../read/listing";
import type { TaskRead } from "../read/task-cache";
import { buildCollaborators, type CheckerDeps, type Collaborators } from "./collaborators";
import { land, midPass, newRun, SerialPasses, waitOn, type PassContext } from "./mid-cycle";
import { PhaseTimer } from "./phases";
import { Witnesses } from "./witness";

export type { CheckerDeps } from "./collaborators";
export type { CycleReport } from "../observability/cycle-report";

/** Leave this share of the interval free after the last probe starts, for its timeout and acting. */
const SPREAD_SHARE = 0.8;
/** How long a cycle waits, at most, for ECS to say what protocol new tasks speak. */
const AUTO_WAIT_MS = 2000;

export class Checker {
  /** How long the checker trusts its own mutation over a Cloud Map listing. */
  private readonly settleMs: number;
  /** Each listed record's instance key, while the reader keeps the record. */
  private readonly keys = new WeakMap<InstanceRecord, string>();

  private constructor(
    private readonly deps: CheckerDeps,
    private readonly c: Collaborators,
  ) {
    this.settleMs = Math.max(30_000, 3 * deps.config.intervalMs);
  }

  /** Resolves the namespace. Remembered state loads when this replica takes the lease. */
  static async create(deps: CheckerDeps): Promise<Checker> {
    const namespace = await deps.cloudMap.resolveNamespace(deps.config.namespace);
    deps.status.namespace = { id: namespace.id, name: namespace.name };
    deps.logger.info(
      { namespaceId: namespace.id, namespace: namespace.name, replica: deps.lease.ownerId },
      "checker ready",
    );
    return new Checker(deps, buildCollaborators(deps, namespace));
  }

  /** A cycle that threw: the loop has logged it; CloudWatch hears of it too. */
  cycleFailed(error: string): void {
    this.c.reporter.failedCycle(error);
  }

  /** Give up the lease (on shutdown) so a standby replica takes over at once. */
  release(): Promise<void> {
    return this.c.leaseKeeper.release();
  }

  get namespace(): { id: string; name: string } {
    return this.c.reader.namespace;
  }

  async runCycle(signal?: AbortSignal): Promise<CycleReport> {
    const { clock, config, logger, metrics } = this.deps;
    const { memory, leaseKeeper, reporter } = this.c;
    const started = clock.now();
    const phases = new PhaseTimer(() => clock.now());

    // Lease. The holder loads the removal records once, on taking the lease; a standby follows
    // them every cycle, so it keeps probing what the holder took out and its /status stays warm.
    if ((await leaseKeeper.renew()) || !leaseKeeper.mayAct()) await this.syncRecords();
    phases.end("lease");

    // Read.
    const known = byService(memory.state.values());
    const listed = (await this.c.reader.read()).map((snap) =>
      listService(snap, known.get(snap.info.id) ?? [], config, this.keys),
    );
    phases.end("read");

    // ECS: answers while the probes run (task state is needed to decide, not to probe).
    let ecsError: string | undefined;
    const tasks = await this.readTasks(listed, (err) => (ecsError ??= err));
    memory.goingAway = tasks.goingAway;
    // `auto` checks, per task from its task definition: tasks new to the cache wait briefly.
    const resolved = await this.c.autoChecks.resolve(
      probeItems(listed, tasks.goingAway),
      listed,
      tasks,
      Math.min(AUTO_WAIT_MS, config.intervalMs / 10),
    );
    const items = resolved.items;
    reporter.protocols(resolved.protocols);
    phases.end("ecs");

    // Probe, deciding as results land.
    const actBy = started + config.intervalMs - Math.min(1000, config.intervalMs / 10);
    const run = newRun({
      listed,
      tasks,
      started,
      actBy,
      passBy: actBy - Math.min(memory.lastEndMs, config.intervalMs / 10),
      signal,
      expected: items.length,
      toPlan: this.startNow(listed, tasks.goingAway),
    });
    memory.namespaceProbes = items.length;
    const passes = new SerialPasses(
      () => midPass(run, this.passContext()),
      (err) => logger.warn({ err: describeAwsError(err) }, "mid-cycle decision failed"),
    );
    const witnesses = this.witnesses(items, signal, (services) => {
      for (const k of services) run.toPlan.add(k);
      run.wanted = true;
      passes.request();
    });
    run.witness = (missing, services) => witnesses.request(missing, services);
    waitOn(run, memory.carriedWaits, 0);
    if (run.toPlan.size > 0) passes.request();
    await this.probe(items, started, signal, (item, r) => {
      if (land(run, item, r, memory, metrics)) passes.request();
    });
    do {
      await witnesses.idle();
      await passes.idle();
    } while (witnesses.busy);
    run.closed = true;
    phases.end("probe");
    const endFrom = clock.now();

    // Decide: fold what is left and judge the whole cycle (degraded, holds, replacements).
    const lookups = await tasks.lookups();
    const services = observe(listed, lookups, run.pending, started);
    const ecsServices = await this.describeEcsServices(services);
    phases.end("ecs");
    const result = plan({
      now: clock.now(),
      services,
      state: memory.state,
      global: config.global,
      settleMs: this.settleMs,
      ecsServices,
      lastReplacement: memory.lastReplacement,
      probeStats: { probed: run.probed, failed: run.failed },
      history: memory.history,
      namespaceProbes: run.expected,
      storms: memory.stormInput,
    });
    const forgotten = foldPlan(memory.state, result);
    memory.keepStorms(result);
    memory.lastDegraded = result.degraded;
    // Removals still waiting for probes are planned again once enough of the next cycle's land.
    memory.carriedWaits = new Map(result.waits.map((w) => [w.serviceId, w.missing]));
    reporter.plan(result);
    reporter.storms(result.storms);
    reporter.localErrors(run.local, run.localDetail);
    reporter.reads(
      cloudMapProblem(this.c.reader.failures, listed.length),
      ecsProblem(lookups.values(), ecsError),
    );
    phases.end("decide");

    // Act. Renew right before acting (a slow cycle may have eaten the margin), then act only
    // with the margin left.
    if (!signal?.aborted && leaseKeeper.held()) await leaseKeeper.renew();
    phases.end("lease");
    if (!signal?.aborted && leaseKeeper.mayAct()) {
      run.records.push(...(await this.act(result, forgotten, signal, run.actBy)));
    } else if (result.actions.length > 0) {
      logger.debug({ actions: result.actions.length }, "not the lease holder: observing only");
    }
    phases.end("act");

    // Report.
    memory.pruneAnswers();
    reporter.instances(services, memory.state);
    phases.end("decide");
    const durationMs = clock.now() - started;
    const times = phases.times;
    reporter.summary(started, durationMs, times, result, run.records.length, run.failedBy);
    memory.lastEndMs = clock.now() - endFrom;
    logger.debug(
      { durationMs, phases: times, ...result.probeStats, actions: run.records.length },
      "cycle done",
    );
    return cycleReport({
      namespace: this.c.reader.namespace,
      started,
      durationMs,
      phases: times,
      result,
      actions: run.records,
      state: memory.state,
      protocols: resolved.protocols,
      observations: () => observe(listed, lookups, run.all, started),
    });
  }

  /** Merges the durable removal records; a holder that cannot read them gives up acting. */
  private async syncRecords(): Promise<void> {
    const holder = this.c.leaseKeeper.mayAct();
    const ok = await this.c.records.merge(this.c.memory.state, holder);
    if (!ok && holder) this.c.leaseKeeper.lost();
  }

  /** Starts the cycle's ECS read; its lookups never reject (a failure leaves tasks unavailable). */
  private async readTasks(
    listed: readonly Listed[],
    failed: (error: string) => void,
  ): Promise<TaskRead> {
    const refs = taskRefs(listed);
    const none: TaskRead = {
      goingAway: () => false,
      cached: () => undefined,
      lookups: async () => new Map(),
      refreshed: Promise.resolve(),
    };
    const unavailable = (err: unknown): TaskRead => {
      // The cycle's end reports the outage once (observability/outages.ts); this is detail.
      this.deps.logger.debug(
        { err: describeAwsError(err) },
        "DescribeTasks failed; ECS state unavailable",
      );
      failed(describeAwsError(err));
      return none;
    };
    if (refs.length === 0) return none;
    const thresholds = new Map(listed.map((l) => [l.snap.info.id, l.policy.healthyThreshold]));
    const unsteady = unsteadyTaskIds(this.c.memory.state.values(), (id) => thresholds.get(id));
    try {
      const read = await this.c.taskCache.start(refs, (taskId) => !unsteady.has(taskId));
      return {
        goingAway: read.goingAway,
        cached: read.cached,
        lookups: () => read.lookups().catch((err: unknown) => unavailable(err).lookups()),
        refreshed: read.refreshed,
      };
    } catch (err) {
      return unavailable(err);
    }
  }

  /** Indexes in `listed` of the services to plan as the cycle starts (see servicesToPlanFirst). */
  private startNow(listed: readonly Listed[], goingAway: (taskId: string) => boolean): Set<number> {
    const { state } = this.c.memory;
    const services = listed.map(({ snap, instances }) => ({
      serviceId: snap.info.id,
      instances: instances.map((i) => ({
        registered: i.registered,
        ecsTask: i.ecsTask,
        instanceId: i.record.instanceId,
        inRotation: state.get(i.key)?.inRotation ?? true,
      })),
    }));
    return servicesToPlanFirst(services, this.c.memory.backlog, goingAway);
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
    const { concurrency } = this.c;
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
            ? concurrency.limit(items.length, maxTimeout, spreadMs)
            : config.concurrency,
        sleep: (ms, s) => clock.sleep(ms, s),
        now: () => clock.now(),
        origin: started,
        signal,
        seed: this.c.reader.namespace.id,
      },
      async (item) => {
        const r = await prober.probe(item.target, item.check, signal);
        metrics.probes.inc({ service: item.service, result: r.ok ? "success" : "failure" });
        metrics.probeDuration.observe({ service: item.service }, r.latencyMs / 1000);
        concurrency.observe(r.latencyMs);
        landed(item, r);
        return r;
      },
    );
  }

  /** Witness probes for this cycle (see witness.ts); their answers feed the namespace's history. */
  private witnesses(
    items: readonly ProbeItem[],
    signal: AbortSignal | undefined,
    landed: (services: readonly number[]) => void,
  ): Witnesses {
    const { prober, metrics, config } = this.deps;
    const { memory } = this.c;
    return new Witnesses({
      items,
      state: memory.state,
      budget: 2 * config.global.degradedMinInstances,
      probe: (item) => prober.probe(item.target, item.check, signal),
      heard: (item, r) => {
        if (r.local === true || (!r.ok && r.detail === "aborted")) return;
        metrics.probes.inc({ service: item.service, result: r.ok ? "success" : "failure" });
        memory.heard(item.key, r);
      },
      landed,
    });
  }

  private passContext(): PassContext {
    const { clock, config, logger } = this.deps;
    return {
      memory: this.c.memory,
      clock,
      global: config.global,
      settleMs: this.settleMs,
      logger,
      mayAct: () => this.c.leaseKeeper.mayAct(),
      act: (result, forgotten, signal, deadline) => this.act(result, forgotten, signal, deadline),
    };
  }

  /** Carries out a plan: forgets durably the removals it dropped, then acts within the deadline. */
  private async act(
    result: Plan,
    forgotten: readonly string[],
    signal: AbortSignal | undefined,
    deadline: number,
  ): Promise<ActionRecord[]> {
    const { memory, executor, reader } = this.c;
    const { config, status } = this.deps;
    for (const key of forgotten) await this.c.records.forget(key);
    const records = await executor.execute(
      result.actions,
      memory.state,
      signal,
      deadline,
      memory.staleCheck(config.global),
    );
    // Actions without a record: the rate limit (or the deadline) left them undone.
    const done = new Set(records.map((r) => instanceKey(r.serviceId, r.instanceId)));
    memory.backlog = nextBacklog(
      result.actions,
      done,
      config.maxMutationsPerSecond,
      config.intervalMs,
    );
    for (const r of records) {
      status.recordAction(r);
      this.c.reporter.action(r);
      // Re-read what we changed: a revision token need not be monotonic (an emulator's is a sum
      // that another registration can bring back to the cached value).
      if (r.outcome === "ok") reader.invalidate(r.serviceId);
    }
    return records;
  }

  /** DescribeServices for the ECS services of replacement candidates only. */
  private async describeEcsServices(
    services: readonly ServiceObservation[],
  ): Promise<Map<string, EcsServiceState>> {
    const keys = ecsServicesToDescribe(services, this.c.memory.state);
    if (keys.length === 0) return new Map();
    return this.deps.ecs.describeServices(keys);
  }
}
