// The checker settings the rollout applies to every stack. Flags, value names, help and value
// shapes come from the checker's own option schema (whose settings the compiler holds equal to
// the component's CheckerSettings), so the rollout CLI cannot drift from either.

import { Option, type Command } from "commander";
import type { CheckerSettings } from "../../components";
import {
  ConfigError,
  optionSpec,
  parseConfig,
  SETTING_KEYS,
  type Settings,
} from "../../checker/config";
import type { MonitoringSettings } from "./stack-config";

type Key = keyof CheckerSettings;

/** A comma-separated flag value as a list, blanks dropped. */
export function commaList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Flag text -> the component's typed value, by the option's shape in the checker's schema. */
function convert(key: Key, t: string): unknown {
  switch (optionSpec(key).shape) {
    case "number":
      return Number(t);
    case "list":
      return commaList(t);
    case "json":
      return JSON.parse(t) as unknown;
    default:
      return t;
  }
}

/** Checker settings a rollout applies to every stack: every checker setting (schema.ts). */
export const STACK_SETTING_KEYS: readonly Key[] = SETTING_KEYS;

/** Adds one flag per setting, spelled as the checker spells it. */
export function addSettingOptions(cmd: Command): Command {
  for (const key of STACK_SETTING_KEYS) {
    const o = optionSpec(key);
    const def = o.default === undefined ? "" : ` (checker default ${o.default})`;
    cmd.addOption(new Option(`${o.flag} <${o.valueName}>`, `${o.description}${def}`));
  }
  return cmd;
}

/**
 * Commander's parsed options -> typed settings, validated now by the checker's own parser so a
 * bad value fails `plan` with the flag named, before any stack is touched.
 */
export function settingsFromFlags(opts: Record<string, unknown>): CheckerSettings {
  const raw: Settings = {};
  for (const key of STACK_SETTING_KEYS) {
    const value = opts[key];
    if (typeof value === "string") raw[key] = value;
  }
  try {
    parseConfig({ flags: { ...raw, namespace: "ns-validate" } });
  } catch (err) {
    if (err instanceof ConfigError)
      throw new Error(`invalid checker settings:\n${err.message}`, { cause: err });
    throw err;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) out[key] = convert(key as Key, value);
  return out as CheckerSettings;
}

/** Flags for every stack's dashboard and alarms (component args, not checker settings). */
export function addMonitoringOptions(cmd: Command): Command {
  return cmd
    .option("--alarm-topic-arn <arn>", "SNS topic every stack's alarms notify (alarm and OK)")
    .option("--alarm-actions <arns>", "comma-separated ARNs every stack's alarms also notify")
    .option("--no-alarms", "create no CloudWatch alarms")
    .option("--no-dashboard", "create no CloudWatch dashboard");
}

/**
 * The monitoring flags given. Commander defaults a lone `--no-x` to true: only false (the flag
 * given) is passed on, so the config file's settings and the component's defaults still apply.
 */
export function monitoringFromFlags(opts: Record<string, unknown>): MonitoringSettings {
  const arns = typeof opts["alarmActions"] === "string" ? opts["alarmActions"] : undefined;
  return {
    ...(opts["alarms"] === false ? { alarms: false } : {}),
    ...(opts["dashboard"] === false ? { dashboard: false } : {}),
    ...(typeof opts["alarmTopicArn"] === "string" ? { alarmTopicArn: opts["alarmTopicArn"] } : {}),
    ...(arns === undefined ? {} : { alarmActions: commaList(arns) }),
  };
}
