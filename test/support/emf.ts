// Checks CloudWatch Embedded Metric Format records as CloudWatch would: the JSON schema AWS
// publishes (test/fixtures/emf-schema.json), then the specification's rules the schema cannot
// express (target members on the root node, their types, the limits).

import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import { RECORDS, STORM_BRAKES, type RecordSpec } from "../../checker/observability/metric-catalog";
import type { ActionRecord } from "../../checker/observability/status";

const schema = JSON.parse(
  readFileSync(path.resolve(__dirname, "../../../test/fixtures/emf-schema.json"), "utf8"),
) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);

export interface EmfRecord {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string;
      readonly Dimensions: ReadonlyArray<readonly string[]>;
      readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit?: string }>;
    }>;
  };
  readonly [member: string]: unknown;
}

/** What is wrong with a record, by the published schema and the specification; empty if valid. */
export function emfProblems(record: unknown): string[] {
  if (!validate(record)) {
    return (validate.errors ?? []).map((e) => `schema: ${e.instancePath} ${e.message ?? ""}`);
  }
  const r = record as EmfRecord;
  const problems: string[] = [];
  for (const d of r._aws.CloudWatchMetrics) {
    if (d.Metrics.length > 100) problems.push(`${d.Metrics.length} metrics (at most 100)`);
    if (d.Dimensions.length > 30)
      problems.push(`${d.Dimensions.length} dimension sets (at most 30)`);
    for (const key of d.Dimensions.flat()) {
      const v = r[key];
      if (typeof v !== "string") problems.push(`dimension ${key}: no string member on the root`);
      else if (v.length < 1 || v.length > 1024 || !/^[\x20-\x7e]+$/.test(v) || v.trim() === "")
        problems.push(`dimension ${key}: ${JSON.stringify(v)} is no CloudWatch dimension value`);
    }
    for (const m of d.Metrics) {
      const v = r[m.Name];
      const numeric = (x: unknown): boolean => typeof x === "number" && Number.isFinite(x);
      if (Array.isArray(v) ? v.length > 100 || !v.every(numeric) : !numeric(v))
        problems.push(`metric ${m.Name}: no numeric member on the root`);
    }
  }
  return problems;
}

/** The EMF records among lines of output (log lines and others are skipped). */
export function emfRecords(output: string): EmfRecord[] {
  const out: EmfRecord[] = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{") || !line.includes('"_aws"')) continue;
    const parsed = JSON.parse(line) as { _aws?: unknown };
    if (parsed._aws !== undefined) out.push(parsed as EmfRecord);
  }
  return out;
}

/**
 * A record's figures as the checker meant them: its values, and 0 for each sparse metric of its
 * kind it leaves out (metric-catalog.ts writes those only when not 0).
 */
export function emfFigures(r: EmfRecord): Record<string, number> {
  const spec = (RECORDS as Record<string, RecordSpec>)[String(r["emf"])];
  const out: Record<string, number> = {};
  for (const name of spec?.sparse ?? []) out[name] = 0;
  return { ...out, ...emfValues(r) };
}

/** A record's metric values by name. */
export function emfValues(r: EmfRecord): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of r._aws.CloudWatchMetrics)
    for (const m of d.Metrics) out[m.Name] = r[m.Name] as number;
  return out;
}

/** /status (StatusBook.toJSON, as served) as far as a cycle record's figures go. */
export interface StatusBody {
  readonly namespace: { readonly id: string; readonly name: string };
  readonly health: { readonly ok: boolean; readonly reason: string };
  readonly lastCycle: {
    readonly startedAt: string;
    readonly durationMs: number;
    readonly late: boolean;
    readonly probed: number;
    readonly failed: number;
    readonly actions: number;
    readonly holds: ReadonlyArray<{ readonly rule: string }>;
  };
  readonly localErrors?: { readonly count: number };
  readonly replacementsStopped: readonly unknown[];
  readonly instances: ReadonlyArray<{ readonly service: string; readonly inRotation: boolean }>;
  readonly recentActions: readonly ActionRecord[];
}

/**
 * The figures the cycle record of /status's last cycle must carry, read from /status alone
 * (but state store errors, which /status does not count).
 */
export function cycleFiguresOf(body: StatusBody, storeErrors = 0): Record<string, number> {
  const last = body.lastCycle;
  const inRotation = body.instances.filter((i) => i.inRotation).length;
  return {
    Cycles: 1,
    CycleDuration: last.durationMs,
    LateCycles: last.late ? 1 : 0,
    Degraded: body.health.ok ? 0 : 1,
    Probes: last.probed,
    ProbeFailures: last.failed,
    ProbeLocalErrors: body.localErrors?.count ?? 0,
    InstancesInRotation: inRotation,
    InstancesOutOfRotation: body.instances.length - inRotation,
    HeldActions: last.holds.length,
    ReplacementsHeld: last.holds.filter((h) => STORM_BRAKES.has(h.rule as never)).length,
    ReplacementsStopped: body.replacementsStopped.length,
    StateStoreErrors: storeErrors,
  };
}
