// The verify experiment's stack under pulumi.runtime.setMocks: both services' Service Connect
// configuration, the task definitions' commands, the execution role scoped to the experiment, no
// public IP, a day of logs, tags naming the experiment.

import { strict as assert } from "node:assert";
import {
  ACCOUNT,
  childrenOf,
  installPulumiMocks,
  REGION,
  settle,
  valueOf,
  type MockResource,
} from "./support/pulumi-mocks";

installPulumiMocks();

type Components = typeof import("../components/verify-experiment");

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: string | string[];
}

const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;

describe("VerifyExperiment component (mocks)", function () {
  this.timeout(30_000);
  let lib: Components;
  let counter = 0;

  before(async () => {
    lib = await import("../components/verify-experiment");
  });

  async function make(image?: string) {
    const name = `verify${++counter}`;
    const e = new lib.VerifyExperiment(name, {
      experimentId: `run${counter}`,
      namespace: "prod.local",
      clusterArn: CLUSTER,
      vpcId: "vpc-1",
      subnetIds: ["subnet-a", "subnet-b"],
      securityGroupIds: ["sg-endpoints"],
      ...(image ? { image } : {}),
    });
    await valueOf(e.clientServiceName);
    await settle();
    const children = childrenOf(name);
    const all = (type: string): MockResource[] => children.filter((r) => r.type === type);
    const one = (type: string, suffix: string): MockResource => {
      const found = children.filter((r) => r.type === type && r.name === `${name}-${suffix}`);
      assert.equal(found.length, 1, `expected one ${type} ${suffix}`);
      return found[0]!;
    };
    return { e, name, all, one, id: `run${counter}` };
  }

  const containerOf = (td: MockResource): Record<string, unknown> =>
    (JSON.parse(td.inputs["containerDefinitions"] as string) as Array<Record<string, unknown>>)[0]!;

  it("runs 2 echo tasks with a Service Connect server config, and 1 client with a client config", async () => {
    const { one, id, e } = await make("123456789012.dkr.ecr.eu-west-1.amazonaws.com/cmhc:1");
    const discovery = `cmhc-verify-${id}`;
    assert.equal(e.discoveryName, discovery);
    const echo = one("aws:ecs/service:Service", "echo").inputs;
    assert.equal(echo["desiredCount"], 2);
    assert.deepEqual(echo["serviceConnectConfiguration"], {
      enabled: true,
      namespace: "prod.local",
      services: [
        {
          portName: "echo",
          discoveryName: discovery,
          clientAlias: [{ port: 8080, dnsName: discovery }],
        },
      ],
    });
    const client = one("aws:ecs/service:Service", "client").inputs;
    assert.equal(client["desiredCount"], 1);
    assert.deepEqual(client["serviceConnectConfiguration"], {
      enabled: true,
      namespace: "prod.local",
    });
    for (const s of [echo, client]) {
      const net = s["networkConfiguration"] as Record<string, unknown>;
      assert.equal(net["assignPublicIp"], false, "no public IP");
      assert.deepEqual(net["subnets"], ["subnet-a", "subnet-b"]);
      assert.equal((net["securityGroups"] as string[]).length, 2);
      assert.ok((net["securityGroups"] as string[]).includes("sg-endpoints"));
      assert.equal(s["launchType"], "FARGATE");
      assert.equal(s["cluster"], CLUSTER);
    }
  });

  it("runs the checker image in its verify modes, with the echo port named for Service Connect", async () => {
    const image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cmhc:1";
    const { one, id } = await make(image);
    const echo = containerOf(one("aws:ecs/taskDefinition:TaskDefinition", "echo"));
    assert.equal(echo["image"], image);
    assert.deepEqual(echo["command"], ["verify-echo", "--port", "8080"]);
    assert.deepEqual(echo["portMappings"], [
      { name: "echo", containerPort: 8080, protocol: "tcp", appProtocol: "http" },
    ]);
    const client = containerOf(one("aws:ecs/taskDefinition:TaskDefinition", "client"));
    assert.deepEqual(client["command"], [
      "verify-client",
      "--url",
      `http://cmhc-verify-${id}:8080/`,
      "--rate",
      "20",
    ]);
    for (const c of [echo, client]) {
      assert.equal(c["user"], "1000:1000");
      assert.equal(c["readonlyRootFilesystem"], true);
      assert.equal((c["logConfiguration"] as { logDriver: string }).logDriver, "awslogs");
    }
    const td = one("aws:ecs/taskDefinition:TaskDefinition", "echo").inputs;
    assert.equal(td["taskRoleArn"], undefined, "no task role: the experiment calls no AWS API");
  });

  it("scopes the execution role to the experiment's logs and image, keeps logs a day, tags everything", async () => {
    const { one, all, name, id } = await make(
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cmhc:1",
    );
    const policy = JSON.parse(
      one("aws:iam/rolePolicy:RolePolicy", "execution").inputs["policy"] as string,
    ) as {
      Statement: Statement[];
    };
    const logs = policy.Statement.find((s) => s.Sid === "Logs")!;
    assert.deepEqual(logs.Action, ["logs:CreateLogStream", "logs:PutLogEvents"]);
    assert.match(String(logs.Resource), new RegExp(`${name}-logs:\\*$`));
    const pull = policy.Statement.find((s) => s.Sid === "EcrPull")!;
    assert.equal(pull.Resource, `arn:aws:ecr:eu-west-1:123456789012:repository/cmhc`);
    for (const s of policy.Statement) {
      for (const a of [s.Action].flat()) assert.ok(!a.includes("*"), `no wildcard action: ${a}`);
    }
    assert.equal(all("aws:iam/role:Role").length, 1, "one role: execution only");
    assert.equal(one("aws:cloudwatch/logGroup:LogGroup", "logs").inputs["retentionInDays"], 1);
    const tagged = [
      "aws:cloudwatch/logGroup:LogGroup",
      "aws:iam/role:Role",
      "aws:ec2/securityGroup:SecurityGroup",
      "aws:ecs/taskDefinition:TaskDefinition",
      "aws:ecs/service:Service",
    ].flatMap(all);
    for (const r of tagged) {
      assert.equal((r.inputs["tags"] as Record<string, string>)["cmhc:experiment"], id, r.name);
    }
    const ingress = one(
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      "echo-in",
    ).inputs;
    assert.equal(ingress["fromPort"], 8080);
    assert.equal(ingress["toPort"], 8080);
    assert.ok(ingress["referencedSecurityGroupId"], "only from the experiment's own group");
  });

  it("refuses a bad experiment ID or rate, naming the arg", async () => {
    assert.throws(
      () =>
        new lib.VerifyExperiment("bad", {
          experimentId: "Has Spaces",
          namespace: "n",
          clusterArn: CLUSTER,
          vpcId: "vpc-1",
          subnetIds: ["s"],
        }),
      /experimentId: expected 1-40 of a-z, 0-9 and -/,
    );
    assert.throws(
      () =>
        new lib.VerifyExperiment("bad2", {
          experimentId: "ok",
          namespace: "n",
          clusterArn: CLUSTER,
          vpcId: "vpc-1",
          subnetIds: ["s"],
          rate: 0,
        }),
      /rate: expected an integer from 1 to 1000/,
    );
  });
});
