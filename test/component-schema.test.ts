// The package schema other languages get (`pulumi package add`, PulumiPlugin.yaml): Pulumi's own
// analyzer, shipped in @pulumi/pulumi, infers it from components/args.ts in-process, the way
// the Node.js plugin host does: the components it serves are the ComponentResource classes the
// package's main module exports, named after package.json. Every input (type, required or not,
// Input or plain, description, default), the enums, serviceOverrides' object type and the
// outputs are asserted, the defaults against the checker's option table and ARG_DEFAULTS.

import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import {
  ConfigError,
  OPTIONS,
  OVERRIDE_KEYS,
  optionSpec,
  parseConfig,
  SETTING_KEYS,
  type SettingKey,
} from "../checker/config";
import {
  Architecture,
  CheckAction,
  CheckProtocol,
  LogLevel,
  MetricsFormat,
  TYPE_TOKEN,
  type CloudMapHealthCheckerArgs,
} from "../components";
import { ARG_DEFAULTS } from "../components/defaults";
import {
  ACCOUNT,
  childrenOf,
  installPulumiMocks,
  REGION,
  settle,
  valueOf,
} from "./support/pulumi-mocks";

installPulumiMocks();

const ROOT = path.resolve(__dirname, "../..");
const PACKAGE = "cloudmap-health-checker";
const TOKEN = `${PACKAGE}:index:CloudMapHealthChecker`;

/** A property of the schema (the analyzer's PropertyDefinition, as generateSchema emits it). */
interface Property {
  type?: string;
  $ref?: string;
  items?: Property;
  additionalProperties?: Property;
  plain?: boolean;
  optional?: boolean;
  description?: string;
}
interface Schema {
  name: string;
  version: string;
  resources: Record<
    string,
    {
      isComponent: boolean;
      description?: string;
      inputProperties: Record<string, Property>;
      requiredInputs: string[];
      properties: Record<string, Property>;
      required: string[];
    }
  >;
  types: Record<
    string,
    {
      type: string;
      enum?: Array<{ name: string; value: string }>;
      properties?: Record<string, Property>;
    }
  >;
}

// Expected shapes. Plain: a value the component reads at construction (validated settings,
// sizes, switches, anything that decides which resources exist); no `plain`: a pulumi.Input.
const ref = (name: string): Property => ({ $ref: `#/types/${PACKAGE}:index:${name}` });
const plain = (p: Property): Property => ({ ...p, plain: true });
const str: Property = { type: "string" };
const num: Property = { type: "number" };
const bool: Property = { type: "boolean" };
const inputList: Property = { type: "array", items: str }; // Input<Input<string>[]>
const listOfInputs: Property = plain(inputList); // Input<string>[]: its length decides resources
const plainList = (item: Property): Property => plain({ type: "array", items: plain(item) });
const plainMap = (value: Property): Property =>
  plain({ type: "object", additionalProperties: plain(value) });

/** The enum type of a setting whose values are a closed list. */
const SETTING_ENUMS: Partial<Record<SettingKey, string>> = {
  checkProtocol: "CheckProtocol",
  action: "CheckAction",
  logLevel: "LogLevel",
  metricsFormat: "MetricsFormat",
};

/** A checker setting's type, by its shape in the option table (text unless said otherwise). */
function settingType(key: SettingKey): Property {
  const enumName = SETTING_ENUMS[key];
  if (enumName) return plain(ref(enumName));
  switch (optionSpec(key).shape) {
    case "number":
      return plain(num);
    case "list":
      return plainList(str);
    case "json":
      return plainMap(ref("ServiceOverride"));
    default:
      return plain(str);
  }
}

interface Expected {
  readonly type: Property;
  readonly required?: true;
}

// Every arg of the component that is not a checker setting: the compiler holds this table to
// the args interface, so an arg added there must be added here, and the schema must carry it.
const COMPONENT_ARGS: Record<Exclude<keyof CloudMapHealthCheckerArgs, SettingKey>, Expected> = {
  namespaceId: { type: str, required: true },
  subnetIds: { type: inputList, required: true },
  vpcId: { type: str, required: true },
  ecsClusterArns: { type: inputList, required: true },
  securityGroupIds: { type: inputList },
  targetSecurityGroupIds: { type: listOfInputs },
  targetPorts: { type: plainList(num) },
  clusterArn: { type: str },
  image: { type: str },
  stateTableName: { type: str },
  cpu: { type: plain(num) },
  memory: { type: plain(num) },
  architecture: { type: plain(ref("Architecture")) },
  logRetentionInDays: { type: plain(num) },
  assignPublicIp: { type: plain(bool) },
  desiredCount: { type: plain(num) },
  statusPort: { type: plain(num) },
  tags: { type: plainMap(str) },
  alarms: { type: plain(bool) },
  alarmTopicArn: { type: str },
  alarmActions: { type: inputList },
  dashboard: { type: plain(bool) },
};

const SETTINGS = Object.fromEntries(
  SETTING_KEYS.map((key) => [key, { type: settingType(key) }]),
) as Record<SettingKey, Expected>;

const INPUTS: Record<keyof CloudMapHealthCheckerArgs, Expected> = {
  ...COMPONENT_ARGS,
  ...SETTINGS,
};

const OUTPUTS: Record<string, Property> = {
  serviceArn: str,
  taskRoleArn: str,
  executionRoleArn: str,
  securityGroupId: str,
  logGroupName: str,
  clusterArn: str,
  stateTableName: str,
  imageUri: str,
  dashboardName: { ...str, optional: true },
  alarmArns: { type: "object", additionalProperties: str },
};

const ENUMS: Record<string, Record<string, string>> = {
  Architecture,
  CheckAction,
  CheckProtocol,
  LogLevel,
  MetricsFormat,
};

// The TSDoc's `@default` of a property in one interface of components/args.ts.
const ARGS_SOURCE = readFileSync(path.join(ROOT, "components", "args.ts"), "utf8");
function section(name: string): string {
  const from = ARGS_SOURCE.indexOf(`export interface ${name}`);
  assert.ok(from >= 0, `args.ts has no interface ${name}`);
  const end = ARGS_SOURCE.indexOf("\n}\n", from);
  return ARGS_SOURCE.slice(from, end);
}
function defaultTag(interfaceName: string, key: string): string | undefined {
  const m = new RegExp(`@default ([^*]+?)\\s*\\*/\\s*readonly ${key}\\??:`).exec(
    section(interfaceName),
  );
  return m?.[1]?.trim();
}

/** `@default "10s"` as a description says it: Default: `10s` (literals in backticks). */
function asDescribed(tag: string): string {
  return tag.replace(/"([^"]*)"/g, "`$1`").replace(/^(-?\d+(?:\.\d+)?|true|false)\b/, "`$1`");
}

/** A description's text and its final "Default: ..." paragraph, if any. */
function split(description: string | undefined): { text: string; default?: string } {
  assert.ok(description, "no description");
  const [text, def, ...more] = description.split("\n\nDefault: ");
  assert.equal(more.length, 0, `more than one Default: ${description}`);
  assert.ok(text && text.trim().length > 0, `no text before the default: ${description}`);
  assert.ok(!/@default|\[object/.test(description), `tags or links leaked: ${description}`);
  return def === undefined ? { text: text } : { text: text, default: def };
}

/** Drops the description, to compare the rest of a property definition. */
function shape(p: Property): Property {
  const { description, ...rest } = p;
  void description;
  return rest;
}

describe("the package schema Pulumi infers for other languages (pulumi package add)", function () {
  this.timeout(180_000);
  let analyzed: Promise<Schema>;
  let components: string[];
  let provider: ComponentProvider;

  before(async () => {
    // As the plugin host (@pulumi/pulumi cmd/run-plugin): load the package's main module, take
    // its exported components, name the provider after package.json, and ask for the schema.
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      name: string;
    };
    const name = /(@.*?\/)?(.+)/.exec(pkg.name)![2]!.replace(/[^-a-zA-Z0-9_]/g, "-");
    assert.equal(name, PACKAGE);
    const main: unknown = await import(ROOT);
    const found = getPulumiComponents(main);
    components = found.map((c) => c.name);
    provider = new ComponentProvider({ components: found, dirname: ROOT, name });
    analyzed = provider.getSchema().then((text) => JSON.parse(text) as Schema);
    analyzed.catch(() => undefined); // reported by the first test
  });

  async function component() {
    const schema = await analyzed;
    return schema.resources[TOKEN]!;
  }

  it("serves CloudMapHealthChecker alone, and the analyzer accepts its args", async () => {
    assert.deepEqual(components, ["CloudMapHealthChecker"]);
    assert.ok(
      existsPulumiPlugin(),
      "PulumiPlugin.yaml at the package root, runtime nodejs, tells Pulumi how to run it",
    );
    let schema: Schema;
    try {
      schema = await analyzed;
    } catch (err) {
      assert.fail(`Pulumi's analyzer rejects the package: ${(err as Error).message}`);
    }
    assert.equal(schema.name, PACKAGE);
    assert.deepEqual(Object.keys(schema.resources), [TOKEN]);
    assert.equal(TYPE_TOKEN, TOKEN, "the component registers under the schema's token");
    assert.ok(schema.resources[TOKEN]!.isComponent);
    assert.ok(schema.resources[TOKEN]!.description?.startsWith("A custom health checker"));
  });

  it("has every component arg and checker setting as an input, and nothing else", async () => {
    const c = await component();
    assert.deepEqual(Object.keys(c.inputProperties).sort(), Object.keys(INPUTS).sort());
    // Every checker setting of the option table, except what the component sets itself.
    assert.deepEqual(
      OPTIONS.filter((o) => !("deployment" in o) && !(o.key in c.inputProperties)),
      [],
    );
  });

  it("gives each input its type, Input or plain, required or optional", async () => {
    const c = await component();
    for (const [key, want] of Object.entries(INPUTS)) {
      const expected = want.required ? want.type : { ...want.type, optional: true };
      assert.deepEqual(shape(c.inputProperties[key]!), expected, key);
    }
    assert.deepEqual(
      c.requiredInputs,
      Object.keys(INPUTS)
        .filter((k) => INPUTS[k as keyof typeof INPUTS].required)
        .sort(),
    );
    // Settings stay plain: the component validates them at construction (pulumi preview).
    for (const key of SETTING_KEYS) assert.equal(c.inputProperties[key]!.plain, true, key);
    // `concurrency` is text ("auto" or "128"): the analyzer takes no number | "auto".
    assert.deepEqual(shape(c.inputProperties["concurrency"]!), plain({ ...str, optional: true }));
  });

  it("describes each input from its TSDoc, with the default the checker and the component apply", async () => {
    const c = await component();
    assert.equal(
      c.inputProperties["namespaceId"]!.description,
      "The Cloud Map namespace to guard (its ID, `ns-...`).",
    );
    for (const [key, want] of Object.entries(INPUTS)) {
      const { default: stated } = split(c.inputProperties[key]!.description);
      const iface = (SETTING_KEYS as readonly string[]).includes(key)
        ? "CheckerSettings"
        : "CloudMapHealthCheckerArgs";
      const tag = defaultTag(iface, key);
      if (want.required) {
        assert.equal(stated, undefined, `${key} is required: no default`);
        assert.equal(tag, undefined, `${key} is required: no @default`);
        continue;
      }
      assert.ok(stated, `${key}: the description states no default`);
      assert.ok(tag, `${key}: no @default in args.ts`);
      assert.equal(stated, asDescribed(tag), `${key}: the description and @default differ`);
    }
    // Where the default is a value, it is the checker's (option table) or the component's own.
    for (const key of SETTING_KEYS) {
      const def = optionSpec(key).default;
      if (def === undefined) continue;
      assert.equal(split(c.inputProperties[key]!.description).default, `\`${def}\``, key);
    }
    for (const [key, value] of Object.entries(ARG_DEFAULTS)) {
      assert.equal(split(c.inputProperties[key]!.description).default, `\`${value}\``, key);
    }
  });

  it("has an enum for each closed list of values, holding what the checker accepts", async () => {
    const schema = await analyzed;
    const names = Object.keys(schema.types).map((t) => t.replace(`${PACKAGE}:index:`, ""));
    assert.deepEqual(names.sort(), [...Object.keys(ENUMS), "ServiceOverride"].sort());
    for (const [name, members] of Object.entries(ENUMS)) {
      const t = schema.types[`${PACKAGE}:index:${name}`]!;
      assert.equal(t.type, "string", name);
      assert.deepEqual(
        t.enum,
        Object.entries(members).map(([member, value]) => ({ name: member, value })),
        name,
      );
    }
    // The option table's own list where it spells one, and the checker's parser accepts each.
    assert.deepEqual(
      Object.values(CheckProtocol),
      optionSpec("checkProtocol").valueName.split("|"),
    );
    assert.deepEqual(Object.values(CheckAction), optionSpec("action").valueName.split("|"));
    const accepts = (key: SettingKey, value: string): boolean => {
      try {
        parseConfig({ flags: { namespace: "ns-schema", [key]: value } });
        return true;
      } catch (err) {
        if (err instanceof ConfigError) return false;
        throw err;
      }
    };
    for (const [key, name] of Object.entries(SETTING_ENUMS)) {
      for (const value of Object.values(ENUMS[name]!)) {
        assert.ok(accepts(key as SettingKey, value), `${key}: ${value}`);
      }
      assert.ok(!accepts(key as SettingKey, "no-such-value"), key);
    }
    assert.deepEqual(Object.values(Architecture), ["ARM64", "X86_64"]);
  });

  it("types serviceOverrides as a map of ServiceOverride, with every override key", async () => {
    const schema = await analyzed;
    const t = schema.types[`${PACKAGE}:index:ServiceOverride`]!;
    assert.equal(t.type, "object");
    const props = t.properties!;
    assert.deepEqual(Object.keys(props).sort(), [...OVERRIDE_KEYS].sort());
    for (const key of OVERRIDE_KEYS) {
      assert.deepEqual(shape(props[key]!), { ...settingType(key), optional: true }, key);
      const { default: stated } = split(props[key]!.description);
      assert.equal(stated, `the component's \`${key}\``, key);
      assert.equal(defaultTag("ServiceOverride", key), `the component's \`${key}\``, key);
    }
  });

  it("has the component's outputs with their types and descriptions", async () => {
    const c = await component();
    assert.deepEqual(Object.keys(c.properties).sort(), Object.keys(OUTPUTS).sort());
    for (const [key, want] of Object.entries(OUTPUTS)) {
      assert.deepEqual(shape(c.properties[key]!), want, key);
      split(c.properties[key]!.description);
    }
    assert.deepEqual(
      c.required,
      Object.keys(OUTPUTS)
        .filter((k) => !OUTPUTS[k]!.optional)
        .sort(),
    );
  });

  // What another language's SDK sends: plain values where the schema says plain, and outputs
  // (of other resources) where it takes an Input, a whole list among them.
  it("is constructed by the plugin host from what another language sends", async () => {
    const cluster = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;
    const pager = `arn:aws:sns:${REGION}:${ACCOUNT}:pager`;
    const inputs = {
      namespaceId: pulumi.output("ns-schema"),
      vpcId: pulumi.output("vpc-1"),
      subnetIds: pulumi.output(["subnet-a", "subnet-b"]),
      ecsClusterArns: pulumi.output([cluster]),
      targetSecurityGroupIds: [pulumi.output("sg-app")],
      targetPorts: [8080],
      securityGroupIds: pulumi.output(["sg-extra"]),
      alarmActions: pulumi.output([pager]),
      image: "public.ecr.aws/example/checker:1",
      concurrency: "64",
      action: "observe",
    };
    const built = await provider.construct("schema-c", TOKEN, inputs, {});
    assert.deepEqual(Object.keys(built.state ?? {}).sort(), Object.keys(OUTPUTS).sort());
    const serviceArn = (built.state as Record<string, pulumi.Output<string>>)["serviceArn"]!;
    assert.match(await valueOf(serviceArn), /:service\/cluster\/schema-c-service$/);
    await settle();
    const of = (type: string) => childrenOf("schema-c").filter((r) => r.type === type);
    const rules = of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    assert.deepEqual(
      rules.map((r) => [r.inputs["securityGroupId"], r.inputs["fromPort"]]),
      [["sg-app", 8080]],
    );
    const service = of("aws:ecs/service:Service")[0]!;
    const network = service.inputs["networkConfiguration"] as Record<string, unknown>;
    assert.deepEqual(network["securityGroups"], ["schema-c-sg-id", "sg-extra"]);
    const alarms = of("aws:cloudwatch/metricAlarm:MetricAlarm");
    assert.equal(alarms.length, 4);
    for (const a of alarms) assert.deepEqual(a.inputs["alarmActions"], [pager]);
    const policy = String(
      of("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "schema-c-task")!.inputs["policy"],
    );
    assert.ok(policy.includes(`task/prod/*`), "ecs:DescribeTasks on the listed cluster");
    const def = of("aws:ecs/taskDefinition:TaskDefinition")[0]!;
    const [container] = JSON.parse(String(def.inputs["containerDefinitions"])) as Array<{
      environment: Array<{ name: string; value: string }>;
    }>;
    const env = Object.fromEntries(container!.environment.map((e) => [e.name, e.value]));
    assert.equal(env["CMHC_CONCURRENCY"], "64");
    assert.equal(env["CMHC_ACTION"], "observe");
    assert.equal(env["CMHC_NAMESPACE"], "ns-schema");
  });

  it("refuses a bad setting when constructed, naming the arg (so at pulumi preview)", async () => {
    await assert.rejects(
      provider.construct(
        "schema-bad",
        TOKEN,
        {
          namespaceId: "ns-1",
          vpcId: "vpc-1",
          subnetIds: ["s"],
          ecsClusterArns: ["c"],
          concurrency: "many",
        },
        {},
      ),
      /`concurrency`/,
    );
  });
});

function existsPulumiPlugin(): boolean {
  try {
    return /^runtime: nodejs$/m.test(readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8"));
  } catch {
    return false;
  }
}
