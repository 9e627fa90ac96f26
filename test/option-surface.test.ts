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
import { addSettingOptions, settingsFromFlags } from "../programs/rollout/settings";
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
      return key === "concurrency" ? Number(text) : text;
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
});
