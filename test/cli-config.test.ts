import { strict as assert } from "node:assert";
import { runCli } from "./support/cli-process";

describe("CLI configuration errors", () => {
  it("refuses to start without a namespace, naming the flag and the variable", async () => {
    const r = await runCli(["once"], { CMHC_NAMESPACE: "" });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--namespace/);
    assert.match(r.stderr, /CMHC_NAMESPACE/);
    assert.equal(r.stdout, "");
  });

  it("names every bad flag and variable at once", async () => {
    const r = await runCli(["once", "--namespace", "ns-x", "--interval", "soon"], {
      CMHC_CHECK_PROTOCOL: "gopher",
      CMHC_MAX_UNHEALTHY_PERCENT: "150",
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--interval \/ CMHC_INTERVAL/);
    assert.match(r.stderr, /"soon"/);
    assert.match(r.stderr, /--check-protocol \/ CMHC_CHECK_PROTOCOL/);
    assert.match(r.stderr, /--max-unhealthy-percent \/ CMHC_MAX_UNHEALTHY_PERCENT/);
  });

  it("rejects a timeout that does not fit in the interval", async () => {
    const r = await runCli(["run", "--namespace", "ns-x", "--interval", "1s", "--timeout", "2s"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--timeout \/ CMHC_TIMEOUT/);
  });

  it("rejects malformed per-service overrides", async () => {
    const r = await runCli(["once", "--namespace", "ns-x"], {
      CMHC_SERVICE_OVERRIDES: '{"api":{"checkPaht":"/x"}}',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /CMHC_SERVICE_OVERRIDES/);
    assert.match(r.stderr, /checkPaht/);
  });

  it("refuses a check path the probe could not send, from a flag, a variable or an override", async () => {
    const r = await runCli(["once", "--namespace", "ns-x", "--check-path", "/héalth"], {
      CMHC_SERVICE_OVERRIDES: '{"api":{"checkPath":"/café"}}',
    });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /--check-path \/ CMHC_CHECK_PATH: expected a path starting with \/ of visible ASCII/,
    );
    assert.match(r.stderr, /percent-encode others: \/h%C3%A9alth\), got "\/héalth"/);
    assert.match(r.stderr, /CMHC_SERVICE_OVERRIDES: service "api": checkPath: .*"\/café"/);
    const env = await runCli(["once", "--namespace", "ns-x"], { CMHC_CHECK_PATH: "/héalth" });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /--check-path \/ CMHC_CHECK_PATH: .*"\/héalth"/);
  });
});
