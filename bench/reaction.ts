// Reaction time: from a target starting to fail (or its task being stopped) to the Cloud Map call
// that removes it, and from recovery to re-registration, measured at the endpoint.

import { startFaultProxy, type FaultProxy } from "../test/support/fault-proxy";
import type { Moto } from "../test/support/moto";
import { World, type WorldService } from "../test/support/world";
import { nextCycle, startChecker } from "./checker-process";
import { addressOf, startFarm } from "./farm";

export interface Distribution {
  readonly n: number;
  readonly p50S: number;
  readonly p95S: number;
  readonly maxS: number;
}

export interface ReactionResult {
  readonly intervalS: number;
  readonly threshold: number;
  /** interval x threshold: the floor any checker of this design can reach. */
  readonly theoreticalS: number;
  readonly removal: Distribution;
  readonly recovery: Distribution;
  readonly stopped: Distribution;
}

const TASKS = 10;

export function distribution(samples: readonly number[]): Distribution {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { n: s.length, p50S: at(0.5), p95S: at(0.95), maxS: s[s.length - 1] ?? NaN };
}

/** Seconds until the proxy sees a successful `operation` on `instanceId` after `since`. */
async function until(
  proxy: FaultProxy,
  operation: string,
  instanceId: string,
  since: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = proxy
      .succeeded(operation)
      .find(
        (c) =>
          c.at >= since &&
          (JSON.parse(c.body) as { InstanceId?: string }).InstanceId === instanceId,
      );
    if (hit) return (hit.at - since) / 1000;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${operation} for ${instanceId} within ${timeoutMs} ms`);
}

export async function runReaction(
  moto: Moto,
  opts: {
    intervalMs: number;
    threshold: number;
    events: number;
    stopEvents: number;
    log: (s: string) => void;
  },
): Promise<ReactionResult> {
  await moto.reset();
  const farm = await startFarm();
  const world = await new World("bench").init("reaction.local");
  const svc: WorldService = await world.serviceConnectService("api");
  const ids = await world.runTasks("api", TASKS);
  for (const [i, id] of ids.entries())
    await world.registerTask(svc, id, { host: addressOf(i), port: farm.port });
  const proxy = await startFaultProxy(moto.endpoint);
  const timeoutMs = Math.min(1000, opts.intervalMs / 2);
  const checker = await startChecker(proxy.endpoint, {
    CMHC_NAMESPACE: "reaction.local",
    CMHC_INTERVAL: `${opts.intervalMs}ms`,
    CMHC_TIMEOUT: `${timeoutMs}ms`,
    CMHC_UNHEALTHY_THRESHOLD: String(opts.threshold),
    CMHC_HEALTHY_THRESHOLD: String(opts.threshold),
  });
  const limit = opts.intervalMs * (opts.threshold + 4) + 5000;
  const removal: number[] = [];
  const recovery: number[] = [];
  const stopped: number[] = [];
  try {
    await nextCycle(checker, 0, opts.intervalMs * 4 + 30_000);
    for (let e = 0; e < opts.events; e++) {
      const k = e % TASKS;
      // Fail at a random phase of the cycle, as real failures do.
      await new Promise((r) => setTimeout(r, Math.random() * opts.intervalMs));
      const t0 = Date.now();
      farm.failing.add(addressOf(k));
      removal.push(await until(proxy, "DeregisterInstance", ids[k]!, t0, limit));
      const t1 = Date.now();
      farm.failing.delete(addressOf(k));
      recovery.push(await until(proxy, "RegisterInstance", ids[k]!, t1, limit));
      opts.log(
        `  event ${e + 1}/${opts.events}: removed after ${removal.at(-1)!.toFixed(2)}s, back after ${recovery.at(-1)!.toFixed(2)}s`,
      );
    }
    for (let e = 0; e < opts.stopEvents; e++) {
      const [id] = await world.runTasks("api", 1);
      await world.registerTask(svc, id!, { host: addressOf(TASKS + e), port: farm.port });
      await nextCycle(checker, Date.now(), opts.intervalMs * 4 + 30_000);
      await new Promise((r) => setTimeout(r, Math.random() * opts.intervalMs));
      const t0 = Date.now();
      await world.stopTask(id!);
      stopped.push(await until(proxy, "DeregisterInstance", id!, t0, limit));
    }
  } finally {
    await checker.stop();
    await proxy.close();
    await farm.close();
  }
  return {
    intervalS: opts.intervalMs / 1000,
    threshold: opts.threshold,
    theoreticalS: (opts.intervalMs * opts.threshold) / 1000,
    removal: distribution(removal),
    recovery: distribution(recovery),
    stopped: distribution(stopped),
  };
}
