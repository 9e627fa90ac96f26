// Classifies AWS errors: throttling, 5xx, timeouts and network failures are transient
// (back off and retry later); anything else is a real refusal to report.

const THROTTLING = new Set([
  "ThrottlingException",
  "ThrottledException",
  "Throttling",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "EC2ThrottledException",
  "SlowDown",
  "PriorRequestNotComplete",
  "BandwidthLimitExceeded",
  "ProvisionedThroughputExceededException",
]);

/** Node socket/DNS error codes that say nothing about the request itself. */
const NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
]);

const TIMEOUTS = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);

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
    THROTTLING.has(e.name ?? "") ||
    THROTTLING.has(e.code ?? "") ||
    e.$retryable?.throttling === true ||
    e.$metadata?.httpStatusCode === 429
  );
}

export function isTransientAwsError(err: unknown): boolean {
  const e = shape(err);
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    isThrottlingError(err) ||
    status >= 500 ||
    // Set by the SDK on errors the service models as retryable.
    (e.$retryable !== undefined && e.$retryable !== null) ||
    NETWORK.has(e.code ?? "") ||
    TIMEOUTS.has(e.name ?? "") ||
    TIMEOUTS.has(e.code ?? "")
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
