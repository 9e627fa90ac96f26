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
  "SlowDown",
  "ProvisionedThroughputExceededException",
]);

const NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function shape(err: unknown): AwsLikeError {
  return typeof err === "object" && err !== null ? (err as AwsLikeError) : {};
}

export function isThrottlingError(err: unknown): boolean {
  const e = shape(err);
  return (
    THROTTLING.has(e.name ?? "") ||
    THROTTLING.has(e.code ?? "") ||
    e.$metadata?.httpStatusCode === 429
  );
}

export function isTransientAwsError(err: unknown): boolean {
  const e = shape(err);
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    isThrottlingError(err) ||
    status >= 500 ||
    e.$retryable !== undefined ||
    NETWORK.has(e.code ?? "") ||
    e.name === "TimeoutError" ||
    e.name === "RequestTimeout"
  );
}

export function describeAwsError(err: unknown): string {
  const e = shape(err);
  if (!e.name && !e.message) return String(err);
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? ""}`.trim();
}
