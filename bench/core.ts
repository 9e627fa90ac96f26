// The checker's own cost, with no emulator: the real Checker, planner and prober against
// in-memory Cloud Map and ECS ports and loopback targets served by another process. This is
// what to profile (`node --cpu-prof dist/bench/core.js ...`) when a scale run is late, since
// the scale runs mix in moto's time. Prints CPU per probe, cycle time and peak RSS. Run it as
// the component runs the checker (512 MiB):
// `node --max-old-space-size=128 --max-semi-space-size=8 dist/bench/core.js`.

import { PerformanceObserver } from "node:perf_hooks";
import { writeHeapSnapshot } from "node:v8";
import { Command } from "commander";
import { systemClock } from "../checker/clock";
import { parseConfig } from "../checker/config";
import { Checker } from "../checker/cycle/checker";
import pino from "pino";
import { createLogger } from "../checker/observability/logger";
import { Metrics } from "../checker/observability/metrics";
import { StatusBook } from "../checker/observability/status";
import { NetProber } from "../checker/probe";
import { LocalLease } from "../checker/state/local-lease";
import { MemoryStateStore } from "../checker/state/memory-store";
import { MEMORY_NAMESPACE, memoryNamespace, taskIdOf } from "../test/support/memory-ports";
import { addressOf, failsAt, startFarmProcess } from "./farm";
import { GrpcJsProber } from "./grpc-js-prober";

interface Options {
  instances: string;
  interval: string;
  timeout?: string;
  cycles: string;
  protocol: string;
  appProtocol: "http" | "http2" | "grpc";
  concurrency: string;
  fakeProbes?: boolean;
  prober: string;
  targetDelay: string;
  failing: string;
  metricsFormat: "emf" | "off";
}

async function main(o: Options): Promise<void> {
  const count = Number(o.instances);
  // auto: every task definition names the app protocol, which the farm then serves.
  const served = o.protocol === "auto" ? o.appProtocol : o.protocol;
  const farmProtocol = served.startsWith("grpc") ? "grpc" : served === "http2" ? "http2" : "http";
  // The failing share spread evenly, as in the scale runs (HTTP 500 from the farm).
  const failing = Number(o.failing);
  if (failing > 0 && farmProtocol === "grpc") {
    // One grpc-js health server answers for every address and cannot tell which was asked.
    throw new Error("--failing: the gRPC farm serves every target SERVING; use 0");
  }
  const farm = await startFarmProcess(Number(o.targetDelay), farmProtocol);
  const failingTasks = new Set<string>();
  for (let i = 0; i < count; i++) {
    if (!failsAt(i, failing)) continue;
    farm.setFailing(addressOf(i), true);
    failingTasks.add(taskIdOf(i));
  }
  const config = parseConfig({
    flags: {
      namespace: MEMORY_NAMESPACE.name,
      interval: o.interval,
      ...(o.timeout === undefined ? {} : { timeout: o.timeout }),
      startupGrace: "0s",
      checkProtocol: o.protocol,
      concurrency: o.concurrency,
      logLevel: "warn",
    },
    env: {},
  });
  const metrics = new Metrics();
  // EMF records as `run` writes them on ECS (a synchronous stream), here to /dev/null.
  const emfOut = pino.destination({ dest: "/dev/null", sync: true });
  let emfBytes = 0;
  const emf =
    o.metricsFormat === "emf"
      ? (line: string): void => {
          emfBytes += line.length + 1;
          emfOut.write(`${line}\n`);
        }
      : undefined;
  const { cloudMap, ecs } = memoryNamespace({
    count,
    port: farm.port,
    addressOf,
    ...(o.protocol === "auto" ? { appProtocol: farmProtocol } : {}),
  });
  const checker = await Checker.create({
    config,
    cloudMap,
    ecs,
    // --fake-probes: every probe passes at once, so what is left is the checker's bookkeeping.
    prober: o.fakeProbes
      ? { probe: async () => ({ ok: true, detail: "HTTP 200", latencyMs: 0, at: Date.now() }) }
      : o.prober === "grpc-js"
        ? new GrpcJsProber()
        : new NetProber(systemClock),
    clock: systemClock,
    store: new MemoryStateStore(),
    lease: new LocalLease("bench"),
    logger: createLogger("warn", "stderr"),
    metrics,
    status: new StatusBook(config.intervalMs, systemClock.now()),
    emf,
  });
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  log(
    `${count} instances, interval ${o.interval}, ${o.protocol} (${o.prober} prober), concurrency ${config.concurrency}`,
  );
  log(
    "cycle  duration  late  probed  failed  cpu(ms)  cpu/probe(ms)  user/sys  gc(ms)  rss(MiB)  farm req",
  );
  // Time in V8's collector (its pauses; the concurrent marking threads are not counted).
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  gc.observe({ entryTypes: ["gc"] });
  // As `run` does: every probe of the run shares its signal.
  const running = new AbortController();
  let next = Date.now();
  let late = 0;
  for (let c = 0; c < Number(o.cycles); c++) {
    const cpu0 = process.cpuUsage();
    const gc0 = gcMs;
    const req0 = await farm.requests();
    const report = await checker.runCycle(running.signal);
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const probed = report.probeStats.probed;
    log(
      [
        String(c).padStart(5),
        `${(report.durationMs / 1000).toFixed(2)}s`.padStart(9),
        String(report.durationMs > config.intervalMs).padStart(5),
        String(probed).padStart(7),
        String(report.probeStats.failed).padStart(7),
        cpuMs.toFixed(0).padStart(8),
        (probed > 0 ? cpuMs / probed : 0).toFixed(3).padStart(14),
        // In the kernel (sys) is mostly loopback connect/close, both ends charged to the prober.
        `${Math.round((100 * cpu.user) / (cpu.user + cpu.system))}/${Math.round((100 * cpu.system) / (cpu.user + cpu.system))}`.padStart(
          9,
        ),
        (gcMs - gc0).toFixed(0).padStart(7),
        (process.memoryUsage().rss / 2 ** 20).toFixed(0).padStart(9) +
          ` heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)}/${(process.memoryUsage().heapTotal / 2 ** 20).toFixed(0)} ext ${(process.memoryUsage().external / 2 ** 20).toFixed(0)}`,
        String((await farm.requests()) - req0).padStart(9),
      ].join(" "),
    );
    if (report.probeStats.failed > 0 && failing === 0) {
      // Every target passes: say what the failures were (the checker's or the farm's limits).
      const details = new Map<string, number>();
      for (const svc of report.services) {
        for (const i of svc.instances) {
          if (i.probe && !i.probe.ok)
            details.set(i.probe.detail, (details.get(i.probe.detail) ?? 0) + 1);
        }
      }
      log(`       failures: ${[...details].map(([d, n]) => `${n} x ${d}`).join("; ")}`);
    }
    if (c > 0 && report.durationMs > config.intervalMs) late++;
    next += config.intervalMs;
    await systemClock.sleep(next - Date.now());
    if (next < Date.now()) next = Date.now();
  }
  if (process.env["BENCH_HEAP_SNAPSHOT"]) {
    (globalThis as { gc?: () => void }).gc?.();
    log(`heap snapshot: ${writeHeapSnapshot(process.env["BENCH_HEAP_SNAPSHOT"])}`);
  }
  gc.disconnect();
  const peak = process.resourceUsage().maxRSS / 1024;
  // Every target's answer is fixed for the run, so a mutation is wrong unless it removes a
  // failing target (nothing ever recovers, so no put-back is right either).
  const wrong = cloudMap.mutations.filter((m) => {
    const [kind, id] = m.split(" ");
    return !(kind === "deregister" || kind === "UNHEALTHY") || !failingTasks.has(id!);
  });
  log(
    `late after the first cycle: ${late} of ${Number(o.cycles) - 1}; ` +
      `Cloud Map changes: ${cloudMap.mutations.length}, wrong: ${wrong.length}` +
      (wrong.length > 0 ? ` (${wrong.slice(0, 5).join(", ")})` : ""),
  );
  log(`peak RSS ${peak.toFixed(0)} MiB`);
  if (emf) log(`EMF: ${(emfBytes / Number(o.cycles) / 1024).toFixed(1)} KiB a cycle`);
  farm.close();
}

new Command("bench-core")
  .description("the checker's own CPU and memory per cycle, with no emulator")
  .option("--instances <n>", "instances in the namespace", "20000")
  .option("--interval <duration>", "checker interval", "5s")
  .option("--timeout <duration>", "probe timeout, below the interval (default: the checker's)")
  .option("--cycles <n>", "cycles to run (the first includes start-up)", "5")
  .option("--protocol <p>", "http | http2 | grpc | tcp | auto (the farm serves it)", "http")
  .option("--app-protocol <p>", "with auto: the task definitions' appProtocol", "http")
  .option(
    "--prober <which>",
    "checker: the checker's own; grpc-js: @grpc/grpc-js, for comparison",
    "checker",
  )
  .option("--concurrency <n|auto>", "probes in flight (the checker's --concurrency)", "auto")
  .option("--failing <percent>", "share of targets answering HTTP 500", "0")
  .option("--target-delay <ms>", "each target answers after this long", "0")
  .option("--fake-probes", "probes pass at once without I/O: the checker's bookkeeping alone")
  .option("--metrics-format <emf|off>", "CloudWatch EMF records (to /dev/null), as on ECS", "emf")
  .action((o: Options) =>
    main(o).catch((err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    }),
  )
  .parse();
