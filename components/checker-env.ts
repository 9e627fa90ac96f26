// Turns the component's typed settings into the checker container's environment through the
// checker's own schema and parser, so the two cannot drift.

import {
  ConfigError,
  optionSpec,
  parseConfig,
  SETTING_KEYS,
  toEnvironment,
  type SettingKey,
  type Settings,
} from "../checker/config";
import type { logLevel, metricsFormat } from "../checker/config/values";
import type { ActionSetting, CheckProtocol as CheckerProtocol } from "../checker/domain/types";
import type { CheckAction, CheckerSettings, CheckProtocol, LogLevel, MetricsFormat } from "./args";

// The component's settings are exactly the checker's settings (schema.ts SETTING_KEYS): a new
// option that is not a component arg, or an arg that is no option, fails to compile here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const settingsAreOptions: Same<keyof CheckerSettings, SettingKey> = true;
void settingsAreOptions;
// The args' enums (as const objects, for the schema of other languages) hold exactly the values
// the checker's parser accepts: a value added to one and not the other fails to compile here.
const enumsAreTheCheckers: [
  Same<CheckProtocol, CheckerProtocol>,
  Same<CheckAction, ActionSetting>,
  Same<LogLevel, ReturnType<typeof logLevel>>,
  Same<MetricsFormat, ReturnType<typeof metricsFormat>>,
] = [true, true, true, true];
void enumsAreTheCheckers;

/** Settings as the checker's option schema spells them (strings, durations as typed). */
export function toSettings(s: CheckerSettings): Settings {
  const out: Settings = {};
  for (const key of SETTING_KEYS) {
    const value: unknown = s[key];
    if (value === undefined) continue;
    const shape = optionSpec(key).shape;
    out[key] =
      shape === "list"
        ? (value as readonly string[]).join(",")
        : shape === "json"
          ? JSON.stringify(value)
          : String(value as string | number);
  }
  return out;
}

/**
 * The container environment for these settings, validated now by the checker's parser (with a
 * stand-in namespace and table, which are Outputs set separately). Throws with the arg named.
 */
export function checkerEnvironment(
  s: CheckerSettings,
  statusPort: number,
): {
  env: Record<string, string>;
  intervalMs: number;
  replaces: boolean;
  readsTaskDefinitions: boolean;
} {
  const settings: Settings = { ...toSettings(s), listen: `0.0.0.0:${statusPort}` };
  try {
    const parsed = parseConfig({
      flags: { ...settings, namespace: "ns-validate", stateTable: "validate" },
    });
    // `auto` replaces in the Service Connect services found at run time: grant it unless off.
    const replaces =
      parsed.defaults.policy.replaceAfterMs !== undefined ||
      [...parsed.overrides.values()].some((o) => o.policy.replaceAfterMs !== undefined);
    // `auto` protocol reads the task definitions of the tasks it finds.
    const readsTaskDefinitions =
      parsed.defaults.check.protocol === "auto" ||
      [...parsed.overrides.values()].some((o) => o.check.protocol === "auto");
    return {
      env: toEnvironment(settings),
      intervalMs: parsed.intervalMs,
      replaces,
      readsTaskDefinitions,
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new Error(
      `CloudMapHealthChecker: invalid checker settings:\n${err.issues
        .map((i) => `  - \`${argOf(i.key)}\`: ${i.message}`)
        .join("\n")}`,
      { cause: err },
    );
  }
}

/**
 * `NODE_OPTIONS` for a task of `memoryMiB`: V8's old space capped at a quarter of it, and its
 * young generation at a sixty-fourth (8 MiB semi-spaces at 512 MiB; V8's default is 16). Without
 * them V8 sizes its heap from the host and collects late: at 20,000 instances the checker's live
 * heap is under 50 MiB, yet RSS passed 300 MiB before V8 bothered; with the old-space cap it
 * stayed at 200-208 MiB, with smaller semi-spaces too at 173-183 MiB for no measurable CPU
 * (bench/core.ts). The benchmarks run the checker with the options of the default task size.
 */
export function nodeOptions(memoryMiB: number): string {
  const oldSpace = Math.max(96, Math.floor(memoryMiB / 4));
  const semiSpace = Math.min(16, Math.max(4, Math.floor(memoryMiB / 64)));
  return `--max-old-space-size=${oldSpace} --max-semi-space-size=${semiSpace}`;
}

/** The component arg a checker setting comes from: the same key, but `statusPort` for `listen`. */
function argOf(key: string): string {
  return key === "listen" ? "statusPort" : key;
}
