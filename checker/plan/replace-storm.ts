// Replacements that do not help. Stopping a task mends a failure of that task, not one its
// successors share (a wrong check path, a dependency that is down): ELB with ECS and Kubernetes
// liveness probes are known to churn tasks forever then. So when tasks started after a
// replacement are taken out again, STORM_FAILURES of them within STORM_WINDOW_MS, the service is
// no longer replaced until one of its tasks started since passes for STORM_RELEASE_MS. Time alone
// never ends the stop: that would only churn more slowly. Pure: the engine keeps the book.

import type { InstanceState, StormEntry, TaskLookup } from "../domain/types";

export type { StormEntry } from "../domain/types";

/** Failed replacements within STORM_WINDOW_MS that stop replacing in a service. */
export const STORM_FAILURES = 3;
export const STORM_WINDOW_MS = 30 * 60_000;
/** A task started since the last replacement that passes this long ends the stop. */
export const STORM_RELEASE_MS = 5 * 60_000;

/** Per ECS service (`CLUSTER/SERVICE`). */
export type StormBook = ReadonlyMap<string, StormEntry>;

/** A storm's state as /status shows it. */
export interface StormStatus {
  readonly ecsService: string;
  readonly stoppedAt: number;
  readonly failedReplacements: number;
}

/**
 * When a task started: ECS's `startedAt`, or when the checker first saw its instance (a task
 * registered after a replacement was first seen after it; ECS leaves `startedAt` empty until
 * the task runs).
 */
export function startedOf(task: TaskLookup, state: InstanceState): number {
  return (task.kind === "task" ? task.task.startedAt : undefined) ?? state.firstSeen;
}

/**
 * A removal of a task that started after its service's last replacement, within the window:
 * the replacement did not help.
 */
export function isFailedReplacement(
  task: TaskLookup,
  state: InstanceState,
  lastReplacementAt: number | undefined,
  now: number,
): boolean {
  if (task.kind !== "task" || lastReplacementAt === undefined) return false;
  return startedOf(task, state) >= lastReplacementAt && now - lastReplacementAt <= STORM_WINDOW_MS;
}

/**
 * The book with task `taskId` of `ecsService` noted as a failed replacement at `at`. Failures
 * older than the window drop; reaching STORM_FAILURES stops replacements there.
 */
export function noteFailedReplacement(
  book: StormBook,
  ecsService: string,
  taskId: string,
  at: number,
): StormBook {
  const entry = book.get(ecsService);
  if (entry?.failures.has(taskId) === true) return book;
  const failures = new Map<string, number>();
  for (const [id, t] of entry?.failures ?? []) if (at - t <= STORM_WINDOW_MS) failures.set(id, t);
  failures.set(taskId, at);
  const stoppedAt = entry?.stoppedAt ?? (failures.size >= STORM_FAILURES ? at : undefined);
  const next = new Map(book);
  next.set(ecsService, stoppedAt === undefined ? { failures } : { failures, stoppedAt });
  return next;
}

/** ECS services where replacements are stopped. */
export function stormedServices(book: StormBook): Set<string> {
  const out = new Set<string>();
  for (const [key, e] of book) if (e.stoppedAt !== undefined) out.add(key);
  return out;
}

/** The stopped services, for /status and /healthz. */
export function stormStatus(book: StormBook): StormStatus[] {
  const out: StormStatus[] = [];
  for (const [ecsService, e] of book) {
    if (e.stoppedAt === undefined) continue;
    out.push({ ecsService, stoppedAt: e.stoppedAt, failedReplacements: e.failures.size });
  }
  return out.sort((a, b) => a.ecsService.localeCompare(b.ecsService));
}

/** One instance as the release rule sees it. */
export interface StormWitness {
  readonly ecsService: string | undefined;
  readonly task: TaskLookup;
  readonly state: InstanceState;
}

/**
 * Ends a service's record once one of its tasks started since its last replacement has passed
 * for STORM_RELEASE_MS (in rotation, every check passing): whatever failed them is mended. A
 * service not stopped whose failures are all older than the window is dropped too.
 */
export function releaseStorms(
  book: StormBook,
  instances: Iterable<StormWitness>,
  lastReplacement: ReadonlyMap<string, number> | undefined,
  intervalMs: number,
  now: number,
): StormBook {
  if (book.size === 0) return book;
  let next: Map<string, StormEntry> | undefined;
  const drop = (key: string): void => {
    (next ??= new Map(book)).delete(key);
  };
  for (const [key, e] of book) {
    if (e.stoppedAt !== undefined) continue;
    let fresh = false;
    for (const t of e.failures.values()) fresh ||= now - t <= STORM_WINDOW_MS;
    if (!fresh) drop(key);
  }
  for (const i of instances) {
    if (i.ecsService === undefined || i.task.kind !== "task") continue;
    if (!book.has(i.ecsService) || next?.has(i.ecsService) === false) continue;
    const since = lastReplacement?.get(i.ecsService) ?? 0;
    const started = startedOf(i.task, i.state);
    const passingMs = i.state.consecutiveSuccesses * intervalMs;
    if (
      started >= since &&
      i.state.inRotation &&
      i.state.verdict === "healthy" &&
      passingMs >= STORM_RELEASE_MS
    ) {
      drop(i.ecsService);
    }
  }
  return next ?? book;
}
