// Classifies AWS errors: throttling, 5xx, timeouts and network failures are transient
// (back off and retry later); anything else is a real refusal to report. The SDK's own
// classifiers (the ones its retry strategy uses) decide, with the few cases they leave out.

import {
  isThrottlingError as sdkThrottling,
  isTransientError as sdkTransient,
} from "@smithy/core/retry"; // @smithy/core: the SDK's retry classification, shared by every client
import type { SdkError } from "@smithy/types";

/** Socket errors the SDK's list leaves out that say as little about the request. */
const NETWORK_EXTRA = new Set(["ECONNABORTED", "ENETDOWN", "EHOSTDOWN"]);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

function shape(err: unknown): AwsLikeError {
  return typeof err === "object" && err !== null ? (err as AwsLikeError) : {};
}

/**
 * The most specific name: the AWS error name, or the Node code for socket errors (the SDK
 * names a dropped connection `TimeoutError`, with `code: "ECONNRESET"`).
 */
export function awsErrorName(err: unknown): string | undefined {
  const e = shape(err);
  if (e.code && (/^E[A-Z_]+$/.test(e.code) || !e.name || e.name === "Error")) return e.code;
  return e.name;
}

export function isThrottlingError(err: unknown): boolean {
  const e = shape(err);
  return (
    sdkThrottling(e as SdkError) ||
    // Node socket errors and some emulators carry the AWS name in `code` only.
    sdkThrottling({ ...e, name: e.code ?? "" } as SdkError) ||
    e.$metadata?.httpStatusCode === 429
  );
}

export function isTransientAwsError(err: unknown): boolean {
  const e = shape(err);
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    isThrottlingError(err) ||
    sdkTransient(e as SdkError) ||
    // The SDK retries 500, 502, 503 and 504; any 5xx is the service's fault, not the request's.
    status >= 500 ||
    NETWORK_EXTRA.has(e.code ?? "") ||
    // The SDK names socket timeouts' codes `TimeoutError` too.
    e.code === "TimeoutError" ||
    e.code === "RequestTimeout"
  );
}

/** One line for logs and the status page: `ThrottlingException (HTTP 400): Rate exceeded`. */
export function describeAwsError(err: unknown): string {
  const e = shape(err);
  if (!e.name && !e.message) return String(err);
  const name = awsErrorName(err) ?? "Error";
  const status = e.$metadata?.httpStatusCode;
  return `${name}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? ""}`.trim();
}
