// The AWS error classifier: what is transient (back off, never act on it) and what is not.

import { strict as assert } from "node:assert";
import { describeAwsError, isThrottlingError, isTransientAwsError } from "../checker/aws/errors";

const aws = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), {
    name,
    $metadata: { httpStatusCode: status },
    ...extra,
  });
const socket = (code: string) => Object.assign(new Error(code), { code });

describe("AWS error classification", () => {
  it("calls throttling throttling, by name, by code or by HTTP 429", () => {
    for (const e of [
      aws("ThrottlingException", 400),
      aws("RequestLimitExceeded", 503),
      aws("TooManyRequests", 429),
      aws("Error", 400, { code: "Throttling" }),
      aws("Weird", 400, { $retryable: { throttling: true } }),
    ]) {
      assert.equal(isThrottlingError(e), true, describeAwsError(e));
      assert.equal(isTransientAwsError(e), true, describeAwsError(e));
    }
  });

  it("calls 5xx, timeouts and dropped or refused connections transient", () => {
    for (const e of [
      aws("InternalFailure", 500),
      aws("ServiceUnavailableException", 503),
      aws("BadGateway", 502),
      aws("Odd", 507),
      aws("TimeoutError", 0),
      aws("RequestTimeoutException", 408),
      socket("ECONNRESET"),
      socket("ECONNREFUSED"),
      socket("ETIMEDOUT"),
      socket("ENOTFOUND"),
      socket("ECONNABORTED"),
      socket("ENETDOWN"),
      Object.assign(new Error("socket hang up"), { name: "TimeoutError", code: "ECONNRESET" }),
    ]) {
      assert.equal(isTransientAwsError(e), true, describeAwsError(e));
    }
  });

  it("calls a refusal a refusal: access denied, validation, not found", () => {
    for (const e of [
      aws("AccessDeniedException", 400),
      aws("InvalidInput", 400),
      aws("ServiceNotFound", 400),
      aws("NamespaceNotFound", 400),
      new Error("plain"),
      "a string",
      undefined,
    ]) {
      assert.equal(isTransientAwsError(e), false, String(e));
      assert.equal(isThrottlingError(e), false, String(e));
    }
  });

  it("names the error in one line", () => {
    assert.equal(
      describeAwsError(aws("ThrottlingException", 400)),
      "ThrottlingException (HTTP 400): ThrottlingException happened",
    );
    assert.equal(describeAwsError(socket("ECONNRESET")), "ECONNRESET: ECONNRESET");
  });
});
