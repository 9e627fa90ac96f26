// CPU per probe by protocol, the prober alone: N probes of each kind against a farm in another
// process (its CPU is not counted), C in flight, after a warm-up round. Protocols alternate
// round by round so a noisy neighbour spreads over all of them; the median round is reported.
// `grpc (grpc-js)` is the same health check made with @grpc/grpc-js, a client per probe: the
// measurement behind the choice of Node's http2 with the two messages encoded by hand.

import { Command } from "commander";
import type { ProbeProtocol } from "../checker/domain/types";
import type { Prober } from "../checker/ports";
import { NetProber } from "../checker/probe";
import { startFarmProcess, type FarmProcess, type FarmProtocol } from "./farm";
import { GrpcJsProber } from "./grpc-js-prober";
import { checkSpec } from "../test/support/checks";

interface Kind {
  readonly label: string;
  readonly protocol: ProbeProtocol;
  readonly farm: FarmProtocol;
  readonly prober: Prober;
}

async function round(kind: Kind, farm: FarmProcess, n: number, c: number): Promise<number> {
  const check = checkSpec(kind.protocol, 2000);
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const k = next++;
      const host = `127.0.${1 + (Math.floor(k / 250) % 200)}.${(k % 250) + 1}`;
      const r = await kind.prober.probe({ ok: true, host, port: farm.port }, check);
      if (!r.ok) failed++;
    }
  };
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: c }, worker));
  const cpu = process.cpuUsage(cpu0);
  if (failed > 0) throw new Error(`${kind.label}: ${failed} of ${n} probes failed`);
  return (cpu.user + cpu.system) / 1000 / n;
}

async function main(o: { probes: string; inFlight: string; rounds: string }): Promise<void> {
  const n = Number(o.probes);
  const c = Number(o.inFlight);
  const net = new NetProber({ now: () => Date.now() });
  const kinds: Kind[] = [
    { label: "tcp", protocol: "tcp", farm: "http", prober: net },
    { label: "http", protocol: "http", farm: "http", prober: net },
    { label: "http2", protocol: "http2", farm: "http2", prober: net },
    { label: "grpc", protocol: "grpc", farm: "grpc", prober: net },
    { label: "grpc (grpc-js)", protocol: "grpc", farm: "grpc", prober: new GrpcJsProber() },
  ];
  const farms = new Map<FarmProtocol, FarmProcess>();
  for (const f of ["http", "http2", "grpc"] as const) farms.set(f, await startFarmProcess(0, f));
  const samples = new Map<string, number[]>(kinds.map((k) => [k.label, []]));
  for (const k of kinds) await round(k, farms.get(k.farm)!, Math.min(n, 1000), c); // warm-up
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const k of kinds) samples.get(k.label)!.push(await round(k, farms.get(k.farm)!, n, c));
  }
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  out(`CPU per probe, ${n} probes a round, ${c} in flight, median of ${o.rounds} rounds`);
  out("| probe | CPU per probe (ms) | vs http |");
  out("| ----- | ------------------ | ------- |");
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const http = median(samples.get("http")!);
  for (const k of kinds) {
    const m = median(samples.get(k.label)!);
    out(`| ${k.label} | ${m.toFixed(3)} | ${(m / http).toFixed(1)}x |`);
  }
  for (const f of farms.values()) f.close();
}

new Command("bench-probe-cost")
  .description("CPU per probe for each protocol, and for gRPC with @grpc/grpc-js")
  .option("--probes <n>", "probes per protocol per round", "4000")
  .option("--in-flight <n>", "probes in flight", "40")
  .option("--rounds <n>", "rounds (protocols alternate within each)", "5")
  .action((o: { probes: string; inFlight: string; rounds: string }) =>
    main(o).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    ),
  )
  .parse();
