// The target farm in a process of its own, so the checker's CPU figures exclude the targets.
// Prints its port on the first line of stdout; the parent marks failing addresses on stdin.

import { createInterface } from "node:readline";
import { NetProber } from "../checker/probe";
import { startFarm, type FarmProtocol } from "./farm";
import { checkSpec } from "../test/support/checks";

const protocol = (process.argv[3] ?? "http") as FarmProtocol;
void startFarm(Number(process.argv[2] ?? 0), {}, protocol).then(async (farm) => {
  await warmUp(farm.port);
  farm.requests = 0;
  process.stdout.write(`${farm.port}\n`);
  // Lines `+ADDR` / `-ADDR` mark an address failing / passing; `?` reports the request count.
  createInterface({ input: process.stdin }).on("line", (line) => {
    const addr = line.slice(1);
    if (line.startsWith("+")) farm.failing.add(addr);
    else if (line.startsWith("-")) farm.failing.delete(addr);
    else if (line === "?") process.stdout.write(`${farm.requests}\n`);
  });
  process.stdin.on("end", () => void farm.close().then(() => process.exit(0)));
});

/**
 * Real targets are warm processes of their own; one farm process stands in for thousands, and
 * cold (before V8 has compiled its server's code) it answers the first cycles late. So it answers
 * a few thousand probes of its own first, here, before the checker starts.
 */
async function warmUp(port: number): Promise<void> {
  if (protocol === "http") return;
  const check = checkSpec(protocol, 5000);
  const prober = new NetProber({ now: () => Date.now() });
  let left = 3000;
  const worker = async (): Promise<void> => {
    while (left-- > 0) await prober.probe({ host: "127.0.0.1", port }, check);
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}
