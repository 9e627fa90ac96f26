// The flap bench's ground-truth judge: was each Cloud Map mutation what its target had last told
// the checker? Pure, so it is tested on hand-made timelines (test/bench-judge.test.ts).

/** One answer a target gave a probe. */
export interface Answer {
  /** Epoch ms. */
  readonly at: number;
  readonly ok: boolean;
  /** A failure by timeout: the target held the request until the prober hung up. */
  readonly hung?: boolean;
}

export interface Mutation {
  /** Epoch ms the request arrived at the endpoint. */
  readonly at: number;
  readonly operation: string;
  readonly serviceId: string;
  readonly instanceId: string;
  /** "in": puts the instance in rotation (RegisterInstance, status HEALTHY); "out": takes it out. */
  readonly direction: "in" | "out";
  /** `ADDR:PORT` from the request's own attributes, when it carries them (RegisterInstance). */
  readonly target?: string;
}

export interface JudgedMutation {
  readonly mutation: Mutation;
  readonly target: string;
  /** What the target's latest answer before the mutation said. */
  readonly latestOk: boolean;
  /** ms from that answer to the mutation. */
  readonly sinceAnswerMs: number;
  /** Answers in a row, up to the mutation, that said what the latest did. */
  readonly streak: number;
  /** ms from the answer that completed the threshold's streak to the mutation, when it did. */
  readonly sinceThresholdMs: number | undefined;
  /** The target's last few answers up to the mutation, for a look at what happened. */
  readonly recent: readonly Answer[];
}

export interface Verdict {
  readonly removals: number;
  readonly reRegistrations: number;
  /** Put back in rotation while the latest answer failed. */
  readonly wrongIn: readonly JudgedMutation[];
  /** Taken out while the latest answer passed. */
  readonly wrongOut: readonly JudgedMutation[];
  /** Right way round, but before threshold answers in a row had said so. */
  readonly premature: readonly JudgedMutation[];
  /** Right, and after the threshold: the time since shows how long the action waited. */
  readonly right: readonly JudgedMutation[];
  /** No target known for the instance, or no answer before the mutation. */
  readonly unjudged: readonly Mutation[];
}

/**
 * A mutation "in" is wrong when the target's latest answer at or before its arrival failed; one
 * "out" when it passed. (A removal because ECS says the task is going away would be excused: the
 * flap bench stops no task.) `answers` per target in time order; an answer in the same
 * millisecond as the mutation counts as before it, as the checker acts on answers it has had.
 */
export function judge(
  answers: ReadonlyMap<string, readonly Answer[]>,
  mutations: readonly Mutation[],
  targetOf: (serviceId: string, instanceId: string) => string | undefined,
  thresholds: { readonly unhealthy: number; readonly healthy: number },
): Verdict {
  const v = {
    removals: 0,
    reRegistrations: 0,
    wrongIn: [] as JudgedMutation[],
    wrongOut: [] as JudgedMutation[],
    premature: [] as JudgedMutation[],
    right: [] as JudgedMutation[],
    unjudged: [] as Mutation[],
  };
  for (const m of mutations) {
    if (m.direction === "in") v.reRegistrations++;
    else v.removals++;
    const target = m.target ?? targetOf(m.serviceId, m.instanceId);
    const list = target === undefined ? undefined : answers.get(target);
    const last = list ? lastAtOrBefore(list, m.at) : -1;
    if (target === undefined || !list || last < 0) {
      v.unjudged.push(m);
      continue;
    }
    const latest = list[last]!;
    let first = last;
    while (first > 0 && list[first - 1]!.ok === latest.ok) first--;
    const streak = last - first + 1;
    const threshold = latest.ok ? thresholds.healthy : thresholds.unhealthy;
    const j: JudgedMutation = {
      mutation: m,
      target,
      latestOk: latest.ok,
      sinceAnswerMs: m.at - latest.at,
      streak,
      sinceThresholdMs: streak >= threshold ? m.at - list[first + threshold - 1]!.at : undefined,
      recent: list.slice(Math.max(0, last - RECENT + 1), last + 1),
    };
    const wanted = m.direction === "in";
    if (latest.ok !== wanted) (wanted ? v.wrongIn : v.wrongOut).push(j);
    else (streak < threshold ? v.premature : v.right).push(j);
  }
  return v;
}

const RECENT = 5;

/** Index of the last answer at or before `at` (binary search), or -1. */
function lastAtOrBefore(list: readonly Answer[], at: number): number {
  let lo = 0;
  let hi = list.length; // first index after `at` lies in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.at <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** A call as the endpoint recorded it (test/support/fault-proxy.ts's ProxiedCall). */
export interface RecordedCall {
  readonly operation: string;
  readonly body: string;
  readonly receivedAt: number;
  readonly status: number;
  readonly injected: boolean;
}

/** The mutation a call made, if it was a successful one that moves an instance in or out. */
export function mutationOf(call: RecordedCall): Mutation | undefined {
  if (call.injected || call.status >= 300) return undefined;
  const op = call.operation;
  if (!/^(RegisterInstance|DeregisterInstance|UpdateInstanceCustomHealthStatus)$/.test(op)) {
    return undefined;
  }
  const body = JSON.parse(call.body) as {
    ServiceId: string;
    InstanceId: string;
    Status?: string;
    Attributes?: Record<string, string>;
  };
  const ip = body.Attributes?.["AWS_INSTANCE_IPV4"];
  const port = body.Attributes?.["AWS_INSTANCE_PORT"];
  const inward =
    op === "RegisterInstance" || (op !== "DeregisterInstance" && body.Status === "HEALTHY");
  return {
    at: call.receivedAt,
    operation: op,
    serviceId: body.ServiceId,
    instanceId: body.InstanceId,
    direction: inward ? "in" : "out",
    ...(ip !== undefined && port !== undefined ? { target: `${ip}:${port}` } : {}),
  };
}
