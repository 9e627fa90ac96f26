// Parsers for single option values. Each returns the typed value or throws an Error whose
// message says what is wrong (the caller adds the flag and variable names).

import { z } from "zod"; // zod: declarative validation with precise messages
import type { ActionSetting, CheckProtocol, StatusRange } from "../domain/types";
import { isRequestPath } from "../probe/request-path";
import { parseDuration } from "./duration";

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`expected ${what}, got ${JSON.stringify(value)}`);
  return r.data;
}

const integerText = z
  .string()
  .trim()
  .regex(/^-?\d+$/)
  .transform(Number);
const numberText = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/)
  .transform(Number);

export function integer(min: number, max: number) {
  return (text: string): number =>
    check(
      integerText.pipe(z.number().int().min(min).max(max)),
      text,
      `an integer from ${min} to ${max}`,
    );
}

/** `auto`, or a fixed number of probes in flight. */
export function concurrency(text: string): number | "auto" {
  return text.trim() === "auto" ? "auto" : integer(1, 10_000)(text);
}

export function positiveNumber(text: string): number {
  return check(numberText.pipe(z.number().positive()), text, "a number above 0");
}

/** Node.js fires longer timers at once (TimeoutOverflowWarning), which would spin the loop. */
const MAX_DURATION_MS = 596 * 3_600_000;

export function duration(minMs: number) {
  return (text: string): number => {
    const ms = parseDuration(text);
    if (ms < minMs) throw new Error(`must be at least ${minMs}ms, got ${JSON.stringify(text)}`);
    if (ms > MAX_DURATION_MS) {
      throw new Error(
        `must be at most 596h (the longest Node.js timer), got ${JSON.stringify(text)}`,
      );
    }
    return ms;
  };
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return (text: string): T[number] =>
    check(z.enum(values), text.trim(), `one of ${values.join(", ")}`);
}

export const protocol: (text: string) => CheckProtocol = oneOf([
  "auto",
  "http",
  "https",
  "http2",
  "http2s",
  "grpc",
  "grpcs",
  "tcp",
]);

/** A gRPC service name as the health request carries it: printable, at most 200 characters. */
export function grpcService(text: string): string {
  if (text.length > 200 || !/^[\x21-\x7e]*$/.test(text)) {
    throw new Error(
      `expected a gRPC service name (printable ASCII, no spaces, at most 200 characters), got ${JSON.stringify(text)}`,
    );
  }
  return text;
}
export const action: (text: string) => ActionSetting = oneOf([
  "auto",
  "deregister",
  "custom-status",
  "observe",
]);
export const metricsFormat = oneOf(["auto", "emf", "off"]);
export const logLevel = oneOf(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

/**
 * Exactly what the HTTP probe can send (its own test), so a path accepted here never fails
 * every probe later. Suggests the percent-encoded form when there is one.
 */
export function path(text: string): string {
  if (isRequestPath(text)) return text;
  const encoded = text.startsWith("/") ? percentEncoded(text) : undefined;
  const hint = encoded ? ` (percent-encode others: ${encoded})` : "";
  throw new Error(
    `expected a path starting with / of visible ASCII characters${hint}, got ${JSON.stringify(text)}`,
  );
}

function percentEncoded(text: string): string | undefined {
  try {
    const encoded = encodeURI(text);
    return isRequestPath(encoded) ? encoded : undefined;
  } catch {
    return undefined; // a lone surrogate has no UTF-8 form
  }
}

export function port(text: string): number {
  return integer(1, 65535)(text);
}

/** `200-399`, `200,204`, `200,300-399`: inclusive ranges within 100-599. */
export function statusRanges(text: string): StatusRange[] {
  const parts = text.split(",").map((p) => p.trim());
  return parts.map((part) => {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    const min = m ? Number(m[1]) : NaN;
    const max = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || min < 100 || max > 599 || min > max) {
      throw new Error(
        `expected HTTP status codes or ranges within 100-599 like 200-399 or 200,204, got ${JSON.stringify(text)}`,
      );
    }
    return { min, max };
  });
}

export function nameList(text: string): string[] {
  const names = text
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (names.length === 0)
    throw new Error(`expected at least one name, got ${JSON.stringify(text)}`);
  return names;
}

export function listen(text: string): { host: string; port: number } {
  // An IPv6 host must be bracketed, so the last colon is always the port separator.
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d+)$/.exec(text.trim());
  const portNumber = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || portNumber > 65535) {
    throw new Error(`expected host:port like 0.0.0.0:9090, got ${JSON.stringify(text)}`);
  }
  return { host: m[1].replace(/^\[(.*)\]$/, "$1"), port: portNumber };
}

export function namespace(text: string): string {
  const v = text.trim();
  if (!v) throw new Error("must not be empty");
  return v;
}

/** A DynamoDB table name: 3-255 of letters, digits, `_`, `-`, `.`. */
export function tableName(text: string): string {
  return check(
    z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/),
    text.trim(),
    "a DynamoDB table name (3-255 characters: A-Z a-z 0-9 _ . -)",
  );
}

/** A duration, `off` (undefined) or `auto`. */
export function durationOffOrAuto(minMs: number) {
  const parse = durationOrOff(minMs);
  return (text: string): number | "auto" | undefined =>
    text.trim() === "auto" ? "auto" : parse(text);
}

/** A duration, or `off` (undefined). */
export function durationOrOff(minMs: number) {
  const parse = duration(minMs);
  return (text: string): number | undefined => (text.trim() === "off" ? undefined : parse(text));
}
