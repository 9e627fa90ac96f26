// Scale: how many instances one checker holds at an interval, what it costs in CPU, memory and
// AWS calls, and whether it removes anything it should not.

import { startFaultProxy } from "../test/support/fault-proxy";
import type { Moto } from "../test/support/moto";
import { World } from "../test/support/world";
import { nextCycle, startChecker } from "./checker-process";
import { addressOf, startFarmProcess } from "./farm";
import { cpuSeconds, peakRssMiB } from "./process-stats";

export interface ScaleResult {
  readonly instances: number;
  readonly services: number;
  readonly failingPercent: number;
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
  /** Time per cycle spent waiting on the emulator (not the checker's own time). */
  readonly emulatorMsPerCycle: number;
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
      if ((k * opts.failingPercent) % 100 < opts.failingPercent) {
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
  });
  try {
    // Warm-up: the first cycle lists and describes everything (slow against the emulator at
    // large sizes); measure the steady state after it.
    await nextCycle(checker, 0, opts.intervalMs * 6 + 60_000 + opts.instances * 30);
    const pid = checker.child.pid!;
    const cpu0 = cpuSeconds(pid);
    const t0 = Date.now();
    const probes0 = await farm.requests();
    const calls0 = proxy.calls.length;
    const durations: number[] = [];
    let late = 0;
    let last = t0;
    for (let c = 0; c < opts.cycles; c++) {
      const cycle = (await nextCycle(checker, last, opts.intervalMs * 4 + 30_000))!;
      last = Date.parse(cycle.startedAt);
      durations.push(cycle.durationMs / 1000);
      if (cycle.late) late++;
    }
    const wall = (Date.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const window = proxy.calls.slice(calls0);
    const perOp: Record<string, number> = {};
    for (const call of window)
      perOp[call.operation] = (perOp[call.operation] ?? 0) + 1 / opts.cycles;
    const removed = proxy
      .succeeded("DeregisterInstance")
      .map((c) => (JSON.parse(c.body) as { InstanceId: string }).InstanceId);
    durations.sort((a, b) => a - b);
    return {
      instances: opts.instances,
      services,
      failingPercent: opts.failingPercent,
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
      emulatorMsPerCycle: window.reduce((sum, c) => sum + c.upstreamMs, 0) / opts.cycles,
      setupS,
    };
  } finally {
    await checker.stop();
    await proxy.close();
    farm.close();
  }
}
