// What the checker could not read from AWS, told once per outage: a warn line when a cycle first
// could not read Cloud Map or ECS (with the AWS error), /healthz 503 and /status `blind` while it
// lasts, and an info line with its length when a cycle reads it again.

import type { Logger } from "./logger";
import type { StatusBook } from "./status";

export type AwsSource = "Cloud Map" | "ECS";

/** What one cycle could not read from a source, or undefined when it read everything. */
export interface ReadProblem {
  /** e.g. "2 of 14 services" or "DescribeTasks for 40 tasks". */
  readonly what: string;
  /** The first AWS error, as describeAwsError gives it. */
  readonly error: string;
}

export class Outages {
  constructor(
    private readonly logger: Logger,
    private readonly status: StatusBook,
  ) {}

  /** A cycle's end: what it could not read from `source` (undefined: it read everything). */
  observe(source: AwsSource, problem: ReadProblem | undefined, now: number): void {
    const ongoing = this.status.blind[source];
    if (problem === undefined) {
      if (ongoing === undefined) return;
      delete this.status.blind[source];
      this.logger.info(
        { source, lastedMs: now - ongoing.since, lastError: ongoing.error },
        `${source} answers again after ${Math.round((now - ongoing.since) / 1000)} s`,
      );
      return;
    }
    this.status.blind[source] = {
      since: ongoing?.since ?? now,
      what: problem.what,
      error: problem.error,
    };
    if (ongoing !== undefined) return;
    this.logger.warn(
      { source, what: problem.what, err: problem.error },
      `could not read ${source} (${problem.what}): ${problem.error}; nothing is decided from what ` +
        "was not read, and the checker reports itself degraded until it reads it again",
    );
  }
}

/** What a cycle could not read from Cloud Map, from the reader's failures. */
export function cloudMapProblem(
  failures: ReadonlyArray<{ readonly service: string | undefined; readonly error: string }>,
  services: number,
): ReadProblem | undefined {
  const first = failures[0];
  if (first === undefined) return undefined;
  const list = failures.some((f) => f.service === undefined) ? "the service list" : undefined;
  const failed = failures.filter((f) => f.service !== undefined);
  const names = failed
    .slice(0, 3)
    .map((f) => f.service)
    .join(", ");
  const more = failed.length > 3 ? ", ..." : "";
  const some =
    failed.length > 0 ? `${failed.length} of ${services} services (${names}${more})` : undefined;
  return { what: [list, some].filter(Boolean).join(" and "), error: first.error };
}

/** What a cycle could not read from ECS: its task lookups that failed, or the whole read. */
export function ecsProblem(
  lookups: Iterable<{ readonly kind: string; readonly reason?: string }>,
  readError: string | undefined,
): ReadProblem | undefined {
  if (readError !== undefined) return { what: "the tasks' state", error: readError };
  let count = 0;
  let error: string | undefined;
  for (const l of lookups) {
    if (l.kind !== "unavailable" || l.reason === undefined) continue;
    count++;
    error ??= l.reason;
  }
  return error === undefined ? undefined : { what: `the state of ${count} tasks`, error };
}
