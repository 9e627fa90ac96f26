// Human output: the plan as a table, and the final summary.

import type { StackResult } from "./execute";
import type { RolloutPlan } from "./plan";
import type { DiscoveryFailure } from "./types";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function printPlan(plan: RolloutPlan, failures: readonly DiscoveryFailure[]): void {
  const rows = [["STACK", "ACTION", "NAMESPACE", "NOTE"]];
  for (const s of plan.stacks) {
    rows.push([
      s.name,
      s.action,
      s.namespaceId ? `${s.namespaceName} (${s.namespaceId})` : "-",
      s.reason ?? "",
    ]);
  }
  process.stdout.write(
    `${plan.stacks.length === 0 ? "no Service Connect namespace found\n" : `${table(rows)}\n`}`,
  );
  for (const f of failures) {
    process.stdout.write(`discovery failed in ${f.accountId} ${f.region}: ${f.error}\n`);
  }
}

export function printSummary(results: readonly StackResult[]): void {
  const rows = [["STACK", "ACTION", "RESULT", "CHANGES", "DURATION", "DASHBOARD"]];
  for (const r of results) {
    const changes = Object.entries(r.changes)
      .map(([k, n]) => `${k}:${n}`)
      .join(" ");
    rows.push([
      r.stack,
      r.action,
      r.result + (r.error ? ` (${r.error})` : ""),
      changes || "-",
      `${(r.durationMs / 1000).toFixed(1)}s`,
      r.dashboardName ?? "",
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
}
