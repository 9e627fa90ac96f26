// The demo's terminal view: a table per service that redraws in place, and the timeline.
// Fits 80 columns; colours only when the terminal supports them.

export interface InstanceRow {
  readonly service: string;
  readonly instanceId: string;
  readonly address: string | undefined;
  readonly verdict: string;
  readonly inRotation: boolean;
  readonly lastProbe: { ok: boolean; detail: string; latencyMs: number } | undefined;
}

export interface TimelineEntry {
  readonly at: number;
  readonly text: string;
  readonly tone: "action" | "hold" | "step" | "ok" | "fail";
}

const useColour = process.stdout.isTTY === true && !process.env["NO_COLOR"];
const paint = (code: number, s: string): string => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);
export const colour = {
  red: (s: string) => paint(31, s),
  green: (s: string) => paint(32, s),
  yellow: (s: string) => paint(33, s),
  cyan: (s: string) => paint(36, s),
  dim: (s: string) => paint(2, s),
  bold: (s: string) => paint(1, s),
};

const TONE: Record<TimelineEntry["tone"], (s: string) => string> = {
  action: colour.cyan,
  hold: colour.yellow,
  step: colour.bold,
  ok: colour.green,
  fail: colour.red,
};

/** One timeline line; `width` truncates it (before colouring) to fit the terminal. */
export function formatEntry(e: TimelineEntry, start: number, width = Infinity): string {
  const t = `+${((e.at - start) / 1000).toFixed(1).padStart(5)}s`;
  const room = width - t.length - 1;
  const text = e.text.length > room ? `${e.text.slice(0, Math.max(0, room - 1))}…` : e.text;
  return `${colour.dim(t)} ${TONE[e.tone](text)}`;
}

function state(r: InstanceRow): string {
  if (!r.inRotation) return colour.red("OUT    ");
  return r.verdict === "healthy" ? colour.green("IN     ") : colour.yellow("IN/FAIL");
}

export interface FrameSize {
  readonly columns: number;
  readonly rows: number;
}

const TIMELINE_MAX = 12;
const TIMELINE_MIN = 3;
const COLUMNS = "  instance   address              state    last probe            latency";

/**
 * One frame: tables per service, then the last timeline entries. It never takes more than
 * `rows - 1` lines (the trailing newline takes the last), so it redraws in place instead of
 * scrolling: fewer timeline entries first, then compact tables, then a cut.
 */
export function renderFrame(
  rows: readonly InstanceRow[],
  timeline: readonly TimelineEntry[],
  start: number,
  size: FrameSize = { columns: process.stdout.columns || 80, rows: process.stdout.rows || 0 },
): string {
  const budget = size.rows > 1 ? size.rows - 1 : Infinity;
  let tables = serviceTables(rows, false);
  // Title + tables + timeline heading, and at least a few entries: else compact the tables.
  if (2 + tables.length + 1 + TIMELINE_MIN > budget) tables = serviceTables(rows, true);
  const head = [colour.bold("cloudmap-health-checker demo") + colour.dim("  (Ctrl-C to stop)")];
  if (tables.length + 3 + TIMELINE_MIN <= budget) head.push("");
  const room = Math.max(0, Math.min(TIMELINE_MAX, budget - head.length - tables.length - 1));
  const width = Math.min(size.columns, 120) - 2;
  const lines = [
    ...head,
    ...tables,
    colour.bold("timeline"),
    ...(room > 0 ? timeline.slice(-room) : []).map((e) => `  ${formatEntry(e, start, width)}`),
  ];
  return lines.slice(0, budget).join("\n");
}

/** Per service: name, column heading, instances, blank line; compact: one heading, no blanks. */
function serviceTables(rows: readonly InstanceRow[], compact: boolean): string[] {
  const lines: string[] = compact ? [colour.dim(COLUMNS)] : [];
  const services = [...new Set(rows.map((r) => r.service))].sort();
  for (const svc of services) {
    lines.push(colour.bold(svc));
    if (!compact) lines.push(colour.dim(COLUMNS));
    const ofService = rows
      .filter((x) => x.service === svc)
      .sort((a, b) => (a.address ?? "").localeCompare(b.address ?? "", "en", { numeric: true }));
    for (const r of ofService) {
      const detail = r.lastProbe?.detail.replace(/ \(expected .*\)$/, "") ?? "-";
      const probe = detail.slice(0, 20).padEnd(20);
      const latency = r.lastProbe ? `${r.lastProbe.latencyMs.toFixed(1)}ms` : "-";
      lines.push(
        `  ${r.instanceId.slice(0, 8).padEnd(8)}   ${(r.address ?? "-").padEnd(19)}  ${state(r)}  ${
          r.lastProbe?.ok === false ? colour.red(probe) : probe
        }  ${latency.padStart(7)}`,
      );
    }
    if (!compact) lines.push("");
  }
  return lines;
}
