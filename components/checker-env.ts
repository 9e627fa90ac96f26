// Turns the component's typed settings into the checker container's environment through the
// checker's own schema and parser, so the two cannot drift.

import { ConfigError, parseConfig, toEnvironment, type Settings } from "../checker/config";
import type { CheckerSettings } from "./args";

/** Settings as the checker's option schema spells them (strings, durations as typed). */
export function toSettings(s: CheckerSettings): Settings {
  const out: Settings = {};
  const set = (key: keyof Settings, value: string | number | undefined): void => {
    if (value !== undefined) out[key] = String(value);
  };
  set("checkProtocol", s.checkProtocol);
  set("checkPath", s.checkPath);
  set("checkPort", s.checkPort);
  set("expectedStatus", s.expectedStatus);
  set("interval", s.interval);
  set("timeout", s.timeout);
  set("unhealthyThreshold", s.unhealthyThreshold);
  set("healthyThreshold", s.healthyThreshold);
  set("action", s.action);
  set("maxUnhealthyPercent", s.maxUnhealthyPercent);
  set("startupGrace", s.startupGrace);
  set("logLevel", s.logLevel);
  set("replaceAfter", s.replaceAfter);
  set("replaceCooldown", s.replaceCooldown);
  set("maxReplacementsPerCycle", s.maxReplacementsPerCycle);
  if (s.services !== undefined) out.services = s.services.join(",");
  if (s.serviceOverrides !== undefined) out.serviceOverrides = JSON.stringify(s.serviceOverrides);
  return out;
}

/**
 * The container environment for these settings, validated now by the checker's parser (with a
 * stand-in namespace and table, which are Outputs set separately). Throws with the arg named.
 */
export function checkerEnvironment(
  s: CheckerSettings,
  statusPort: number,
): { env: Record<string, string>; intervalMs: number; replaces: boolean } {
  const settings: Settings = { ...toSettings(s), listen: `0.0.0.0:${statusPort}` };
  try {
    const parsed = parseConfig({
      flags: { ...settings, namespace: "ns-validate", stateTable: "validate" },
    });
    const replaces =
      parsed.defaults.policy.replaceAfterMs !== undefined ||
      [...parsed.overrides.values()].some((o) => o.policy.replaceAfterMs !== undefined);
    return { env: toEnvironment(settings), intervalMs: parsed.intervalMs, replaces };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new Error(
      `CloudMapHealthChecker: invalid checker settings:\n${err.problems
        .map((p) => `  - ${nameArgs(p)}`)
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

/** Rewrites `--check-path / CMHC_CHECK_PATH: ...` to name the component arg: `checkPath`. */
function nameArgs(problem: string): string {
  return problem.replace(/^--([a-z-]+) \/ CMHC_[A-Z_]+/, (_, flag: string) => {
    const arg = flag.replace(/-([a-z])/g, (_m: string, c: string) => c.toUpperCase());
    return `\`${arg === "listen" ? "statusPort" : arg}\``;
  });
}
