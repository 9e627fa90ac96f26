import { strict as assert } from "node:assert";
import { Command } from "commander";
import {
  addConfigOptions,
  ConfigError,
  defaultSettings,
  flagsFromCommander,
  OPTIONS,
  parseConfig,
  formatDuration,
  parseDuration,
  serviceSettings,
  toEnvironment,
  type Settings,
} from "../checker/config";
import { isRequestPath } from "../checker/probe";

function problems(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail("expected a ConfigError");
}

describe("config", () => {
  it("applies every documented default", () => {
    const c = parseConfig({ flags: { namespace: "ns-abc" } });
    assert.equal(c.namespace, "ns-abc");
    assert.equal(c.services, undefined);
    assert.equal(c.intervalMs, 10_000);
    assert.deepEqual(c.defaults.check, {
      protocol: "auto",
      path: "/health",
      port: undefined,
      expectedStatus: [{ min: 200, max: 399 }],
      timeoutMs: 2000,
      grpcService: "",
    });
    assert.deepEqual(c.defaults.policy, {
      unhealthyThreshold: 3,
      healthyThreshold: 2,
      startupGraceMs: 60_000,
      maxUnhealthyPercent: 50,
      action: "auto",
      replaceAfterMs: "auto",
    });
    assert.deepEqual(c.global, {
      degradedFailPercent: 80,
      degradedMinInstances: 5,
      replaceCooldownMs: 300_000,
      maxReplacementsPerCycle: 1,
    });
    assert.deepEqual(c.listen, { host: "0.0.0.0", port: 9090 });
    assert.equal(c.logLevel, "info");
    assert.equal(c.concurrency, "auto");
    assert.equal(
      parseConfig({ flags: { namespace: "ns-1", concurrency: "200" } }).concurrency,
      200,
    );
    assert.equal(c.resyncIntervalMs, 300_000);
    assert.equal(c.maxMutationsPerSecond, 5);
    assert.equal(c.stateTable, undefined);
    assert.equal(c.overrides.size, 0);
  });

  it("takes a flag over a variable over a default; an empty variable is unset", () => {
    const env = { CMHC_NAMESPACE: "from-env", CMHC_INTERVAL: "30s", CMHC_TIMEOUT: "" };
    assert.equal(parseConfig({ env }).namespace, "from-env");
    assert.equal(parseConfig({ env }).intervalMs, 30_000);
    assert.equal(parseConfig({ env }).defaults.check.timeoutMs, 2000);
    const c = parseConfig({ flags: { namespace: "from-flag", interval: "5s" }, env });
    assert.equal(c.namespace, "from-flag");
    assert.equal(c.intervalMs, 5000);
  });

  it("parses durations in ms, s, m, h and bare seconds", () => {
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("10s"), 10_000);
    assert.equal(parseDuration("2m"), 120_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration("7"), 7000);
    for (const bad of ["", "-1s", "abc", "10 parsecs", "s", "1e3", "5d"]) {
      assert.throws(() => parseDuration(bad), /expected a duration/);
    }
    assert.equal(parseConfig({ flags: { namespace: "n", interval: "15" } }).intervalMs, 15_000);
    assert.deepEqual([0, 500, 1500, 10_000, 120_000, 3_600_000].map(formatDuration), [
      "0s",
      "500ms",
      "1500ms",
      "10s",
      "2m",
      "1h",
    ]);
  });

  it("rejects durations Node.js timers cannot hold", () => {
    assert.match(
      problems(() => parseConfig({ flags: { namespace: "n", interval: "1000h" } })),
      /--interval \/ CMHC_INTERVAL: must be at most 596h/,
    );
  });

  it("names the flag and the variable for every bad value, all at once", () => {
    const msg = problems(() =>
      parseConfig({
        env: {
          CMHC_INTERVAL: "often",
          CMHC_UNHEALTHY_THRESHOLD: "0",
          CMHC_HEALTHY_THRESHOLD: "1.5",
          CMHC_CHECK_PROTOCOL: "udp",
          CMHC_GRPC_SERVICE: "has space",
          CMHC_CHECK_PATH: "health",
          CMHC_CHECK_PORT: "70000",
          CMHC_EXPECTED_STATUS: "200-99",
          CMHC_ACTION: "delete",
          CMHC_MAX_UNHEALTHY_PERCENT: "101",
          CMHC_LISTEN: "nowhere",
          CMHC_LOG_LEVEL: "loud",
          CMHC_METRICS_FORMAT: "prometheus",
          CMHC_CONCURRENCY: "0",
          CMHC_MAX_MUTATIONS_PER_SECOND: "-2",
          CMHC_STATE_TABLE: "a",
          CMHC_SERVICES: ",,",
          CMHC_TIMEOUT: "0",
          CMHC_STARTUP_GRACE: "-5s",
          CMHC_DEGRADED_FAIL_PERCENT: "0",
          CMHC_DEGRADED_MIN_INSTANCES: "0",
          CMHC_RESYNC_INTERVAL: "never",
          CMHC_REPLACE_AFTER: "soon",
          CMHC_REPLACE_COOLDOWN: "1x",
          CMHC_MAX_REPLACEMENTS_PER_CYCLE: "-1",
          CMHC_SERVICE_OVERRIDES: "{",
        },
      }),
    );
    for (const label of [
      "--namespace / CMHC_NAMESPACE: required",
      '--interval / CMHC_INTERVAL: expected a duration like 500ms, 10s or 2m, got "often"',
      "--unhealthy-threshold / CMHC_UNHEALTHY_THRESHOLD: expected an integer from 1 to 100",
      "--healthy-threshold / CMHC_HEALTHY_THRESHOLD",
      "--check-protocol / CMHC_CHECK_PROTOCOL: expected one of auto, http, https, http2, http2s, grpc, grpcs, tcp",
      "--grpc-service / CMHC_GRPC_SERVICE: expected a gRPC service name",
      "--check-path / CMHC_CHECK_PATH",
      "--check-port / CMHC_CHECK_PORT",
      "--expected-status / CMHC_EXPECTED_STATUS",
      "--action / CMHC_ACTION",
      "--max-unhealthy-percent / CMHC_MAX_UNHEALTHY_PERCENT",
      "--listen / CMHC_LISTEN",
      "--log-level / CMHC_LOG_LEVEL",
      '--metrics-format / CMHC_METRICS_FORMAT: expected one of auto, emf, off, got "prometheus"',
      "--concurrency / CMHC_CONCURRENCY",
      "--max-mutations-per-second / CMHC_MAX_MUTATIONS_PER_SECOND",
      "--state-table / CMHC_STATE_TABLE: expected a DynamoDB table name",
      "--timeout / CMHC_TIMEOUT: must be at least 1ms",
    ]) {
      assert.ok(msg.includes(label), `missing "${label}" in:\n${msg}`);
    }
    // Every option was given a bad value, and each is reported, together.
    for (const o of OPTIONS) {
      assert.ok(msg.includes(`${o.flag} / ${o.env}: `), `${o.flag} not reported in:\n${msg}`);
    }
  });

  it("parses expected status lists and ranges", () => {
    const c = parseConfig({ flags: { namespace: "n", expectedStatus: "200, 204,300-399" } });
    assert.deepEqual(c.defaults.check.expectedStatus, [
      { min: 200, max: 200 },
      { min: 204, max: 204 },
      { min: 300, max: 399 },
    ]);
    for (const bad of ["2xx", "99", "600", "400-300", ""]) {
      assert.match(
        problems(() => parseConfig({ flags: { namespace: "n", expectedStatus: bad } })),
        /--expected-status \/ CMHC_EXPECTED_STATUS/,
      );
    }
  });

  it("rejects a timeout that is not below the interval", () => {
    assert.match(
      problems(() => parseConfig({ flags: { namespace: "n", interval: "2s", timeout: "2s" } })),
      /--timeout \/ CMHC_TIMEOUT: must be below the interval/,
    );
  });

  it("merges per-service overrides over the defaults", () => {
    const c = parseConfig({
      flags: { namespace: "n", checkPath: "/live", unhealthyThreshold: "4" },
      env: {
        CMHC_SERVICE_OVERRIDES: JSON.stringify({
          payments: {
            checkPath: "/ready",
            unhealthyThreshold: 2,
            timeout: "500ms",
            action: "observe",
          },
          redis: { checkProtocol: "tcp", checkPort: 6379 },
        }),
      },
    });
    const pay = serviceSettings(c, "payments");
    assert.equal(pay.check.path, "/ready");
    assert.equal(pay.check.timeoutMs, 500);
    assert.equal(pay.policy.unhealthyThreshold, 2);
    assert.equal(pay.policy.action, "observe");
    assert.equal(pay.policy.healthyThreshold, 2, "unset keys keep the defaults");
    const redis = serviceSettings(c, "redis");
    assert.equal(redis.check.protocol, "tcp");
    assert.equal(redis.check.port, 6379);
    assert.equal(redis.check.path, "/live");
    assert.equal(redis.policy.unhealthyThreshold, 4);
    assert.equal(serviceSettings(c, "other"), c.defaults);
  });

  it("rejects bad overrides with the service and key named", () => {
    const label = /--service-overrides \/ CMHC_SERVICE_OVERRIDES/;
    const cases: Array<[string, RegExp]> = [
      ["{not json", /not valid JSON/],
      ["[1,2]", /expected a JSON object/],
      ['{"api": 3}', /service "api": expected an object/],
      ['{"api": {"checkPaht": "/x"}}', /service "api": unknown key "checkPaht"/],
      [
        '{"api": {"unhealthyThreshold": 0}}',
        /service "api": unhealthyThreshold: expected an integer/,
      ],
      ['{"api": {"timeout": "20s"}}', /service "api": timeout must be below the interval/],
      ['{"api": {"checkPath": true}}', /service "api": checkPath: expected a string or number/],
    ];
    for (const [json, pattern] of cases) {
      const msg = problems(() =>
        parseConfig({ flags: { namespace: "n", serviceOverrides: json } }),
      );
      assert.match(msg, label);
      assert.match(msg, pattern);
    }
  });

  it("parses replacement settings: off by default, a duration, per service too", () => {
    const c = parseConfig({
      flags: {
        namespace: "n",
        replaceAfter: "2m",
        replaceCooldown: "10m",
        maxReplacementsPerCycle: "3",
      },
      env: {
        CMHC_SERVICE_OVERRIDES: '{"web":{"replaceAfter":"off"},"api":{"replaceAfter":"30s"}}',
      },
    });
    assert.equal(c.defaults.policy.replaceAfterMs, 120_000);
    assert.equal(c.global.replaceCooldownMs, 600_000);
    assert.equal(c.global.maxReplacementsPerCycle, 3);
    assert.equal(serviceSettings(c, "web").policy.replaceAfterMs, undefined);
    assert.equal(serviceSettings(c, "api").policy.replaceAfterMs, 30_000);
    assert.match(
      problems(() => parseConfig({ flags: { namespace: "n", replaceAfter: "soon" } })),
      /--replace-after \/ CMHC_REPLACE_AFTER/,
    );
  });

  it("parses the allow-list and listen address", () => {
    const c = parseConfig({
      flags: { namespace: "n", services: "api, web,,", listen: "127.0.0.1:0" },
    });
    assert.deepEqual(c.services, ["api", "web"]);
    assert.deepEqual(c.listen, { host: "127.0.0.1", port: 0 });
    const v6 = parseConfig({ flags: { namespace: "n", listen: "[::1]:9091" } });
    assert.deepEqual(v6.listen, { host: "::1", port: 9091 });
    for (const bad of ["nowhere", ":9090", "::9090", "h:70000", "h:", "a b:1"]) {
      assert.match(
        problems(() => parseConfig({ flags: { namespace: "n", listen: bad } })),
        /--listen \/ CMHC_LISTEN: expected host:port/,
        bad,
      );
    }
  });

  it("treats an empty flag as a value to check, not as unset", () => {
    assert.match(
      problems(() => parseConfig({ flags: { namespace: "n", checkPath: "" } })),
      /--check-path \/ CMHC_CHECK_PATH/,
    );
  });

  it("accepts only check paths the probe can send, naming where a bad one came from", () => {
    const why =
      'expected a path starting with / of visible ASCII characters (percent-encode others: /h%C3%A9alth), got "/héalth"';
    const label = "--check-path / CMHC_CHECK_PATH";
    const flag = problems(() => parseConfig({ flags: { namespace: "n", checkPath: "/héalth" } }));
    assert.ok(flag.includes(`${label}: ${why}`), flag);
    const env = problems(() =>
      parseConfig({ env: { CMHC_NAMESPACE: "n", CMHC_CHECK_PATH: "/héalth" } }),
    );
    assert.ok(env.includes(`${label}: ${why}`), env);
    const override = problems(() =>
      parseConfig({
        flags: { namespace: "n", serviceOverrides: '{"api":{"checkPath":"/héalth"}}' },
      }),
    );
    const overrideLabel = '--service-overrides / CMHC_SERVICE_OVERRIDES: service "api": checkPath';
    assert.ok(override.includes(`${overrideLabel}: ${why}`), override);
    // Config and probe share one rule: whatever config takes, the probe sends.
    for (const path of ["/ready?x=1&y=%C3%A9", "/~u/a;b=c", "/", "/a b", "/a\tb", "health", "/é"]) {
      let accepted = true;
      try {
        parseConfig({ flags: { namespace: "n", checkPath: path } });
      } catch {
        accepted = false;
      }
      assert.equal(accepted, isRequestPath(path), JSON.stringify(path));
    }
  });

  it("round-trips settings through the environment the Pulumi component will set", () => {
    const settings: Settings = {
      namespace: "ns-1234",
      services: "api,web",
      interval: "5s",
      timeout: "1s",
      unhealthyThreshold: "2",
      healthyThreshold: "3",
      checkProtocol: "https",
      checkPath: "/ready",
      checkPort: "8443",
      expectedStatus: "200-299",
      action: "deregister",
      maxUnhealthyPercent: "30",
      startupGrace: "2m",
      serviceOverrides: '{"web":{"checkProtocol":"tcp"}}',
      logLevel: "debug",
    };
    const env = toEnvironment(settings);
    assert.equal(env["CMHC_CHECK_PATH"], "/ready");
    assert.deepEqual(parseConfig({ env }), parseConfig({ flags: settings }));
    assert.throws(
      () => toEnvironment({ bogus: "1" } as Settings),
      /unknown checker setting "bogus"/,
    );
    // An empty variable reads as unset, so it would not mean what the setting says.
    assert.throws(() => toEnvironment({ checkPath: "" }), /"checkPath" is empty/);
  });

  it("documents one default per option, and parses them all", () => {
    const defaults = defaultSettings();
    for (const o of OPTIONS) assert.equal(defaults[o.key], o.default);
    parseConfig({ env: toEnvironment({ ...defaults, namespace: "n" }) });
  });

  it("wires every option into commander without commander applying defaults", async () => {
    let seen: Record<string, unknown> = {};
    const cmd = addConfigOptions(new Command("x"))
      .exitOverride()
      .action((opts: Record<string, unknown>) => {
        seen = opts;
      });
    await cmd.parseAsync([
      "node",
      "x",
      "--namespace",
      "ns-1",
      "--interval",
      "5s",
      "--check-path",
      "/p",
    ]);
    const flags = flagsFromCommander(seen);
    assert.deepEqual(flags, { namespace: "ns-1", interval: "5s", checkPath: "/p" });
    // A variable still wins over a default commander did not inject.
    const c = parseConfig({ flags, env: { CMHC_TIMEOUT: "3s" } });
    assert.equal(c.defaults.check.timeoutMs, 3000);
    assert.equal(c.defaults.check.path, "/p");
    for (const o of OPTIONS) {
      const opt = cmd.options.find((x) => x.long === o.flag);
      assert.ok(opt, o.flag);
      assert.equal(opt.attributeName(), o.key, "commander's name must be the settings key");
      assert.equal(opt.defaultValue, undefined, `${o.flag}: commander must not default`);
      assert.ok(opt.required, `${o.flag} takes a value`);
    }
    const help = cmd.helpInformation();
    assert.match(help, /--check-path <path>/);
    assert.match(help, /env CMHC_CHECK_PATH, default \/health/);
    assert.match(help, /env CMHC_NAMESPACE\]/);
  });
});
