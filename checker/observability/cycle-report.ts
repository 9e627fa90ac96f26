// What a cycle tells the outside: its log lines (warnings, holds, skips, degraded, local probe
// errors), its metrics, /status, and the report `once` prints.

import type { InstanceState, Plan, ProbeResult, ServiceObservation } from "../domain/types";
import type { Clock } from "../ports";
import { PHASES, type PhaseTimes } from "../cycle/phases";
import { STORM_RELEASE_MS, stormStatus, type StormBook } from "../plan/replace-storm";
import { describeTask } from "../plan/task-signals";
import type { ServiceProtocols } from "../read/auto-checks";
import { address } from "../read/listing";
import type { EmfPublisher } from "./emf";
import type { Logger } from "./logger";
import { STORM_BRAKES } from "./metric-catalog";
import { Outages, type ReadProblem } from "./outages";
import type { Metrics } from "./metrics";
import type { ActionRecord, CycleSummary, StatusBook } from "./status";

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

export class CycleReporter {
  /** The problem last logged per skipped instance: a skip is logged once, not every cycle. */
  private readonly loggedSkips = new Map<string, string>();
  /** Service and rule of the brakes logged once while they hold (see ONCE_PER_SERVICE). */
  private readonly loggedBrakes = new Set<string>();
  private readonly outages: Outages;
  /** In and out of rotation by service, as of the last `instances()`, for the EMF records. */
  private rotation = new Map<string, { inRotation: number; outOfRotation: number }>();
  /** `status.storeErrorCount` at the last cycle record. */
  private storeErrorsBefore = 0;

  constructor(
    private readonly deps: {
      readonly logger: Logger;
      readonly metrics: Metrics;
      readonly status: StatusBook;
      readonly clock: Clock;
      readonly intervalMs: number;
      /** CloudWatch EMF records; undefined writes none. */
      readonly emf?: EmfPublisher;
    },
  ) {
    this.outages = new Outages(deps.logger, deps.status);
  }

  /** What the cycle could not read from Cloud Map and from ECS (undefined: it read it all). */
  reads(cloudMap: ReadProblem | undefined, ecs: ReadProblem | undefined): void {
    const now = this.deps.clock.now();
    this.outages.observe("Cloud Map", cloudMap, now);
    this.outages.observe("ECS", ecs, now);
  }

  /** A plan's warnings, holds, skips (each once) and a degraded cycle. */
  plan(result: Plan): void {
    const { logger, metrics } = this.deps;
    for (const w of result.warnings) logger.warn(w);
    const braking = new Set<string>();
    for (const h of result.holds) {
      metrics.holds.inc({ service: h.serviceName, rule: h.rule });
      const hint = ONCE_PER_SERVICE[h.rule];
      const line = {
        service: h.serviceName,
        instanceId: h.instanceId,
        rule: h.rule,
        detail: h.detail,
      };
      if (hint === undefined) {
        logger.warn(line, "action held back by a safety rule");
        continue;
      }
      const id = `${h.serviceName}\0${h.rule}`;
      braking.add(id);
      if (this.loggedBrakes.has(id)) {
        logger.debug(line, "action held back by a safety rule");
      } else {
        this.loggedBrakes.add(id);
        logger.warn({ ...line, hint }, "replacement held back by a safety rule");
      }
    }
    for (const id of this.loggedBrakes) if (!braking.has(id)) this.loggedBrakes.delete(id);
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

  /**
   * What each service is probed in, for /status; a service whose instances cannot be probed
   * for want of their protocol is logged when that starts.
   */
  protocols(protocols: ReadonlyMap<string, ServiceProtocols>): void {
    const { status, logger } = this.deps;
    const before = status.protocols;
    for (const [service, p] of protocols) {
      if (p.pending !== undefined && before[service]?.pending === undefined) {
        logger.info(
          { service, pending: p.instances["pending"], reason: p.pending },
          "instances not probed this cycle: their check protocol (auto) is not known yet",
        );
      }
    }
    status.protocols = Object.fromEntries(protocols);
  }

  /** Services where replacing stopped: a warn line as it starts, an info line as it ends. */
  storms(book: StormBook | undefined): void {
    if (book === undefined) return;
    const { status, metrics, logger } = this.deps;
    const now = stormStatus(book);
    const before = new Set(status.replacementsStopped.map((s) => s.ecsService));
    const after = new Set(now.map((s) => s.ecsService));
    for (const s of now) {
      if (before.has(s.ecsService)) continue;
      metrics.replacementsStopped.set({ ecs_service: s.ecsService }, 1);
      logger.warn(
        {
          ecsService: s.ecsService,
          failedReplacements: s.failedReplacements,
          hint: "the new tasks fail like the ones they replaced: look for a cause they share (the check's path or port, configuration, a dependency)",
        },
        `not replacing tasks in ${s.ecsService} any more: ${s.failedReplacements} tasks that replaced stopped ones were taken out again; replacing resumes once one of its new tasks passes for ${STORM_RELEASE_MS / 60_000} min`,
      );
    }
    for (const key of before) {
      if (after.has(key)) continue;
      metrics.replacementsStopped.remove({ ecs_service: key });
      logger.info({ ecsService: key }, `replacing tasks in ${key} again: a new task passes`);
    }
    status.replacementsStopped = now;
  }

  /** One line a cycle for probes the checker could not make, and /healthz says so. */
  localErrors(count: number, detail: string | undefined): void {
    this.deps.status.localErrors = count > 0 ? { count, detail: detail ?? "" } : undefined;
    if (count === 0) return;
    this.deps.logger.error(
      { probes: count, detail },
      "probes failed inside the checker before reaching their targets; nothing decided on them",
    );
  }

  /** The instance gauges, and /status's instance list (built only when asked for). */
  instances(
    services: readonly ServiceObservation[],
    state: ReadonlyMap<string, InstanceState>,
  ): void {
    const { status, metrics } = this.deps;
    // One gauge update per label set, not one per instance.
    const counts = new Map<
      string,
      { service: string; verdict: string; in_rotation: string; n: number }
    >();
    const rotation = new Map<string, { inRotation: number; outOfRotation: number }>();
    for (const s of services) {
      const r = { inRotation: 0, outOfRotation: 0 };
      rotation.set(s.service.name, r);
      for (const o of s.instances) {
        const st = state.get(o.key);
        if (!st) continue;
        if (st.inRotation) r.inRotation++;
        else r.outOfRotation++;
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
    this.rotation = rotation;
    metrics.instances.reset();
    for (const { n, ...labels } of counts.values()) metrics.instances.set(labels, n);
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

  /** The cycle's metrics and /status summary; a completed cycle clears `lastError`. */
  summary(
    started: number,
    durationMs: number,
    phases: Readonly<PhaseTimes>,
    result: Plan,
    actions: number,
    failedBy: ReadonlyMap<string, number> = new Map(),
  ): void {
    const { status, metrics, intervalMs, clock } = this.deps;
    const late = durationMs > intervalMs;
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
    this.publishCycle(status.lastCycle, failedBy);
  }

  /** An action's EMF record, as it is recorded in /status. */
  action(record: ActionRecord): void {
    this.deps.emf?.action(record, this.deps.clock.now());
  }

  /** A failed cycle's EMF record (the loop logs it and sets `lastError`). */
  failedCycle(error: string): void {
    this.deps.emf?.failedCycle(this.deps.clock.now(), error);
  }

  /** The cycle's EMF records: the figures /status shows for it now. */
  private publishCycle(c: CycleSummary, failedBy: ReadonlyMap<string, number>): void {
    const { emf, status, clock } = this.deps;
    if (emf === undefined) return;
    const now = clock.now();
    const health = status.health(now);
    const services = new Map<
      string,
      { inRotation: number; outOfRotation: number; failed: number }
    >();
    for (const [name, r] of this.rotation) {
      services.set(name, { ...r, failed: failedBy.get(name) ?? 0 });
    }
    emf.cycle({
      at: now,
      startedAt: c.startedAt,
      durationMs: c.durationMs,
      late: c.late,
      degraded: !health.ok,
      health: health.reason,
      probed: c.probed,
      failed: c.failed,
      localErrors: status.localErrors?.count ?? 0,
      actions: c.actions,
      holds: c.holds,
      replacementsHeld: c.holds.filter((h) => STORM_BRAKES.has(h.rule)).length,
      replacementsStopped: status.replacementsStopped.length,
      storeErrors: status.storeErrorCount - this.storeErrorsBefore,
      leaseHolder: status.lease?.mine ?? true,
      services,
    });
    this.storeErrorsBefore = status.storeErrorCount;
  }
}

/**
 * The report of a cycle. Its per-instance list is a getter, so `run` (which drops the report)
 * never builds it.
 */
export function cycleReport(c: {
  readonly namespace: { id: string; name: string };
  readonly started: number;
  readonly durationMs: number;
  readonly phases: Readonly<PhaseTimes>;
  readonly result: Plan;
  readonly actions: readonly ActionRecord[];
  readonly state: ReadonlyMap<string, InstanceState>;
  /** What each service was probed in. */
  readonly protocols: ReadonlyMap<string, ServiceProtocols>;
  /** Every instance with every probe of the cycle. */
  readonly observations: () => ServiceObservation[];
}): CycleReport {
  const { result, state } = c;
  return {
    namespace: c.namespace,
    startedAt: new Date(c.started).toISOString(),
    durationMs: c.durationMs,
    phases: c.phases,
    degraded: result.degraded,
    probeStats: result.probeStats,
    get services() {
      return c.observations().map((s) => ({
        id: s.service.id,
        name: s.service.name,
        customHealth: s.service.customHealth,
        ecsService: s.service.ecsService?.arn,
        protocols: c.protocols.get(s.service.name),
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
    actions: c.actions,
    holds: result.holds,
    skips: result.skips,
    warnings: result.warnings,
  };
}

/** Brakes logged once per service while they hold, with a hint of the likely cause. */
const ONCE_PER_SERVICE: Partial<Record<Plan["holds"][number]["rule"], string>> = {
  "replace-service-failing":
    "most of the service's tasks fail the check: look at what they share (the check's path or port, a dependency) before any single task",
  "replace-not-helping":
    "the tasks that replaced stopped ones fail too: replacing more would only churn tasks",
};
