// CloudWatch Embedded Metric Format: JSON records among the logs on stdout, which the awslogs
// driver ships and CloudWatch turns into metrics (no agent, no PutMetricData, no IAM). Names,
// units and dimension sets come from metric-catalog.ts, which the component's alarms read too.
// Written directly, not with aws-embedded-metrics: its public sinks write to the global console
// or an agent socket (not the checker's own ordered stream), it refuses timestamps off the wall
// clock (the checker's clock is injected), and it cost 9 us a record against 2 here.

import type { ActionRecord } from "./status";
import {
  METRIC_NAMESPACE,
  METRICS,
  RECORD_KIND_FIELD,
  RECORDS,
  type DimensionName,
  type MetricName,
  type RecordKind,
  type RecordSpec,
} from "./metric-catalog";

/** Writes one record (a JSON text without its newline). */
export type EmfSink = (line: string) => void;

/** The metrics a record of `K` may carry. */
type MetricOf<K extends RecordKind> = (typeof RECORDS)[K]["metrics"][number];

/** CloudWatch's Dimension.Value: 1 to 1024 printable ASCII characters, not all blank. */
function validDimension(value: string): boolean {
  return value.length <= 1024 && /^[\x20-\x7e]+$/.test(value) && value.trim() !== "";
}

/**
 * One EMF record of `kind`, or undefined when a dimension value is one CloudWatch would refuse
 * (the record would be dropped there anyway). Only finite values are written, and a sparse
 * metric (metric-catalog.ts) only when not 0, or when named in `keepZero`.
 */
export function emfRecord<K extends RecordKind>(
  kind: K,
  r: {
    readonly timestamp: number;
    readonly dimensions: Readonly<Partial<Record<DimensionName, string>>>;
    readonly values: Readonly<Partial<Record<MetricOf<K>, number>>>;
    readonly properties?: Readonly<Record<string, unknown>>;
    readonly keepZero?: ReadonlyArray<MetricOf<K>>;
  },
): string | undefined {
  const spec: RecordSpec = RECORDS[kind];
  const dims: Record<string, string> = {};
  for (const set of spec.dimensionSets) {
    for (const d of set) {
      const value = r.dimensions[d];
      if (value === undefined || !validDimension(value)) return undefined;
      dims[d] = value;
    }
  }
  const metrics: Array<{ Name: string; Unit: string }> = [];
  const values: Record<string, number> = {};
  for (const name of spec.metrics as readonly MetricName[]) {
    const value = (r.values as Partial<Record<MetricName, number>>)[name];
    if (value === undefined || !Number.isFinite(value)) continue;
    if (value === 0 && spec.sparse.includes(name) && !(r.keepZero ?? []).includes(name)) continue;
    metrics.push({ Name: name, Unit: METRICS[name].unit });
    values[name] = value;
  }
  return JSON.stringify({
    _aws: {
      Timestamp: Math.round(r.timestamp),
      CloudWatchMetrics: [
        { Namespace: METRIC_NAMESPACE, Dimensions: spec.dimensionSets, Metrics: metrics },
      ],
    },
    [RECORD_KIND_FIELD]: kind,
    ...r.properties,
    // Dimensions and values last: no property can shadow them.
    ...dims,
    ...values,
  });
}

/** The metric an action record carries: its kind when done, else what became of it. */
function actionMetric(a: ActionRecord): MetricOf<"action"> {
  switch (a.outcome) {
    case "error":
      return "ActionErrors";
    case "dry-run":
      return "DryRunActions";
    case "stale":
      return "ActionsDropped";
    case "ok":
      switch (a.kind) {
        case "deregister":
          return "Deregistrations";
        case "register":
          return "Registrations";
        case "set-status":
          return a.status === "HEALTHY" ? "MarkedHealthy" : "MarkedUnhealthy";
        case "stop-task":
          return "TasksStopped";
      }
  }
}

/** What a cycle record reports: the figures of the same cycle's /status. */
export interface CycleFigures {
  readonly at: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly late: boolean;
  /** /healthz would answer 503 now (`health` says why). */
  readonly degraded: boolean;
  readonly health: string;
  readonly probed: number;
  readonly failed: number;
  readonly localErrors: number;
  readonly actions: number;
  readonly holds: ReadonlyArray<{ readonly rule: string }>;
  readonly replacementsHeld: number;
  readonly replacementsStopped: number;
  readonly storeErrors: number;
  /** This replica holds the lease (acts); a standby's figures are its own view. */
  readonly leaseHolder: boolean;
  /** In and out of rotation, and failed probes, by Cloud Map service name. */
  readonly services: ReadonlyMap<
    string,
    { readonly inRotation: number; readonly outOfRotation: number; readonly failed: number }
  >;
}

/** A steady service's record is written at least this often (CloudWatch's standard period). */
export const SERVICE_RECORD_EVERY_MS = 60_000;

/** Writes a namespace's records; a sink that throws loses the record, never the cycle. */
export class EmfPublisher {
  private skipped = false;
  /** Each service's last record: a steady service writes one a minute, not one a cycle. */
  private readonly lastService = new Map<
    string,
    { at: number; inRotation: number; outOfRotation: number }
  >();

  constructor(
    private readonly sink: EmfSink,
    private readonly namespace: { readonly id: string; readonly name: string },
    /** Told once when a record cannot be written (a dimension CloudWatch would refuse). */
    private readonly onSkip: (why: string) => void = () => {},
  ) {}

  /** One record for the cycle, one per service, one per rule that held something. */
  cycle(c: CycleFigures): void {
    const NamespaceId = this.namespace.id;
    let inRotation = 0;
    let outOfRotation = 0;
    for (const s of c.services.values()) {
      inRotation += s.inRotation;
      outOfRotation += s.outOfRotation;
    }
    this.write(
      emfRecord("cycle", {
        timestamp: c.at,
        dimensions: { NamespaceId },
        values: {
          Cycles: 1,
          CycleDuration: c.durationMs,
          LateCycles: c.late ? 1 : 0,
          Degraded: c.degraded ? 1 : 0,
          Probes: c.probed,
          ProbeFailures: c.failed,
          ProbeLocalErrors: c.localErrors,
          InstancesInRotation: inRotation,
          InstancesOutOfRotation: outOfRotation,
          HeldActions: c.holds.length,
          ReplacementsHeld: c.replacementsHeld,
          ReplacementsStopped: c.replacementsStopped,
          StateStoreErrors: c.storeErrors,
        },
        properties: {
          namespaceName: this.namespace.name,
          startedAt: c.startedAt,
          actions: c.actions,
          health: c.health,
          leaseHolder: c.leaseHolder,
        },
      }),
      "cycle",
    );
    for (const name of this.lastService.keys()) {
      if (!c.services.has(name)) this.lastService.delete(name);
    }
    for (const [Service, s] of c.services) {
      const last = this.lastService.get(Service);
      const steady =
        last !== undefined &&
        last.inRotation === s.inRotation &&
        last.outOfRotation === s.outOfRotation &&
        s.failed === 0;
      if (steady && c.at - last.at < SERVICE_RECORD_EVERY_MS) continue;
      this.lastService.set(Service, {
        at: c.at,
        inRotation: s.inRotation,
        outOfRotation: s.outOfRotation,
      });
      this.write(
        emfRecord("service", {
          timestamp: c.at,
          dimensions: { NamespaceId, Service },
          values: {
            InstancesInRotation: s.inRotation,
            InstancesOutOfRotation: s.outOfRotation,
            ProbeFailures: s.failed,
          },
          // The 0 that ends a stretch out of rotation, so a graph does not stop at its last 1.
          keepZero: (last?.outOfRotation ?? 0) > 0 ? ["InstancesOutOfRotation"] : [],
          properties: { startedAt: c.startedAt },
        }),
        `service ${Service}`,
      );
    }
    const byRule = new Map<string, number>();
    for (const h of c.holds) byRule.set(h.rule, (byRule.get(h.rule) ?? 0) + 1);
    for (const [Rule, n] of byRule) {
      this.write(
        emfRecord("hold", {
          timestamp: c.at,
          dimensions: { NamespaceId, Rule },
          values: { HeldActions: n },
          properties: { startedAt: c.startedAt },
        }),
        `rule ${Rule}`,
      );
    }
  }

  /** A cycle that failed: no figures, but the alarms must hear of it. */
  failedCycle(at: number, error: string): void {
    this.write(
      emfRecord("cycle", {
        timestamp: at,
        dimensions: { NamespaceId: this.namespace.id },
        values: { Cycles: 0, Degraded: 1 },
        properties: { namespaceName: this.namespace.name, health: `degraded: ${error}` },
      }),
      "cycle",
    );
  }

  action(a: ActionRecord, at: number): void {
    this.write(
      emfRecord("action", {
        timestamp: at,
        dimensions: { NamespaceId: this.namespace.id, Service: a.service },
        values: { [actionMetric(a)]: 1 },
        properties: {
          kind: a.kind,
          ...(a.status !== undefined ? { status: a.status } : {}),
          instanceId: a.instanceId,
          serviceId: a.serviceId,
          outcome: a.outcome,
          reason: a.reason,
          dryRun: a.dryRun,
          ...(a.error !== undefined ? { error: a.error } : {}),
        },
      }),
      `action on ${a.service}`,
    );
  }

  private write(line: string | undefined, what: string): void {
    if (line === undefined) {
      if (!this.skipped)
        this.onSkip(`no CloudWatch metrics for ${what}: a dimension value CloudWatch refuses`);
      this.skipped = true;
      return;
    }
    try {
      this.sink(line);
    } catch {
      // Metrics are a view: losing one never stops a cycle (the log stream reports its own).
    }
  }
}
