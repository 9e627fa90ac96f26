// Structured JSON logs, one line per event (pino: fast, and the de facto Node JSON logger).

import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Synchronous writes to stdout or stderr: logs and EMF records share one, in order. */
export function logStream(destination: "stdout" | "stderr"): DestinationStream {
  return pino.destination({ fd: destination === "stdout" ? 1 : 2, sync: true });
}

export function createLogger(
  level: string,
  destination: "stdout" | "stderr" | DestinationStream = "stdout",
): Logger {
  const stream = typeof destination === "string" ? logStream(destination) : destination;
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
