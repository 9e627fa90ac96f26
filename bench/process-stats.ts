// CPU time and peak RSS of a child process, from /proc (Linux).

import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Peak resident set size (VmHWM) in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Per-CPU jiffies from /proc/stat: busy (everything but idle and iowait) and steal. */
export function cpuTimes(): Array<{ busy: number; steal: number; total: number }> {
  const out: Array<{ busy: number; steal: number; total: number }> = [];
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    if (!/^cpu\d+ /.test(line)) continue;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    out.push({
      busy: user + nice + system + irq + softirq,
      steal,
      total: user + nice + system + idle + iowait + irq + softirq + steal,
    });
  }
  return out;
}

/** Busy and steal percent of each CPU between two readings. */
export function cpuShare(
  before: ReturnType<typeof cpuTimes>,
  after: ReturnType<typeof cpuTimes>,
): Array<{ busyPercent: number; stealPercent: number }> {
  return after.map((a, i) => {
    const b = before[i] ?? { busy: 0, steal: 0, total: 0 };
    const total = a.total - b.total || 1;
    return {
      busyPercent: (100 * (a.busy - b.busy)) / total,
      stealPercent: (100 * (a.steal - b.steal)) / total,
    };
  });
}
