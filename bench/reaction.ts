// Reaction time: from a target starting to fail (or its task being stopped) to the Cloud Map call
// that removes it, from recovery to re-registration, and from a Service Connect task failing for
// good to its StopTask at the default replace-after (auto: 1 min), measured at the endpoint.

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
  /** Tasks failing for good: failure -> DeregisterInstance, and failure -> StopTask. */
  readonly replaceRemoval: Distribution;
  readonly replaced: Distribution;
  /** replace-after in seconds (the default, auto, for services ECS manages). */
  readonly replaceAfterS: number;
}

const TASKS = 10;

export function distribution(samples: readonly number[]): Distribution {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { n: s.length, p50S: at(0.5), p95S: at(0.95), maxS: s[s.length - 1] ?? NaN };
}

/** Tasks of each ECS service in the replace runs: one fails, so the failure is not service-wide. */
const REPLACE_TASKS = 3;

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
    const hit = proxy.succeeded(operation).find((c) => {
      if (c.at < since) return false;
      const body = JSON.parse(c.body) as { InstanceId?: string; task?: string };
      return (body.InstanceId ?? body.task?.slice(body.task.lastIndexOf("/") + 1)) === instanceId;
    });
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
    /** Tasks failing for good, one per ECS service (the cooldown is per service). */
    replaceEvents: number;
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
  // One ECS service (and its Cloud Map service) per replace event, with farm addresses of its own.
  const doomed: Array<{ id: string; address: string }> = [];
  for (let k = 0; k < opts.replaceEvents; k++) {
    await world.createEcsService(`r${k}`, REPLACE_TASKS);
    const rs = await world.serviceConnectService(`r${k}`);
    const rids = await world.runTasks(`r${k}`, REPLACE_TASKS);
    for (const [j, id] of rids.entries()) {
      const i = TASKS + opts.stopEvents + k * REPLACE_TASKS + j;
      await world.registerTask(rs, id, { host: addressOf(i), port: farm.port });
      if (j === 0) doomed.push({ id, address: addressOf(i) });
    }
  }
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
  const replaceRemoval: number[] = [];
  const replaced: number[] = [];
  const replaceAfterS = 60;
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
    // Staggered by three intervals, so the per-cycle cap (1) does not queue one behind another.
    await Promise.all(
      doomed.map(async ({ id, address }, k) => {
        const phase = Math.random() * opts.intervalMs;
        await new Promise((r) => setTimeout(r, k * 3 * opts.intervalMs + phase));
        const t0 = Date.now();
        farm.failing.add(address);
        replaceRemoval.push(await until(proxy, "DeregisterInstance", id, t0, limit));
        replaced.push(await until(proxy, "StopTask", id, t0, limit + replaceAfterS * 1000));
        opts.log(
          `  replace ${k + 1}/${doomed.length}: removed after ${replaceRemoval.at(-1)!.toFixed(2)}s, StopTask after ${replaced.at(-1)!.toFixed(2)}s`,
        );
      }),
    );
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
    replaceRemoval: distribution(replaceRemoval),
    replaced: distribution(replaced),
    replaceAfterS,
  };
}
