// Flapping under load, judged against ground truth: a share of the targets switch between
// passing, failing and hanging at random, and every Cloud Map mutation the checker makes is
// checked against the latest answer its target gave before the mutation arrived (judge.ts).

import { startFaultProxy } from "../test/support/fault-proxy";
import type { Moto } from "../test/support/moto";
import { World } from "../test/support/world";
import { startChecker, nextCycle, type CheckerProcess } from "./checker-process";
import { addressOf, failsAt } from "./farm";
import { startFlapFarm } from "./flap-farm";
import { flapPlan, type FlapSpec } from "./flap-plan";
import { judge, mutationOf, type Answer, type JudgedMutation, type Mutation } from "./judge";
import { cpuSeconds, peakRssMiB } from "./process-stats";
import { distribution, type Distribution } from "./reaction";

export interface FlapResult {
  readonly instances: number;
  readonly services: number;
  readonly flappingPercent: number;
  readonly flapping: number;
  readonly seed: number;
  readonly intervalS: number;
  readonly timeoutS: number;
  /** The checker's defaults this scenario runs with. */
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly maxMutationsPerSecond: number;
  readonly windowS: number;
  /** Switches the flapping targets made in the window, and how many were into a hang. */
  readonly switches: number;
  readonly hangs: number;
  /** Answers the targets gave over the run (each one a probe's result). */
  readonly answers: number;
  readonly cycles: number;
  readonly lateCycles: number;
  readonly cycleMaxS: number;
  readonly removals: number;
  readonly reRegistrations: number;
  /** Re-registered (or set HEALTHY) while the latest answer failed. */
  readonly wrongReRegistrations: number;
  /** Removed (or set UNHEALTHY) while the latest answer passed. */
  readonly wrongRemovals: number;
  /** The right way round, but with fewer than threshold answers in a row saying so. */
  readonly premature: number;
  readonly unjudged: number;
  /** For the wrong actions: seconds from the contradicting answer to the mutation. */
  readonly wrongSinceAnswer: Distribution;
  /** For the right ones: seconds from the answer that reached the threshold to the mutation. */
  readonly actionDelay: Distribution;
  /** The first wrong actions, for a look at the checker's log or /status. */
  readonly wrongExamples: readonly Example[];
  readonly prematureExamples: readonly Example[];
  /** Calls the endpoint saw in the window, by operation. */
  readonly awsCalls: Readonly<Record<string, number>>;
  readonly awsCallsTotal: number;
  readonly cpuPercent: number;
  readonly peakRssMiB: number;
  readonly setupS: number;
  /** Wall time of the whole scenario, set-up included. */
  readonly runS: number;
}

/** The checker's defaults (checker/config/schema.ts), which this scenario does not override. */
const DEFAULTS = { unhealthy: 3, healthy: 2, mutationsPerSecond: 5, timeoutMs: 2000 };

export async function runFlap(
  moto: Moto,
  opts: {
    instances: number;
    services: number;
    flappingPercent: number;
    intervalMs: number;
    windowMs: number;
    seed: number;
    log: (s: string) => void;
  },
): Promise<FlapResult> {
  const t0 = Date.now();
  await moto.reset();
  const farm = await startFlapFarm();
  const namespace = `flap-${opts.instances}.local`;
  const world = await new World("bench").init(namespace);
  const perService = Math.ceil(opts.instances / opts.services);
  const targets = new Map<string, string>(); // serviceId/instanceId -> ADDR:PORT
  const flapping: string[] = [];
  let i = 0;
  for (let s = 0; s < opts.services && i < opts.instances; s++) {
    const svc = await world.serviceConnectService(`svc-${s}`);
    const ids = await world.runTasks(svc.ecsServiceName, Math.min(perService, opts.instances - i));
    for (const [k, id] of ids.entries()) {
      const host = addressOf(i++);
      await world.registerTask(svc, id, { host, port: farm.port });
      targets.set(`${svc.id}/${id}`, `${host}:${farm.port}`);
      if (failsAt(k, opts.flappingPercent)) flapping.push(host); // spread over every service
    }
    opts.log(`  built ${i}/${opts.instances} instances`);
  }
  const setupS = (Date.now() - t0) / 1000;

  // The default timeout (2 s) must be below the interval: at 2 s, half of it.
  const timeoutMs = Math.min(DEFAULTS.timeoutMs, Math.floor(opts.intervalMs / 2));
  const proxy = await startFaultProxy(moto.endpoint);
  const checker = await startChecker(proxy.endpoint, {
    CMHC_NAMESPACE: namespace,
    CMHC_INTERVAL: `${opts.intervalMs}ms`,
    CMHC_TIMEOUT: `${timeoutMs}ms`,
  });
  const spec: FlapSpec = {
    intervalMs: opts.intervalMs,
    unhealthyThreshold: DEFAULTS.unhealthy,
    healthyThreshold: DEFAULTS.healthy,
    hangShare: 0.25,
    durationMs: opts.windowMs,
  };
  let measured:
    | (Cycles & { windowStart: number; windowEnd: number; cpuPercent: number; peakRssMiB: number })
    | undefined;
  let answers: Map<string, Answer[]>;
  try {
    const warmUp = await nextCycle(checker, 0, opts.intervalMs * 6 + 60_000 + opts.instances * 30);
    const pid = checker.child.pid!;
    const cpu0 = cpuSeconds(pid);
    const windowStart = await farm.flap({ targets: flapping, seed: opts.seed, spec });
    opts.log(`  ${flapping.length} targets flapping for ${opts.windowMs / 1000}s`);
    const cycles = await watchCycles(checker, warmUp!.startedAt, windowStart + opts.windowMs);
    const windowEnd = Date.now();
    const cpuPercent = ((cpuSeconds(pid) - cpu0) / ((windowEnd - windowStart) / 1000)) * 100;
    measured = { ...cycles, windowStart, windowEnd, cpuPercent, peakRssMiB: peakRssMiB(pid) };
  } finally {
    await checker.stop();
    while (proxy.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    await proxy.close();
    // Every answer up to the checker's exit; the farm goes either way.
    answers = await farm.answers().finally(() => farm.close());
  }
  const { windowStart, windowEnd, cpuPercent, peakRssMiB: peakRss, ...cycles } = measured;

  const mutations = proxy.calls
    .map(mutationOf)
    .filter((m): m is Mutation => m !== undefined)
    .sort((a, b) => a.at - b.at);
  const verdict = judge(answers, mutations, (s, id) => targets.get(`${s}/${id}`), DEFAULTS);
  const wrong = [...verdict.wrongIn, ...verdict.wrongOut].sort(
    (a, b) => a.mutation.at - b.mutation.at,
  );
  const awsCalls: Record<string, number> = {};
  const inWindow = proxy.calls.filter(
    (c) => c.receivedAt >= windowStart && c.receivedAt <= windowEnd,
  );
  for (const c of inWindow) awsCalls[c.operation] = (awsCalls[c.operation] ?? 0) + 1;
  const plan = [...flapPlan(flapping, opts.seed, spec).values()].flat();
  const seconds = (ms: number): number => ms / 1000;
  return {
    instances: opts.instances,
    services: opts.services,
    flappingPercent: opts.flappingPercent,
    flapping: flapping.length,
    seed: opts.seed,
    intervalS: seconds(opts.intervalMs),
    timeoutS: seconds(timeoutMs),
    unhealthyThreshold: DEFAULTS.unhealthy,
    healthyThreshold: DEFAULTS.healthy,
    maxMutationsPerSecond: DEFAULTS.mutationsPerSecond,
    windowS: seconds(opts.windowMs),
    switches: plan.length,
    hangs: plan.filter((s) => s.mode === "hang").length,
    answers: [...answers.values()].reduce((n, list) => n + list.length, 0),
    ...cycles,
    removals: verdict.removals,
    reRegistrations: verdict.reRegistrations,
    wrongReRegistrations: verdict.wrongIn.length,
    wrongRemovals: verdict.wrongOut.length,
    premature: verdict.premature.length,
    unjudged: verdict.unjudged.length,
    wrongSinceAnswer: distribution(wrong.map((j) => seconds(j.sinceAnswerMs))),
    actionDelay: distribution(verdict.right.map((j) => seconds(j.sinceThresholdMs ?? NaN))),
    wrongExamples: wrong.slice(0, 10).map(example),
    prematureExamples: verdict.premature.slice(0, 5).map(example),
    awsCalls,
    awsCallsTotal: inWindow.length,
    cpuPercent,
    peakRssMiB: peakRss,
    setupS,
    runS: seconds(Date.now() - t0),
  };
}

export interface Example {
  readonly operation: string;
  readonly instanceId: string;
  readonly target: string;
  /** From the latest answer to the call. */
  readonly sinceAnswerS: number;
  /** Answers in a row that said what the latest did. */
  readonly streak: number;
  /** The last answers before the call and how long before it: "p -4.01 f -2.02 h -0.35". */
  readonly recent: string;
}

function example(j: JudgedMutation): Example {
  const code = (a: Answer): string => (a.hung ? "h" : a.ok ? "p" : "f");
  return {
    operation: j.mutation.operation,
    instanceId: j.mutation.instanceId,
    target: j.target,
    sinceAnswerS: j.sinceAnswerMs / 1000,
    streak: j.streak,
    recent: j.recent
      .map((a) => `${code(a)} -${((j.mutation.at - a.at) / 1000).toFixed(2)}`)
      .join(" "),
  };
}

interface Cycles {
  cycles: number;
  lateCycles: number;
  cycleMaxS: number;
}

/** Polls /status until `until`, counting the cycles completed after `after` and the late ones. */
async function watchCycles(checker: CheckerProcess, after: string, until: number): Promise<Cycles> {
  const seen = new Set([after]);
  const out: Cycles = { cycles: 0, lateCycles: 0, cycleMaxS: 0 };
  while (Date.now() < until) {
    const c = (await checker.status())?.lastCycle;
    if (c && !seen.has(c.startedAt)) {
      seen.add(c.startedAt);
      out.cycles++;
      if (c.late) out.lateCycles++;
      out.cycleMaxS = Math.max(out.cycleMaxS, c.durationMs / 1000);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(500, until - Date.now()))));
  }
  return out;
}
