// Resolves `auto` checks for a cycle's probes, and says per service which protocols it probes.
// What the task cache knows already resolves at once; for tasks new to it the cycle waits a
// bounded time for DescribeTasks and DescribeTaskDefinition. An instance still unresolved is
// not probed this cycle (nothing is decided without a probe), and /status says why.

import type { TaskLookup } from "../domain/types";
import type { Clock, EcsPort } from "../ports";
import { withCheck, type Listed, type ProbeItem } from "./listing";
import { CheckSpecs, resolveCheck, TaskDefinitionBook, type Resolved } from "./protocols";

/** What a cycle probes each service in. */
export interface ServiceProtocols {
  /** Instances per probe protocol (`pending`: not resolved, not probed). */
  readonly instances: Record<string, number>;
  /** Where the protocol came from: `configured`, or auto's reason for one instance of each. */
  readonly source: Record<string, string>;
  /** Why instances are pending, when some are. */
  readonly pending?: string;
}

export interface TaskView {
  /** The task's state as the cache knows it now (before this cycle's describe lands). */
  cached(taskId: string): TaskLookup | undefined;
  /** Every task's state once this cycle's DescribeTasks answered; may reject. */
  lookups(): Promise<Map<string, TaskLookup>>;
}

export class AutoChecks {
  readonly book: TaskDefinitionBook;
  private readonly specs = new CheckSpecs();

  constructor(
    ecs: Pick<EcsPort, "describeTaskDefinition">,
    private readonly clock: Clock,
    onError?: (arn: string, error: string, first: boolean) => void,
  ) {
    this.book = new TaskDefinitionBook(ecs, clock, onError);
  }

  /**
   * The items to probe, each with a concrete check, and the per-service summary. Waits at most
   * `waitMs` for what resolving the rest needs.
   */
  async resolve(
    items: readonly ProbeItem[],
    listed: readonly Listed[],
    tasks: TaskView,
    waitMs: number,
  ): Promise<{ items: ProbeItem[]; protocols: Map<string, ServiceProtocols> }> {
    const resolveOne = (item: ProbeItem, task: TaskLookup | undefined): Resolved =>
      resolveCheck(
        item.check,
        listed[item.listedAt]!.snap.info,
        item.record,
        task,
        this.book,
        this.specs,
      );
    const results: Resolved[] = items.map((item) =>
      resolveOne(item, tasks.cached(item.record.instanceId)),
    );
    const waiting = results.some((r) => "pending" in r);
    if (waiting) {
      // Known task definitions first: those need no DescribeTasks.
      const arns = results.flatMap((r) => ("pending" in r && r.arn ? [r.arn] : []));
      const fetched = (async () => {
        await this.book.fetch(arns);
        const lookups = await tasks.lookups();
        const more: string[] = [];
        for (const [i, r] of results.entries()) {
          if (!("pending" in r)) continue;
          const l = lookups.get(items[i]!.record.instanceId);
          if (l?.kind === "task" && l.task.taskDefinitionArn) more.push(l.task.taskDefinitionArn);
        }
        await this.book.fetch(more);
        return lookups;
      })();
      const lookups = await bounded(fetched, waitMs, this.clock);
      for (const [i, r] of results.entries()) {
        if (!("pending" in r)) continue;
        const id = items[i]!.record.instanceId;
        results[i] = resolveOne(items[i]!, lookups?.get(id) ?? tasks.cached(id));
      }
    }
    const out: ProbeItem[] = [];
    const protocols = new Map<string, Summary>();
    for (const [i, r] of results.entries()) {
      const item = items[i]!;
      let s = protocols.get(item.service);
      if (s === undefined) protocols.set(item.service, (s = { instances: {}, source: {} }));
      if ("pending" in r) {
        s.instances["pending"] = (s.instances["pending"] ?? 0) + 1;
        s.pending ??= r.pending;
        continue;
      }
      const p = r.check.protocol;
      s.instances[p] = (s.instances[p] ?? 0) + 1;
      s.source[p] ??= r.why;
      out.push(r.check === item.check ? item : withCheck(item, r.check));
    }
    return { items: out, protocols };
  }
}

type Summary = {
  instances: Record<string, number>;
  source: Record<string, string>;
  pending?: string;
};

/** `p`'s value, or undefined when it rejects or takes longer than `ms`. */
async function bounded<T>(p: Promise<T>, ms: number, clock: Clock): Promise<T | undefined> {
  const ac = new AbortController();
  const timeout = clock.sleep(ms, ac.signal).then(() => undefined);
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    ac.abort();
  }
}
