// Every checker setting of the option table reaches the checker through every surface: the
// component (as the container's variable), the stack program (from stack config) and the
// rollout (a flag), and the component's TSDoc states the schema's own default.

import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import * as pulumi from "@pulumi/pulumi";
import { optionSpec, SETTING_KEYS, type SettingKey } from "../checker/config";
import { ARG_DEFAULTS } from "../components/defaults";
import {
  addOptions,
  settingsFrom,
  validateSettings,
  type CliOptions,
} from "../programs/rollout/cli";
import { addSettingOptions, settingsFromFlags } from "../programs/rollout/settings";
import { stackConfig } from "../programs/rollout/stack-config";
import type { DiscoveredNamespace } from "../programs/rollout/types";
import {
  ACCOUNT,
  childrenOf,
  installPulumiMocks,
  REGION,
  settle,
  valueOf,
} from "./support/pulumi-mocks";

installPulumiMocks();

/** A valid value for every setting, none of them the default: a new option must add one here. */
const SAMPLES: Record<SettingKey, string> = {
  services: "api,web",
  interval: "7s",
  timeout: "1500ms",
  unhealthyThreshold: "4",
  healthyThreshold: "3",
  checkProtocol: "https",
  grpcService: "api.v1.Api",
  checkPath: "/ready",
  checkPort: "8081",
  expectedStatus: "200,204",
  action: "deregister",
  maxUnhealthyPercent: "40",
  startupGrace: "90s",
  replaceAfter: "3m",
  replaceCooldown: "10m",
  maxReplacementsPerCycle: "2",
  degradedFailPercent: "70",
  degradedMinInstances: "8",
  concurrency: "128",
  resyncInterval: "10m",
  maxMutationsPerSecond: "3",
  serviceOverrides: '{"api":{"timeout":"1s"}}',
  logLevel: "silent",
  metricsFormat: "off",
};

/** The sample as the component and stack config take it (typed by the option's shape). */
function typed(key: SettingKey): unknown {
  const text = SAMPLES[key];
  switch (optionSpec(key).shape) {
    case "number":
      return Number(text);
    case "list":
      return text.split(",");
    case "json":
      return JSON.parse(text) as unknown;
    default:
      return text;
  }
}

/** The variable's value as the checker would read it back. */
const asEnv = (key: SettingKey): string =>
  optionSpec(key).shape === "json" ? JSON.stringify(JSON.parse(SAMPLES[key])) : SAMPLES[key];

const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;
const REQUIRED = {
  namespaceId: "ns-surface",
  vpcId: "vpc-1",
  subnetIds: ["subnet-a"],
  ecsClusterArns: [CLUSTER],
  image: "public.ecr.aws/example/checker:1",
};

async function containerEnv(prefix: string): Promise<Record<string, string>> {
  await settle();
  const def = childrenOf(prefix).find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition")!;
  const container = (
    JSON.parse(String(def.inputs["containerDefinitions"])) as Array<{
      environment: Array<{ name: string; value: string }>;
    }>
  )[0]!;
  return Object.fromEntries(container.environment.map((e) => [e.name, e.value]));
}

describe("the option surface, derived from the one option table", function () {
  this.timeout(30_000);

  it("has a sample for every checker setting, and no setting for deployment-only options", () => {
    assert.deepEqual([...SETTING_KEYS].sort(), Object.keys(SAMPLES).sort());
    for (const key of ["namespace", "stateTable", "listen"]) {
      assert.ok(!(SETTING_KEYS as readonly string[]).includes(key), key);
    }
  });

  it("component: every setting becomes the checker's own variable in the container", async () => {
    const { CloudMapHealthChecker } = await import("../components");
    const settings = Object.fromEntries(SETTING_KEYS.map((k) => [k, typed(k)]));
    const c = new CloudMapHealthChecker("surface-c", { ...REQUIRED, ...settings });
    await valueOf(c.serviceArn);
    const env = await containerEnv("surface-c");
    for (const key of SETTING_KEYS) assert.equal(env[optionSpec(key).env], asEnv(key), key);
  });

  it("stack program: every setting is read from stack config", async () => {
    const ns = (k: string): string => `cloudmap-health-checker:${k}`;
    const config: Record<string, string> = { [ns("name")]: "surface-s" };
    for (const [k, v] of Object.entries(REQUIRED)) {
      config[ns(k)] = typeof v === "string" ? v : JSON.stringify(v);
    }
    for (const key of SETTING_KEYS) {
      const v = typed(key);
      config[ns(key)] = typeof v === "string" ? v : JSON.stringify(v);
    }
    pulumi.runtime.setAllConfig(config);
    const { createStack } = await import("../programs/stack");
    const c = createStack();
    await valueOf(c.serviceArn);
    const env = await containerEnv("surface-s");
    for (const key of SETTING_KEYS) assert.equal(env[optionSpec(key).env], asEnv(key), key);
  });

  it("rollout: every setting is a flag, spelled as the checker spells it, and typed for the stack", () => {
    const cmd = addSettingOptions(new Command().exitOverride());
    const argv = SETTING_KEYS.flatMap((k) => [optionSpec(k).flag, SAMPLES[k]]);
    cmd.parse(argv, { from: "user" });
    const settings = settingsFromFlags(cmd.opts()) as Record<string, unknown>;
    for (const key of SETTING_KEYS) assert.deepEqual(settings[key], typed(key), key);
  });

  it("component TSDoc states the checker's own default for every setting, and its own once", () => {
    const source = readFileSync(path.resolve(__dirname, "../../components/args.ts"), "utf8");
    const settings = source.slice(source.indexOf("export interface CheckerSettings"));
    for (const key of SETTING_KEYS) {
      const m = new RegExp(`@default ([^*]+?)\\s*\\*/\\s*readonly ${key}\\?`).exec(settings);
      assert.ok(m, `${key}: no @default`);
      const stated = m[1]!.trim().replace(/^"(.*)"$/, "$1");
      const def = optionSpec(key).default;
      if (def !== undefined) assert.equal(stated, def, key);
    }
    const args = source.slice(source.indexOf("export interface CloudMapHealthCheckerArgs"));
    for (const [key, value] of Object.entries(ARG_DEFAULTS)) {
      const m = new RegExp(`@default ([^*]+?)\\s*\\*/\\s*readonly ${key}\\?`).exec(args);
      assert.ok(m, `${key}: no @default`);
      assert.equal(m[1]!.trim().replace(/^"(.*)"$/, "$1"), String(value), key);
    }
  });

  // The dashboard and alarm args are the component's own (no checker option): rollout flags ->
  // each stack's config -> the stack program -> the component.
  describe("dashboard and alarm args", () => {
    const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:ops`;
    const pager = `arn:aws:sns:${REGION}:${ACCOUNT}:pager`;
    const discovered: DiscoveredNamespace = {
      accountId: ACCOUNT,
      region: REGION,
      namespaceId: "ns-rolled",
      namespaceName: "shop.local",
      ecsServices: [],
      placement: {
        vpcId: "vpc-1",
        subnetIds: ["subnet-a"],
        targetSecurityGroupIds: [],
        clusterArns: [CLUSTER],
        ports: [],
        servicePorts: {},
      },
      problem: undefined,
    };
    const flags = (argv: string[]): CliOptions => {
      const cmd = addOptions(new Command().exitOverride());
      cmd.parse(argv, { from: "user" });
      return cmd.opts<CliOptions>();
    };
    /** The stack the rollout would deploy for these flags and config file, through createStack. */
    async function deploy(name: string, argv: string[], file = {}) {
      const settings = settingsFrom(flags(argv), file);
      validateSettings(settings, file);
      const config: Record<string, string> = {
        ...stackConfig(discovered, undefined, { ...settings, image: REQUIRED.image }),
        "cloudmap-health-checker:name": name,
      };
      pulumi.runtime.setAllConfig(config);
      const { createStack } = await import("../programs/stack");
      const c = createStack();
      await valueOf(c.alarmArns);
      await settle();
      const alarms = childrenOf(name).filter(
        (r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm",
      );
      const dashboards = childrenOf(name).filter(
        (r) => r.type === "aws:cloudwatch/dashboard:Dashboard",
      );
      return { config, alarms, dashboards };
    }
    const key = (k: string): string => `cloudmap-health-checker:${k}`;

    it("rollout: no flag writes no config, and the component's defaults apply", async () => {
      const { config, alarms, dashboards } = await deploy("mon-default", []);
      for (const k of ["alarms", "dashboard", "alarmTopicArn", "alarmActions"]) {
        assert.equal(config[key(k)], undefined, k);
      }
      assert.equal(alarms.length, 4);
      assert.equal(dashboards.length, 1);
    });

    it("rollout: --alarm-topic-arn, --alarm-actions and --no-dashboard reach the component", async () => {
      const { config, alarms, dashboards } = await deploy("mon-flags", [
        "--alarm-topic-arn",
        topic,
        "--alarm-actions",
        `${pager}, ${topic}-2`,
        "--no-dashboard",
      ]);
      assert.equal(config[key("alarmTopicArn")], topic);
      assert.equal(config[key("alarmActions")], JSON.stringify([pager, `${topic}-2`]));
      assert.equal(config[key("dashboard")], "false");
      assert.equal(config[key("alarms")], undefined);
      assert.equal(alarms.length, 4);
      for (const a of alarms) {
        assert.deepEqual(a.inputs["alarmActions"], [topic, pager, `${topic}-2`]);
        assert.deepEqual(a.inputs["okActions"], [topic]);
      }
      assert.equal(dashboards.length, 0);
    });

    it("rollout: --no-alarms, or the config file's settings, turn the alarms off", async () => {
      const flagged = await deploy("mon-noalarms", ["--no-alarms"]);
      assert.equal(flagged.config[key("alarms")], "false");
      assert.equal(flagged.alarms.length, 0);
      assert.equal(flagged.dashboards.length, 1);
      const filed = await deploy("mon-file", [], { settings: { alarms: false } });
      assert.equal(filed.config[key("alarms")], "false", "an absent flag keeps the file's value");
      assert.equal(filed.alarms.length, 0);
    });

    it("rollout: refuses monitoring settings that contradict, before any stack", () => {
      assert.throws(
        () =>
          validateSettings(
            settingsFrom(flags(["--no-alarms", "--alarm-topic-arn", topic]), {}),
            {},
          ),
        /settings: `alarmTopicArn` is given, but `alarms` is false/,
      );
      const file = {
        namespaces: { "shop.local": { metricsFormat: "off" as const, dashboard: true } },
      };
      assert.throws(
        () => validateSettings(settingsFrom(flags([]), file), file),
        /namespaces\.shop\.local: `dashboard` needs the checker's metrics/,
      );
    });
  });
});
