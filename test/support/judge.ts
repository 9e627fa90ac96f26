// Ground-truth judge of re-registrations: what the target actually answered (its own log)
// against when each RegisterInstance reached the fault proxy. No timing guess: a
// RegisterInstance is wrong when the target's latest answer before it arrived was a failure.

import type { ProxiedCall } from "./fault-proxy";
import type { TargetAnswer } from "./targets";

/** The checker's default healthy statuses (200-399); 0 (hung) and 5xx fail. */
export function passed(answer: TargetAnswer): boolean {
  return answer.status >= 200 && answer.status < 400;
}

export interface Judged {
  readonly call: ProxiedCall;
  /** The target's latest answer before the call arrived; undefined if it had given none. */
  readonly last: TargetAnswer | undefined;
  /** Passing answers in a row up to the call (0 when the latest one failed). */
  readonly streak: number;
}

function instanceOf(call: ProxiedCall): string | undefined {
  try {
    return (JSON.parse(call.body) as { InstanceId?: string }).InstanceId;
  } catch {
    return undefined;
  }
}

/** `instanceId`'s calls of `operation`, injected ones included. */
export function callsOf(
  calls: readonly ProxiedCall[],
  operation: string,
  instanceId: string,
): ProxiedCall[] {
  return calls.filter((c) => c.operation === operation && instanceOf(c) === instanceId);
}

/** `instanceId`'s calls of `operation` that reached moto (not answered by the proxy itself). */
export function reachedMoto(
  calls: readonly ProxiedCall[],
  operation: string,
  instanceId: string,
): ProxiedCall[] {
  return callsOf(calls, operation, instanceId).filter((c) => !c.injected);
}

/** Each RegisterInstance of `instanceId` that reached moto, with what the target said before. */
export function judgeRegistrations(
  calls: readonly ProxiedCall[],
  instanceId: string,
  answers: readonly TargetAnswer[],
): Judged[] {
  return reachedMoto(calls, "RegisterInstance", instanceId).map((call) => {
    // `<=`: the checker cannot act before the answer it acts on, and ms ties are that case.
    const before = answers.filter((a) => a.at <= call.receivedAt);
    let streak = 0;
    while (streak < before.length && passed(before[before.length - 1 - streak]!)) streak++;
    return { call, last: before.at(-1), streak };
  });
}

/** The registrations the target's answers do not justify: its latest answer failed, or none. */
export function wrongRegistrations(
  calls: readonly ProxiedCall[],
  instanceId: string,
  answers: readonly TargetAnswer[],
): Judged[] {
  return judgeRegistrations(calls, instanceId, answers).filter((j) => j.streak === 0);
}

/**
 * The instance's story for a failure message, in ms from its first event: every
 * Register/Deregister call ("injected" when the proxy answered it) among the target's answers,
 * runs of equal answers folded into one line.
 */
export function timeline(
  calls: readonly ProxiedCall[],
  instanceId: string,
  answers: readonly TargetAnswer[],
): string {
  const events = [
    ...answers.map((a) => ({ at: a.at, text: `target ${a.status || "hung"}` })),
    ...calls
      .filter((c) => /^(Register|Deregister)Instance$/.test(c.operation))
      .filter((c) => instanceOf(c) === instanceId)
      .map((c) => ({
        at: c.receivedAt,
        text: `${c.operation} -> ${c.status}${c.injected ? " (injected)" : ""}`,
      })),
  ].sort((x, y) => x.at - y.at);
  const t0 = events[0]?.at ?? 0;
  const lines: Array<{ at: number; text: string; n: number }> = [];
  for (const e of events) {
    const prev = lines.at(-1);
    if (prev?.text === e.text && e.text.startsWith("target ")) prev.n++;
    else lines.push({ ...e, n: 1 });
  }
  return lines.map((l) => `  +${l.at - t0}ms ${l.text}${l.n > 1 ? ` x${l.n}` : ""}`).join("\n");
}
