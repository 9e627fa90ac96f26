// Structured JSON logs, one line per event (pino: fast, and the de facto Node JSON logger).

import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

export function createLogger(
  level: string,
  destination: "stdout" | "stderr" | DestinationStream = "stdout",
): Logger {
  const stream =
    typeof destination === "string"
      ? pino.destination({ fd: destination === "stdout" ? 1 : 2, sync: true })
      : destination;
  return pino(
    {
      level,
      base: { app: "cloudmap-health-checker" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}
