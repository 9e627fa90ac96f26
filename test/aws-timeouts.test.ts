// Every AWS call is bounded: per attempt by the SDK's HTTP handler, per call (retries included)
// by an abort signal; a call cut short is a transient TimeoutError naming the operation.

import { strict as assert } from "node:assert";
import { boundCalls } from "../checker/aws/clients";
import { isTransientAwsError } from "../checker/aws/errors";
import { awsTimeouts } from "../checker/aws/timeouts";

class DescribeTasksCommand {}

/** A client whose calls never answer, except by rejecting when their signal aborts. */
function silentClient() {
  return {
    send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
      new Promise<never>((_resolve, reject) => {
        options?.abortSignal?.addEventListener("abort", () =>
          reject(Object.assign(new Error("Request aborted"), { name: "AbortError" })),
        );
      }),
  };
}

describe("AWS call timeouts", () => {
  it("sizes each bound to the interval, within limits", () => {
    assert.deepEqual(awsTimeouts(1000), { connectMs: 1000, attemptMs: 2000, callMs: 3000 });
    assert.deepEqual(awsTimeouts(5000), { connectMs: 1250, attemptMs: 5000, callMs: 10_000 });
    assert.deepEqual(awsTimeouts(60_000), { connectMs: 3000, attemptMs: 10_000, callMs: 30_000 });
  });

  it("cuts a call that gets no answer at the call bound, as a transient TimeoutError", async () => {
    const client = silentClient();
    boundCalls(client, 50);
    const started = Date.now();
    const err = (await client.send(new DescribeTasksCommand()).catch((e: unknown) => e)) as Error;
    assert.equal(err.name, "TimeoutError");
    assert.equal(err.message, "DescribeTasks got no answer within 50 ms");
    assert.equal(isTransientAwsError(err), true);
    assert.ok(Date.now() - started < 5000);
  });

  it("cuts a mutation at what is left of the cycle, when that comes first", async () => {
    const client = silentClient();
    boundCalls(client, 60_000);
    const err = (await client
      .send(new DescribeTasksCommand(), { abortSignal: AbortSignal.timeout(30) })
      .catch((e: unknown) => e)) as Error;
    assert.equal(err.name, "TimeoutError");
    assert.match(err.message, /in the time left/);
  });

  it("passes other failures through untouched", async () => {
    const client = {
      send: async () => {
        throw Object.assign(new Error("denied"), { name: "AccessDeniedException" });
      },
    };
    boundCalls(client, 1000);
    const err = (await client.send().catch((e: unknown) => e)) as Error;
    assert.equal(err.name, "AccessDeniedException");
  });
});
