// Start-up failures in the user's terms. Anything wrong with what the user gave (a flag, a
// variable, a listen address the system refuses, a namespace that does not exist) exits 2 and
// names the setting; AWS being unreachable is no such thing and is retried or exits 1.

import { settingLabel, type CheckerConfig } from "./config";
import { backoffMs } from "./util/backoff";

export const PROGRAM = "cloudmap-health-checker";

/** Exit code of bad start-up input, whichever part of it is wrong. */
export const EXIT_BAD_INPUT = 2;

export function exitBadInput(problems: readonly string[], notes: readonly string[] = []): never {
  const lines = [
    `${PROGRAM}: invalid configuration`,
    ...problems.map((p) => `  - ${p}`),
    ...notes.map((n) => `  note: ${n}`),
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
  process.exit(EXIT_BAD_INPUT);
}

/** What is wrong with the listen address, when the system refused it for a reason of its own. */
export function listenProblem(err: unknown, listen: CheckerConfig["listen"]): string | undefined {
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    EADDRINUSE: `${host}:${listen.port} is already in use by another process`,
    EADDRNOTAVAIL: `${listen.host} is not an address of this host; use 0.0.0.0 (every address) or one of its own`,
    EACCES: `not permitted to listen on port ${listen.port}; use a port above 1023`,
    ENOTFOUND: `host ${listen.host} does not resolve`,
  };
  const why = code === undefined ? undefined : reasons[code];
  return why === undefined ? undefined : `${settingLabel("listen")}: ${why} (${code})`;
}

/**
 * Wait before looking up the namespace again: doubling from 1 s to a minute, each drawn from the
 * upper half at random so that replicas started together do not ask together.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  return backoffMs(attempt, 1000, 60_000, random);
}
