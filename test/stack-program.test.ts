// The `pulumi up` program, fed from stack config with setAllConfig (same process-wide mocks as
// the component tests).

import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "../checker/config";
import {
  ACCOUNT,
  childrenOf,
  installPulumiMocks,
  REGION,
  settle,
  valueOf,
} from "./support/pulumi-mocks";

installPulumiMocks();

const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;
const ns = (key: string): string => `cloudmap-health-checker:${key}`;

function setConfig(values: Record<string, unknown>): void {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        ns(k),
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    ),
  );
}

describe("stack program (mocks + setAllConfig)", function () {
  this.timeout(30_000);
  const required = {
    namespaceId: "ns-prog",
    vpcId: "vpc-9",
    subnetIds: ["subnet-1", "subnet-2"],
    ecsClusterArns: [CLUSTER],
    image: "public.ecr.aws/example/checker:2",
  };

  it("creates one checker from structured stack config and exports its outputs", async () => {
    setConfig({
      ...required,
      name: "prog",
      interval: "5s",
      unhealthyThreshold: 2,
      services: ["api"],
      serviceOverrides: { api: { checkPath: "/ready" } },
      targetSecurityGroupIds: ["sg-app"],
      targetPorts: [8080],
      tags: { env: "prod" },
      assignPublicIp: false,
    });
    const program = await import("../programs/index");
    await valueOf(program.serviceArn);
    await settle();
    const children = childrenOf("prog");
    assert.equal(children.filter((r) => r.type === "aws:ecs/service:Service").length, 1);
    assert.equal(
      children.filter((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        .length,
      1,
    );
    const td = children.find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition")!;
    const container = (
      JSON.parse(String(td.inputs["containerDefinitions"])) as Array<{
        environment: Array<{ name: string; value: string }>;
      }>
    )[0]!;
    const env = Object.fromEntries(container.environment.map((e) => [e.name, e.value]));
    const parsed = parseConfig({ env });
    assert.equal(parsed.namespace, "ns-prog");
    assert.equal(parsed.intervalMs, 5000);
    assert.equal(parsed.defaults.policy.unhealthyThreshold, 2);
    assert.deepEqual(parsed.services, ["api"]);
    assert.equal(parsed.overrides.get("api")?.check.path, "/ready");
    for (const out of [
      program.serviceArn,
      program.taskRoleArn,
      program.securityGroupId,
      program.logGroupName,
      program.clusterArn,
      program.stateTableName,
      program.imageUri,
      program.dashboardName,
    ]) {
      assert.ok(await valueOf(out), "every output resolves");
    }
    assert.deepEqual(Object.keys(await valueOf(program.alarmArns)).sort(), [
      "degraded",
      "noCycle",
      "outOfRotation",
      "replacementsHeld",
    ]);
  });

  it("passes the dashboard and alarm settings from stack config to the component", async () => {
    const { createStack } = await import("../programs/stack");
    const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:ops`;
    const pager = `arn:aws:sns:${REGION}:${ACCOUNT}:pager`;
    setConfig({
      ...required,
      name: "monitored",
      alarmTopicArn: topic,
      alarmActions: [pager],
      dashboard: false,
    });
    const monitored = createStack();
    await valueOf(monitored.alarmArns);
    await settle();
    const alarms = childrenOf("monitored").filter(
      (r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm",
    );
    assert.equal(alarms.length, 4);
    for (const a of alarms) {
      assert.deepEqual(a.inputs["alarmActions"], [topic, pager]);
      assert.deepEqual(a.inputs["okActions"], [topic]);
    }
    assert.equal(await valueOf(monitored.dashboardName), undefined);
    assert.equal(
      childrenOf("monitored").filter((r) => r.type === "aws:cloudwatch/dashboard:Dashboard").length,
      0,
    );

    setConfig({ ...required, name: "quiet", alarms: false });
    const quiet = createStack();
    assert.deepEqual(await valueOf(quiet.alarmArns), {});
    await settle();
    const kinds = childrenOf("quiet").map((r) => r.type);
    assert.ok(!kinds.includes("aws:cloudwatch/metricAlarm:MetricAlarm"));
    assert.ok(kinds.includes("aws:cloudwatch/dashboard:Dashboard"));

    setConfig({ ...required, name: "refused", alarms: false, alarmTopicArn: topic });
    assert.throws(() => createStack(), /`alarmTopicArn` is given, but `alarms` is false/);
  });

  it("runs the rollout's inline program from the same stack config", async () => {
    setConfig({ ...required, name: "inline" });
    const { inlineProgram } = await import("../programs/rollout/execute");
    const outputs = await inlineProgram();
    for (const [key, out] of Object.entries(outputs)) {
      assert.ok(await valueOf(out as pulumi.Output<string>), `${key} resolves`);
    }
    assert.match(
      await valueOf(outputs["dashboardName"] as pulumi.Output<string>),
      /^cmhc-inline-ns-prog$/,
    );
    const arns = await valueOf(outputs["alarmArns"] as pulumi.Output<Record<string, string>>);
    assert.equal(Object.keys(arns).length, 4);
    await settle();
    assert.equal(
      childrenOf("inline").filter((r) => r.type === "aws:ecs/service:Service").length,
      1,
    );
    assert.equal(outputs["rolloutFingerprint"], undefined, "no fingerprint unless given one");
  });

  it("exports the rollout's fingerprint once the checker is in place", async () => {
    setConfig({ ...required, name: "printed" });
    const { inlineProgram } = await import("../programs/rollout/execute");
    const outputs = await inlineProgram("f".repeat(64));
    assert.equal(
      await valueOf(outputs["rolloutFingerprint"] as pulumi.Output<string>),
      "f".repeat(64),
    );
    await settle();
  });

  it("refuses an architecture Fargate does not know before anything is deployed", async () => {
    const { createStack } = await import("../programs/stack");
    setConfig({ ...required, name: "arch", architecture: "arm64" });
    assert.throws(() => createStack(), /`architecture`: "arm64" is not a Fargate CPU architecture/);
  });

  it("fails with Pulumi's clear error when required config is missing", async () => {
    const { createStack } = await import("../programs/stack");
    setConfig({ vpcId: "vpc-9", subnetIds: ["subnet-1"], ecsClusterArns: [CLUSTER] });
    assert.throws(() => createStack(), /cloudmap-health-checker:namespaceId/);
  });
});
