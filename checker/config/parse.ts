// Parses and validates every option once: flag, then environment variable, then default.
// All problems are collected and reported together, each naming the flag and the variable.

import type { CheckSpec, GlobalPolicy, ServicePolicy } from "../domain/types";
import {
  OPTIONS,
  OVERRIDE_KEYS,
  optionSpec,
  settingLabel,
  type OptionKey,
  type OverrideKey,
  type Settings,
} from "./schema";
import * as v from "./values";

/** One thing wrong with the settings: which setting (if one), and what is wrong with it. */
export interface ConfigIssue {
  readonly key: OptionKey;
  readonly message: string;
}

export class ConfigError extends Error {
  /** Each issue as the CLI says it: `--listen / CMHC_LISTEN: ...`. */
  readonly problems: readonly string[];

  constructor(readonly issues: readonly ConfigIssue[]) {
    const problems = issues.map((i) => `${settingLabel(i.key)}: ${i.message}`);
    super(problems.map((p) => `  - ${p}`).join("\n"));
    this.problems = problems;
    this.name = "ConfigError";
  }
}

export interface ServiceSettings {
  readonly check: CheckSpec;
  readonly policy: ServicePolicy;
}

export interface CheckerConfig {
  readonly namespace: string;
  readonly services: string[] | undefined;
  readonly intervalMs: number;
  readonly listen: { readonly host: string; readonly port: number };
  readonly logLevel: string;
  /** CloudWatch EMF records on the log stream; `auto` is resolved by the entry point (on ECS). */
  readonly metricsFormat: "emf" | "off" | "auto";
  /** Probes in flight at once; `auto` sizes it each cycle (see autoConcurrency). */
  readonly concurrency: number | "auto";
  readonly resyncIntervalMs: number;
  readonly maxMutationsPerSecond: number;
  /** DynamoDB state table; undefined keeps state in memory. */
  readonly stateTable: string | undefined;
  readonly global: GlobalPolicy;
  readonly defaults: ServiceSettings;
  readonly overrides: ReadonlyMap<string, ServiceSettings>;
}

/** Value parsers of the options a per-service override may also set. */
const SERVICE_PARSERS = {
  checkProtocol: v.protocol,
  grpcService: v.grpcService,
  checkPath: v.path,
  checkPort: v.port,
  expectedStatus: v.statusRanges,
  timeout: v.duration(1),
  unhealthyThreshold: v.integer(1, 100),
  healthyThreshold: v.integer(1, 100),
  startupGrace: v.duration(0),
  maxUnhealthyPercent: v.integer(0, 100),
  action: v.action,
  replaceAfter: v.durationOffOrAuto(1000),
} satisfies Record<OverrideKey, (text: string) => unknown>;

type ServiceValues = { [K in OverrideKey]?: ReturnType<(typeof SERVICE_PARSERS)[K]> };

export interface ConfigInput {
  readonly flags?: Settings;
  readonly env?: Record<string, string | undefined>;
}

/** Reads settings flag first, then variable, then default; each problem goes to `problems`. */
function settingReader(input: ConfigInput, problems: ConfigIssue[]) {
  const text = (key: OptionKey): string | undefined => {
    const o = optionSpec(key);
    const flag = input.flags?.[key];
    if (flag !== undefined) return flag;
    const env = input.env?.[o.env];
    if (env !== undefined && env !== "") return env;
    return o.default;
  };
  function get<T>(key: OptionKey, parse: (s: string) => T): T | undefined {
    const raw = text(key);
    if (raw === undefined) return undefined;
    try {
      return parse(raw);
    } catch (err) {
      problems.push({ key, message: (err as Error).message });
      return undefined;
    }
  }
  return { text, get };
}

export function parseConfig(input: ConfigInput): CheckerConfig {
  const problems: ConfigIssue[] = [];
  const { text, get } = settingReader(input, problems);

  const namespace = get("namespace", v.namespace);
  if (text("namespace") === undefined) {
    problems.push({
      key: "namespace",
      message: "required: the Cloud Map namespace ID (ns-...) or name",
    });
  }
  const intervalMs = get("interval", v.duration(100));
  const base: ServiceValues = {};
  for (const key of OVERRIDE_KEYS) {
    const parse: (s: string) => unknown = SERVICE_PARSERS[key];
    (base as Record<string, unknown>)[key] = get(key, parse);
  }
  if (intervalMs !== undefined && base.timeout !== undefined && base.timeout >= intervalMs) {
    problems.push({
      key: "timeout",
      message: `must be below the interval (${text("interval")}), got ${text("timeout")}`,
    });
  }
  const overrides = parseOverrides(text("serviceOverrides"), intervalMs, problems);
  const config = {
    namespace: namespace ?? "",
    services: get("services", v.nameList),
    intervalMs: intervalMs ?? 0,
    listen: get("listen", v.listen) ?? { host: "", port: 0 },
    logLevel: get("logLevel", v.logLevel) ?? "info",
    metricsFormat: get("metricsFormat", v.metricsFormat) ?? "auto",
    concurrency: get("concurrency", v.concurrency) ?? "auto",
    resyncIntervalMs: get("resyncInterval", v.duration(1000)) ?? 0,
    maxMutationsPerSecond: get("maxMutationsPerSecond", v.positiveNumber) ?? 1,
    stateTable: get("stateTable", v.tableName),
    global: {
      degradedFailPercent: get("degradedFailPercent", v.integer(1, 100)) ?? 0,
      degradedMinInstances: get("degradedMinInstances", v.integer(1, 1_000_000)) ?? 0,
      replaceCooldownMs: get("replaceCooldown", v.duration(0)) ?? 0,
      maxReplacementsPerCycle: get("maxReplacementsPerCycle", v.integer(0, 1000)) ?? 0,
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  const defaults = resolve(base as Required<ServiceValues>, {});
  return {
    ...config,
    defaults,
    overrides: new Map(
      [...overrides].map(([name, values]) => [
        name,
        resolve(base as Required<ServiceValues>, values),
      ]),
    ),
  };
}

/** `init-state`'s table, checked by the very parser `run` applies to it. */
export function parseStateTable(input: ConfigInput): string {
  const problems: ConfigIssue[] = [];
  const table = settingReader(input, problems).get("stateTable", v.tableName);
  if (table === undefined && problems.length === 0) {
    problems.push({ key: "stateTable", message: "required: the DynamoDB table to create" });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return table!;
}

function parseOverrides(
  raw: string | undefined,
  intervalMs: number | undefined,
  issues: ConfigIssue[],
): Map<string, ServiceValues> {
  const problem = (message: string): void => void issues.push({ key: "serviceOverrides", message });
  const out = new Map<string, ServiceValues>();
  if (raw === undefined) return out;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    problem(`not valid JSON (${(err as Error).message})`);
    return out;
  }
  if (!isPlainObject(json)) {
    problem(`expected a JSON object keyed by Cloud Map service name`);
    return out;
  }
  for (const [service, settings] of Object.entries(json)) {
    if (!isPlainObject(settings)) {
      problem(`service "${service}": expected an object of settings`);
      continue;
    }
    const values: ServiceValues = {};
    for (const [key, value] of Object.entries(settings)) {
      if (!(OVERRIDE_KEYS as readonly string[]).includes(key)) {
        problem(
          `service "${service}": unknown key "${key}" (allowed: ${OVERRIDE_KEYS.join(", ")})`,
        );
        continue;
      }
      if (typeof value !== "string" && typeof value !== "number") {
        problem(`service "${service}": ${key}: expected a string or number`);
        continue;
      }
      try {
        (values as Record<string, unknown>)[key] = SERVICE_PARSERS[key as OverrideKey](
          String(value),
        );
      } catch (err) {
        problem(`service "${service}": ${key}: ${(err as Error).message}`);
      }
    }
    if (intervalMs !== undefined && values.timeout !== undefined && values.timeout >= intervalMs) {
      problem(`service "${service}": timeout must be below the interval`);
    }
    out.set(service, values);
  }
  return out;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function resolve(base: Required<ServiceValues>, over: ServiceValues): ServiceSettings {
  const s = { ...base, ...over };
  return {
    check: {
      protocol: s.checkProtocol,
      path: s.checkPath,
      port: s.checkPort,
      expectedStatus: s.expectedStatus,
      timeoutMs: s.timeout,
      grpcService: s.grpcService ?? "",
    },
    policy: {
      unhealthyThreshold: s.unhealthyThreshold,
      healthyThreshold: s.healthyThreshold,
      startupGraceMs: s.startupGrace,
      maxUnhealthyPercent: s.maxUnhealthyPercent,
      action: s.action,
      replaceAfterMs: s.replaceAfter,
    },
  };
}

/** The check and policy that apply to one Cloud Map service. */
export function serviceSettings(config: CheckerConfig, serviceName: string): ServiceSettings {
  return config.overrides.get(serviceName) ?? config.defaults;
}

/** Every option's default, as text. */
export function defaultSettings(): Settings {
  const out: Settings = {};
  for (const o of OPTIONS) if (o.default !== undefined) out[o.key] = o.default;
  return out;
}

/**
 * The environment that configures the checker with `settings` (used by the Pulumi component,
 * so the container's environment is exactly what `parseConfig` reads).
 */
export function toEnvironment(settings: Settings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) {
    const o = OPTIONS.find((x) => x.key === key);
    if (!o) throw new Error(`unknown checker setting "${key}"`);
    // parseConfig reads an empty variable as unset, so "" would silently become the default.
    if (value === "") throw new Error(`checker setting "${key}" is empty; omit it instead`);
    if (value !== undefined) env[o.env] = value;
  }
  return env;
}
