// The target farm in a process of its own, so the checker's CPU figures exclude the targets.
// Prints its port on the first line of stdout; the parent marks failing addresses on stdin.

import { createInterface } from "node:readline";
import { startFarm, type FarmProtocol } from "./farm";

const protocol = (process.argv[3] ?? "http") as FarmProtocol;
void startFarm(Number(process.argv[2] ?? 0), {}, protocol).then((farm) => {
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
