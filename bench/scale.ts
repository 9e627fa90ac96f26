// Scale: how many instances one checker holds at an interval, what it costs in CPU, memory and
// AWS calls, and whether it removes anything it should not.

import { noTime, PHASES, type PhaseTimes } from "../checker/cycle/phases";
import { startFaultProxy, type FaultProxy } from "../test/support/fault-proxy";
import type { Moto } from "../test/support/moto";
import { World } from "../test/support/world";
import { bucketQuantile, nextCycle, startChecker, type CheckerProcess } from "./checker-process";
import { addressOf, failsAt, startFarmProcess } from "./farm";
import { cpuSeconds, cpuShare, cpuTimes, peakRssMiB } from "./process-stats";

export interface ScaleResult {
  readonly instances: number;
  readonly services: number;
  readonly failingPercent: number;
  /** The checker's --concurrency. */
  readonly concurrency: string;
  readonly intervalS: number;
  readonly cycles: number;
  readonly cycleP50S: number;
  readonly cycleMaxS: number;
  readonly lateCycles: number;
  readonly probesPerSecond: number;
  readonly cpuPercent: number;
  readonly peakRssMiB: number;
  readonly removals: number;
  readonly falseRemovals: number;
  readonly expectedRemovals: number;
  /** AWS calls per cycle, by operation, counted at the endpoint. */
  readonly awsCallsPerCycle: Readonly<Record<string, number>>;
  /**
   * The checker's own count (`cmhc_aws_calls_total`) less the endpoint's, by operation, over the
   * window: calls, not per cycle. Zero everywhere when the two agree; a call answered as the
   * window opens or closes may fall on one side only.
   */
  readonly awsCallsMetricsLessEndpoint: Readonly<Record<string, number>>;
  /** Calls the endpoint saw in the window. */
  readonly awsCallsInWindow: number;
  /** Time per cycle spent waiting on the emulator (not the checker's own time). */
  readonly emulatorMsPerCycle: number;
  /** Probe duration p50 / p99 (bucket upper bounds, s): slow targets hold the spread back. */
  readonly probeP50S: number;
  readonly probeP99S: number;
  /** Busy and steal share of each CPU over the window: is the emulator's and targets' core full? */
  readonly cpus: ReadonlyArray<{ busyPercent: number; stealPercent: number }>;
  /** Mean emulator time per call, by operation (ms). */
  readonly emulatorMsPerCall: Readonly<Record<string, number>>;
  /** Mean milliseconds a cycle spent in each phase, as the checker measured them. */
  readonly phasesMs: Readonly<PhaseTimes>;
  readonly setupS: number;
}

const PER_SERVICE = 1000;

export async function runScale(
  moto: Moto,
  opts: {
    instances: number;
    intervalMs: number;
    cycles: number;
    failingPercent: number;
    concurrency: string;
    log: (s: string) => void;
  },
): Promise<ScaleResult> {
  const setupStart = Date.now();
  await moto.reset();
  // The targets in a process of their own, so their event loop is not the proxy's.
  const farm = await startFarmProcess();
  const world = await new World("bench").init(`bench-${opts.instances}.local`);
  const services = Math.ceil(opts.instances / PER_SERVICE);
  const failingIds = new Set<string>();
  let i = 0;
  for (let s = 0; s < services; s++) {
    const svc = await world.serviceConnectService(`svc-${s}`);
    const count = Math.min(PER_SERVICE, opts.instances - s * PER_SERVICE);
    const ids = await world.runTasks(svc.ecsServiceName, count);
    for (const [k, id] of ids.entries()) {
      const host = addressOf(i++);
      await world.registerTask(svc, id, { host, port: farm.port });
      // Spread the failing share evenly over every service.
      if (failsAt(k, opts.failingPercent)) {
        farm.setFailing(host, true);
        failingIds.add(id);
      }
    }
    opts.log(`  built ${i}/${opts.instances} instances`);
  }
  const setupS = (Date.now() - setupStart) / 1000;

  const proxy = await startFaultProxy(moto.endpoint);
  const checker = await startChecker(proxy.endpoint, {
    CMHC_NAMESPACE: `bench-${opts.instances}.local`,
    CMHC_INTERVAL: `${opts.intervalMs}ms`,
    CMHC_CONCURRENCY: opts.concurrency,
  });
  try {
    // Warm-up: the first cycle lists and describes everything (slow against the emulator at
    // large sizes); measure the steady state after it.
    await nextCycle(checker, 0, opts.intervalMs * 6 + 60_000 + opts.instances * 30);
    const pid = checker.child.pid!;
    const cpu0 = cpuSeconds(pid);
    const t0 = Date.now();
    const probes0 = await farm.requests();
    const { metrics: metricCalls0, calls: calls0 } = await quietCount(proxy, checker);
    const buckets0 = await checker.probeBuckets();
    const cpus0 = cpuTimes();
    const durations: number[] = [];
    const phasesMs = noTime();
    let late = 0;
    let last = t0;
    for (let c = 0; c < opts.cycles; c++) {
      const cycle = (await nextCycle(checker, last, opts.intervalMs * 4 + 30_000))!;
      last = Date.parse(cycle.startedAt);
      durations.push(cycle.durationMs / 1000);
      for (const p of PHASES) phasesMs[p] += cycle.phases[p] / opts.cycles;
      if (cycle.late) late++;
    }
    const wall = (Date.now() - t0) / 1000;
    const buckets = await checker.probeBuckets();
    const cpus = cpuShare(cpus0, cpuTimes());
    const cpu = cpuSeconds(pid) - cpu0;
    const end = await quietCount(proxy, checker);
    const window = proxy.calls.slice(calls0, end.calls);
    const metricCalls = end.metrics;
    const perOp: Record<string, number> = {};
    const opMs: Record<string, { ms: number; n: number }> = {};
    for (const call of window) {
      perOp[call.operation] = (perOp[call.operation] ?? 0) + 1 / opts.cycles;
      const o = (opMs[call.operation] ??= { ms: 0, n: 0 });
      o.ms += call.upstreamMs;
      o.n++;
    }
    const removed = proxy
      .succeeded("DeregisterInstance")
      .map((c) => (JSON.parse(c.body) as { InstanceId: string }).InstanceId);
    durations.sort((a, b) => a - b);
    return {
      instances: opts.instances,
      services,
      failingPercent: opts.failingPercent,
      concurrency: opts.concurrency,
      intervalS: opts.intervalMs / 1000,
      cycles: opts.cycles,
      cycleP50S: durations[Math.floor(durations.length / 2)]!,
      cycleMaxS: durations[durations.length - 1]!,
      lateCycles: late,
      probesPerSecond: ((await farm.requests()) - probes0) / wall,
      cpuPercent: (cpu / wall) * 100,
      peakRssMiB: peakRssMiB(pid),
      removals: removed.length,
      falseRemovals: removed.filter((id) => !failingIds.has(id)).length,
      expectedRemovals: failingIds.size,
      awsCallsPerCycle: Object.fromEntries(
        Object.entries(perOp).map(([k, v]) => [k, Math.round(v * 10) / 10]),
      ),
      awsCallsMetricsLessEndpoint: callsDifference(metricCalls0, metricCalls, window),
      awsCallsInWindow: window.length,
      emulatorMsPerCycle: window.reduce((sum, c) => sum + c.upstreamMs, 0) / opts.cycles,
      phasesMs,
      cpus,
      emulatorMsPerCall: Object.fromEntries(
        Object.entries(opMs).map(([k, o]) => [k, Math.round(o.ms / o.n)]),
      ),
      probeP50S: bucketQuantile(buckets0, buckets, 0.5),
      probeP99S: bucketQuantile(buckets0, buckets, 0.99),
      setupS,
    };
  } finally {
    await checker.stop();
    await proxy.close();
    farm.close();
  }
}

/** The checker's metric counts over the window less the endpoint's, by operation. */
function callsDifference(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  window: ReadonlyArray<{ operation: string }>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of after) out[op] = n - (before.get(op) ?? 0);
  for (const call of window) out[call.operation] = (out[call.operation] ?? 0) - 1;
  return out;
}

/**
 * The checker's call counts and the endpoint's at a moment with no call in flight, so that the
 * two count the same calls (the proxy records a call as its answer starts, the checker once it
 * has parsed it; services are read eight at a time). Gives up waiting after 20 s.
 */
async function quietCount(
  proxy: FaultProxy,
  checker: CheckerProcess,
): Promise<{ metrics: Map<string, number>; calls: number }> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const giveUp = Date.now() + 20_000;
  for (;;) {
    while (proxy.inFlight > 0 && Date.now() < giveUp) await sleep(2);
    await sleep(20); // the checker parses the last answer
    const calls = proxy.calls.length;
    const metrics = await checker.awsCalls();
    if ((proxy.inFlight === 0 && proxy.calls.length === calls) || Date.now() >= giveUp) {
      return { metrics, calls };
    }
  }
}
