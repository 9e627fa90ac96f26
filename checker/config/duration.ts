// Durations as users write them: `500ms`, `10s`, `2m`, `1h`; a bare number is seconds.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

export function parseDuration(text: string | number): number {
  const raw = String(text).trim();
  const match = PATTERN.exec(raw);
  if (!match) {
    throw new Error(
      `expected a duration like 500ms, 10s or 2m, got ${JSON.stringify(String(text))}`,
    );
  }
  const ms = Number(match[1]) * UNITS[match[2] ?? "s"]!;
  return Math.round(ms);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
