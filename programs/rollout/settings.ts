// The checker settings the rollout applies to every stack. Flags, value names and help come from
// the checker's own option schema, and the list of keys is checked against the component's
// CheckerSettings by the compiler, so the rollout CLI cannot drift from either.

import { Option, type Command } from "commander";
import type { CheckerSettings, ServiceOverride } from "../../components";
import {
  ConfigError,
  optionSpec,
  parseConfig,
  type OptionKey,
  type Settings,
} from "../../checker/config";

type Key = keyof CheckerSettings;
// Every component setting is a checker option (same key): a new one fails to compile here.
const keysAreOptions: Key extends OptionKey ? true : never = true;
void keysAreOptions;

const text = <T extends string>(t: string): T => t as T;

/** Flag text -> the component's typed value; one entry per component setting (compiler-checked). */
const CONVERT: { [K in Key]-?: (t: string) => NonNullable<CheckerSettings[K]> } = {
  checkProtocol: text,
  checkPath: text,
  checkPort: Number,
  expectedStatus: text,
  interval: text,
  timeout: text,
  unhealthyThreshold: Number,
  healthyThreshold: Number,
  action: text,
  maxUnhealthyPercent: Number,
  startupGrace: text,
  services: (t) =>
    t
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  serviceOverrides: (t) => JSON.parse(t) as Record<string, ServiceOverride>,
  replaceAfter: text,
  replaceCooldown: text,
  maxReplacementsPerCycle: Number,
  logLevel: text,
};

/** Checker settings a rollout applies to every stack (the component's CheckerSettings). */
export const STACK_SETTING_KEYS = Object.keys(CONVERT) as Key[];

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
  for (const [key, value] of Object.entries(raw)) out[key] = CONVERT[key as Key](value);
  return out as CheckerSettings;
}
