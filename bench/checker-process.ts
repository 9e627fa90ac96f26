// Runs the checker CLI as its own process (so its CPU and memory are its own), and reads its
// /status and /metrics.

import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { PhaseTimes } from "../checker/cycle/phases";
import { nodeOptions } from "../components/checker-env";
import { pinChecker } from "./pin";
import { freePort } from "../test/support/moto";

export interface CheckerProcess {
  readonly child: ChildProcess;
  readonly base: string;
  status(): Promise<StatusBody | undefined>;
  /** Probe-duration histogram buckets summed over services: upper bound (s) -> count. */
  probeBuckets(): Promise<Map<number, number>>;
  /** `cmhc_aws_calls_total` (every attempt, any outcome) summed by operation. */
  awsCalls(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

export interface StatusBody {
  lastCycle?: {
    startedAt: string;
    durationMs: number;
    phases: Readonly<PhaseTimes>;
    late: boolean;
    probed: number;
    failed: number;
    degraded: boolean;
  };
}

const CLI = path.resolve(__dirname, "../checker/cli.js");

export async function startChecker(
  endpoint: string,
  env: Record<string, string>,
): Promise<CheckerProcess> {
  const port = await freePort();
  // BENCH_CHECKER_PROF=DIR: a CPU profile of the checker, written there when it exits.
  const prof = process.env["BENCH_CHECKER_PROF"];
  const flags = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  const child = spawn(process.execPath, [...flags, "--no-warnings", CLI, "run"], {
    env: {
      ...process.env,
      // As the component runs it in its default 512 MiB task.
      NODE_OPTIONS: nodeOptions(512),
      AWS_ENDPOINT_URL: endpoint,
      CMHC_LISTEN: `127.0.0.1:${port}`,
      CMHC_LOG_LEVEL: "warn",
      CMHC_STARTUP_GRACE: "0s",
      ...env,
    },
    stdio: ["ignore", process.env["BENCH_DEBUG"] ? "inherit" : "ignore", "inherit"],
  });
  if (child.pid !== undefined) pinChecker(child.pid);
  const base = `http://127.0.0.1:${port}`;
  return {
    child,
    base,
    async status() {
      try {
        // Without the instance list: at 20,000 instances building it is the checker's own work.
        return (await (await fetch(`${base}/status?instances=false`)).json()) as StatusBody;
      } catch {
        return undefined;
      }
    },
    async probeBuckets() {
      const text = await (await fetch(`${base}/metrics`)).text();
      const out = new Map<number, number>();
      for (const m of text.matchAll(/^cmhc_probe_duration_seconds_bucket\{([^}]*)\} (\d+)$/gm)) {
        const bound = /le="([^"]+)"/.exec(m[1]!)?.[1];
        if (bound === undefined) continue;
        const le = bound === "+Inf" ? Infinity : Number(bound);
        out.set(le, (out.get(le) ?? 0) + Number(m[2]));
      }
      return out;
    },
    async awsCalls() {
      const text = await (await fetch(`${base}/metrics`)).text();
      const out = new Map<string, number>();
      for (const m of text.matchAll(/^cmhc_aws_calls_total\{([^}]*)\} (\d+)$/gm)) {
        const operation = /operation="([^"]+)"/.exec(m[1]!)?.[1];
        if (operation !== undefined) out.set(operation, (out.get(operation) ?? 0) + Number(m[2]));
      }
      return out;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Waits until the checker has completed a cycle that started after `after`. */
export async function nextCycle(
  c: CheckerProcess,
  after: number,
  timeoutMs: number,
): Promise<StatusBody["lastCycle"]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await c.status();
    if (s?.lastCycle && Date.parse(s.lastCycle.startedAt) > after) return s.lastCycle;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the checker completed no cycle in time");
}

/** The quantile `q` of the probes between two bucket readings, as the bucket's upper bound. */
export function bucketQuantile(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
  q: number,
): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le;
  }
  return Infinity;
}
