// Gives the checker a core of its own: the driver, moto and the target farm (its children, which
// inherit its affinity) run on the other cores. The figures then say what the checker does with
// one core, rather than how two cores were shared with an emulator that is far slower than AWS.

import { execFileSync } from "node:child_process";
import os from "node:os";

export interface Pinning {
  /** CPU list (taskset syntax) of the checker process. */
  readonly checker: string;
  /** CPU list of everything else: the driver, moto, the targets. */
  readonly rest: string;
}

let active: Pinning | undefined;

/** Pins this process (and so the children it starts) off CPU 0; undefined where it cannot. */
export function pinBench(): Pinning | undefined {
  const cores = os.availableParallelism();
  if (cores < 2) return undefined;
  const plan = { checker: "0", rest: cores === 2 ? "1" : `1-${cores - 1}` };
  try {
    taskset(plan.rest, process.pid);
  } catch {
    return undefined; // no taskset, or affinity not allowed here: run unpinned
  }
  active = plan;
  return plan;
}

/** Moves a checker process (every thread) onto its own core, when the bench is pinned. */
export function pinChecker(pid: number): void {
  if (active) taskset(active.checker, pid);
}

function taskset(cpus: string, pid: number): void {
  execFileSync("taskset", ["-a", "-cp", cpus, String(pid)], { stdio: "ignore" });
}
