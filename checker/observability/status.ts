// What /status and /healthz report: the checker's view after each cycle.

import type { Action, Hold, InstanceState, ProbeResult } from "../domain/types";
import type { PhaseTimes } from "../cycle/phases";
import type { StormStatus } from "../plan/replace-storm";
import type { ServiceProtocols } from "../read/auto-checks";
import { packageVersion } from "../version";

export interface ActionRecord {
  readonly at: string;
  readonly kind: Action["kind"];
  readonly status?: "HEALTHY" | "UNHEALTHY";
  readonly service: string;
  readonly serviceId: string;
  readonly instanceId: string;
  readonly reason: string;
  readonly dryRun: boolean;
  /** `stale`: not sent, since a probe that landed after the decision contradicts it. */
  readonly outcome: "ok" | "error" | "dry-run" | "stale";
  readonly error?: string;
}

export interface InstanceStatus {
  readonly service: string;
  readonly instanceId: string;
  readonly address: string | undefined;
  readonly verdict: InstanceState["verdict"];
  readonly inRotation: boolean;
  readonly removedByChecker: boolean;
  readonly removalReason: string | undefined;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  readonly task: string;
  readonly lastProbe: ProbeResult | undefined;
}

export interface CycleSummary {
  readonly startedAt: string;
  readonly durationMs: number;
  /** Milliseconds in each phase: waiting on AWS (lease, read, ecs, act) or the checker's own. */
  readonly phases: Readonly<PhaseTimes>;
  readonly degraded: boolean;
  readonly late: boolean;
  readonly probed: number;
  readonly failed: number;
  readonly actions: number;
  readonly holds: readonly Hold[];
  readonly warnings: readonly string[];
}

const RECENT_ACTIONS = 200;

export class StatusBook {
  namespace: { id: string; name: string } | undefined;
  /** The namespace given, while no namespace has that ID or name (`run` keeps looking). */
  namespaceNotFound: string | undefined;
  lastCycle: CycleSummary | undefined;
  lastCycleCompletedAt: number | undefined;
  lastError: string | undefined;
  /** Probes of the last cycle that failed inside the checker (bad request, no socket). */
  localErrors: { readonly count: number; readonly detail: string } | undefined;
  /** Last failure of the durable store, cleared when it answers again. */
  storeError: string | undefined;
  /** Failed reads and writes of the durable store since start. */
  storeErrorCount = 0;
  /** What the last cycle could not read from AWS, by source, since when (see outages.ts). */
  readonly blind: Partial<
    Record<"Cloud Map" | "ECS", { since: number; what: string; error: string }>
  > = {};
  lease:
    { holder: string | undefined; mine: boolean; expiresAt: string; ownerId: string } | undefined;
  /** ECS services where replacing stopped, since their replacements kept failing. */
  replacementsStopped: readonly StormStatus[] = [];
  /** What each service was probed in last cycle (`auto` resolves per task). */
  protocols: Readonly<Record<string, ServiceProtocols>> = {};
  /** Builds the instance list when /status asks, not every cycle: it is large and rarely read. */
  private instancesOf: () => InstanceStatus[] = () => [];
  readonly recentActions: ActionRecord[] = [];

  constructor(
    private readonly intervalMs: number,
    private readonly startedAt: number,
  ) {}

  /** Every instance's state as of the last cycle. */
  get instances(): InstanceStatus[] {
    return this.instancesOf();
  }

  /** Sets how to list the last cycle's instances; built once, on first read. */
  showInstances(build: () => InstanceStatus[]): void {
    let built: InstanceStatus[] | undefined;
    this.instancesOf = () => (built ??= build());
  }

  recordAction(record: ActionRecord): void {
    this.recentActions.push(record);
    if (this.recentActions.length > RECENT_ACTIONS) this.recentActions.shift();
  }

  /**
   * Alive while cycles complete (or start-up goes on): what the container health check asks, so
   * that ECS replaces a stuck checker but not one that merely cannot see AWS (a new task could
   * not either).
   */
  live(now: number): { ok: boolean; reason: string } {
    const h = this.health(now);
    return h.ok || !h.reason.startsWith("stuck") ? { ok: true, reason: "alive" } : h;
  }

  /** Healthy while cycles complete on time and the checker is not degraded. */
  health(now: number): { ok: boolean; reason: string } {
    if (this.namespaceNotFound !== undefined) {
      return { ok: false, reason: `namespace not found: "${this.namespaceNotFound}" (retrying)` };
    }
    const limit = 3 * this.intervalMs + 5000;
    if (this.lastCycleCompletedAt === undefined) {
      const waited = now - this.startedAt;
      if (waited > limit) return { ok: false, reason: `stuck: no cycle completed in ${waited} ms` };
      return { ok: true, reason: "starting: no cycle completed yet" };
    }
    const age = now - this.lastCycleCompletedAt;
    if (age > limit) return { ok: false, reason: `stuck: last cycle completed ${age} ms ago` };
    if (this.lastError !== undefined) {
      return { ok: false, reason: `degraded: the last cycle failed (${this.lastError})` };
    }
    for (const [source, b] of Object.entries(this.blind)) {
      return {
        ok: false,
        reason: `degraded: could not read ${source} for ${Math.round((now - b.since) / 1000)} s (${b.what}: ${b.error})`,
      };
    }
    if (this.storeError !== undefined) {
      return { ok: false, reason: `degraded: state store unavailable (${this.storeError})` };
    }
    if (this.localErrors !== undefined) {
      const { count, detail } = this.localErrors;
      return {
        ok: false,
        reason: `degraded: ${count} probes failed inside the checker last cycle (${detail}); nothing decided on them`,
      };
    }
    if (this.lastCycle?.degraded) {
      return { ok: false, reason: "degraded: most probes failed at once in the last cycle" };
    }
    // Loud but not failing: the checker works; replacing would not help there.
    if (this.replacementsStopped.length > 0) {
      const services = this.replacementsStopped.map((s) => s.ecsService).join(", ");
      return {
        ok: true,
        reason: `ok; not replacing tasks in ${services}: the tasks that replaced stopped ones kept failing (see /status)`,
      };
    }
    return { ok: true, reason: "ok" };
  }

  /** The /status body; without `instances` (large in a big namespace), only the rest. */
  toJSON(now: number, opts: { instances?: boolean } = {}): unknown {
    return {
      version: packageVersion(),
      namespace: this.namespace,
      health: this.health(now),
      lastCycle: this.lastCycle,
      lastError: this.lastError,
      storeError: this.storeError,
      blind: Object.fromEntries(
        Object.entries(this.blind).map(([source, b]) => [
          source,
          { ...b, since: new Date(b.since).toISOString() },
        ]),
      ),
      localErrors: this.localErrors,
      replacementsStopped: this.replacementsStopped.map((s) => ({
        ...s,
        stoppedAt: new Date(s.stoppedAt).toISOString(),
      })),
      lease: this.lease,
      protocols: this.protocols,
      ...(opts.instances === false ? {} : { instances: this.instances }),
      recentActions: this.recentActions,
    };
  }
}
