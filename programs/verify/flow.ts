// The `verify` experiment's steps: deploy, wait for traffic to both echo tasks, deregister one
// exactly as the checker does and time until it gets no more traffic, put it back and time its
// return, then stop the other with StopTask and time its drain (the reference). Cleans up always.

import type { TrafficLine } from "../../checker/verify/client";
import type { InstanceRecord } from "../../checker/domain/types";
import type { CloudMapPort } from "../../checker/ports";
import { registrationToken } from "../../checker/plan/apply";
import { allReached, ordered, quietAfter, trafficAfter } from "./measure";

/** What the deployed experiment tells the flow. */
export interface ExperimentOutputs {
  readonly cluster: string;
  readonly namespaceId: string;
  /** The echo service's Service Connect discovery name: its Cloud Map service's name. */
  readonly discoveryName: string;
  readonly logGroupName: string;
}

export interface Deployer {
  /** The experiment's stack name. */
  readonly stackName: string;
  up(): Promise<ExperimentOutputs>;
  destroy(): Promise<void>;
  /** Experiment stacks left by earlier runs (not this one's). */
  leftovers(): Promise<string[]>;
  destroyStack(name: string): Promise<void>;
}

export interface VerifyPorts {
  readonly deployer: Deployer;
  readonly cloudMap: Pick<
    CloudMapPort,
    "listServices" | "listInstances" | "deregisterInstance" | "registerInstance"
  >;
  readonly stopTask: (cluster: string, taskId: string, reason: string) => Promise<void>;
  /** The client's traffic lines logged since `fromMs` (epoch), in any order, each once. */
  readonly traffic: (logGroupName: string, fromMs: number) => Promise<TrafficLine[]>;
  readonly now: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly progress: (line: string) => void;
}

export interface VerifyOptions {
  /** How long a task must get nothing for it to count as drained. @default 30 s */
  readonly quietMs: number;
  /** How long to wait for each change before calling it not honoured. @default 5 min */
  readonly boundMs: number;
  /** How long the echo tasks may take to get traffic after deploying. */
  readonly startMs: number;
  readonly pollMs: number;
  /** Leave the stack in place for inspection. */
  readonly keep: boolean;
}

export interface Measure {
  readonly ok: boolean;
  /** Seconds, when it happened within the bound. */
  readonly afterS?: number;
}

export interface VerifyResult {
  readonly stack: string;
  readonly taskA: string;
  readonly taskB: string;
  readonly deregistration: Measure;
  readonly reRegistration: Measure;
  readonly stopTask: Measure;
  /**
   * Seconds after the deregistration at which A was back in Cloud Map without this command
   * putting it back (ECS re-registering it); undefined when that was not seen.
   */
  readonly ecsReRegisteredAfterS?: number;
  readonly quietS: number;
  readonly boundS: number;
  readonly verdict: string;
}

export class VerifyError extends Error {}

export async function runVerify(
  ports: VerifyPorts,
  opts: VerifyOptions,
  signal: AbortSignal,
): Promise<VerifyResult> {
  const { deployer, progress } = ports;
  for (const name of await deployer.leftovers()) {
    progress(`removing a leftover experiment: ${name}`);
    await deployer.destroyStack(name);
  }
  // Destroyed even when `up` fails part-way: whatever it created goes too.
  try {
    progress(`deploying the experiment (stack ${deployer.stackName})`);
    const out = await deployer.up();
    return await measure(ports, opts, out, signal);
  } finally {
    if (opts.keep) progress(`--keep: leaving stack ${deployer.stackName} in place`);
    else {
      progress(`destroying the experiment (stack ${deployer.stackName})`);
      await deployer.destroy();
    }
  }
}

async function measure(
  ports: VerifyPorts,
  opts: VerifyOptions,
  out: ExperimentOutputs,
  signal: AbortSignal,
): Promise<VerifyResult> {
  const { cloudMap, progress, now } = ports;
  const started = now();
  const lines = async (): Promise<TrafficLine[]> =>
    ordered(await ports.traffic(out.logGroupName, started));
  const poll = async <T>(
    limitMs: number,
    test: () => Promise<T | undefined>,
  ): Promise<T | undefined> => {
    const deadline = now() + limitMs;
    for (;;) {
      signal.throwIfAborted();
      const v = await test();
      if (v !== undefined) return v;
      if (now() >= deadline) return undefined;
      await ports.sleep(opts.pollMs, signal);
    }
  };

  progress("waiting for both echo tasks to register and get traffic");
  const found = await poll(opts.startMs, async () => {
    const svc = (await cloudMap.listServices(out.namespaceId)).find(
      (s) => s.name === out.discoveryName,
    );
    if (svc === undefined) return undefined;
    const inst = await cloudMap.listInstances(svc.id);
    if (inst.length < 2) return undefined;
    const pair = [...inst].sort((a, b) => a.instanceId.localeCompare(b.instanceId)).slice(0, 2);
    return allReached(
      await lines(),
      pair.map((i) => i.instanceId),
    )
      ? { svc, pair }
      : undefined;
  });
  if (found === undefined) {
    throw new VerifyError(
      `the echo tasks did not both get traffic within ${opts.startMs / 1000} s (is Service Connect on in the namespace? do the subnets reach ECR and CloudWatch Logs?)`,
    );
  }
  const [a, b] = found.pair as [InstanceRecord, InstanceRecord];
  const serviceId = found.svc.id;
  progress(`both echo tasks get traffic: A ${a.instanceId}, B ${b.instanceId}`);

  // Deregister A as the checker does, keeping its attributes to put it back.
  const t0 = now();
  await cloudMap.deregisterInstance(serviceId, a.instanceId);
  progress(
    `deregistered A; waiting until it gets nothing for ${opts.quietMs / 1000} s (at most ${opts.boundMs / 1000} s)`,
  );
  let reappeared: number | undefined;
  const dereg = await quiet(a.instanceId, t0, async () => {
    if (reappeared !== undefined) return;
    const listed = await cloudMap.listInstances(serviceId);
    if (listed.some((i) => i.instanceId === a.instanceId)) reappeared = now() - t0;
  });
  if (reappeared !== undefined) {
    progress(
      `A was back in Cloud Map ${Math.round(reappeared / 1000)} s after the deregistration: ECS re-registered it`,
    );
  }

  const t1 = now();
  await cloudMap.registerInstance(
    serviceId,
    a.instanceId,
    a.attributes,
    registrationToken(serviceId, a.instanceId, t1),
  );
  progress("re-registered A with the same attributes; waiting for its traffic to return");
  const back = await poll(opts.boundMs, async () => trafficAfter(await lines(), a.instanceId, t1));

  const t2 = now();
  await ports.stopTask(
    out.cluster,
    b.instanceId,
    "cloudmap-health-checker verify: drain reference",
  );
  progress(`stopped B with StopTask; waiting until it gets nothing for ${opts.quietMs / 1000} s`);
  const drained = await quiet(b.instanceId, t2);

  const result = {
    stack: ports.deployer.stackName,
    taskA: a.instanceId,
    taskB: b.instanceId,
    deregistration: measured(dereg),
    reRegistration: measured(back),
    stopTask: measured(drained),
    ...(reappeared !== undefined
      ? { ecsReRegisteredAfterS: Math.round(reappeared / 100) / 10 }
      : {}),
    quietS: opts.quietMs / 1000,
    boundS: opts.boundMs / 1000,
  };
  return { ...result, verdict: verdictOf(result) };

  async function quiet(
    task: string,
    from: number,
    alsoEachPoll?: () => Promise<void>,
  ): Promise<number | undefined> {
    return poll(opts.boundMs + opts.quietMs, async () => {
      await alsoEachPoll?.();
      const v = quietAfter(await lines(), task, from, opts.quietMs);
      return v.kind === "quiet" ? v.afterMs : undefined;
    });
  }
}

function measured(ms: number | undefined): Measure {
  return ms === undefined ? { ok: false } : { ok: true, afterS: Math.round(ms / 100) / 10 };
}

export function verdictOf(r: Omit<VerifyResult, "verdict">): string {
  const parts = [
    ...(r.ecsReRegisteredAfterS !== undefined
      ? [`ECS put A back in Cloud Map after ${r.ecsReRegisteredAfterS} s`]
      : []),
    r.deregistration.ok
      ? `deregistration honoured after ${r.deregistration.afterS} s`
      : `deregistration not honoured within ${r.boundS} s: keep replacement on`,
    r.reRegistration.ok
      ? `re-registration after ${r.reRegistration.afterS} s`
      : `re-registration not seen within ${r.boundS} s`,
    r.stopTask.ok
      ? `StopTask drained in ${r.stopTask.afterS} s`
      : `StopTask did not drain within ${r.boundS} s`,
  ];
  return parts.join("; ");
}
