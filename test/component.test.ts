// The Pulumi component under pulumi.runtime.setMocks: offline, no CLI, no plugins.

import { strict as assert } from "node:assert";
import { OPTIONS, parseConfig } from "../checker/config";
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

type Components = typeof import("../components");
type Args = import("../components").CloudMapHealthCheckerArgs;

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;
const BASE: Args = {
  namespaceId: "ns-abc123",
  vpcId: "vpc-1",
  subnetIds: ["subnet-a", "subnet-b"],
  ecsClusterArns: [CLUSTER],
  image: "public.ecr.aws/example/cloudmap-health-checker:1.0.0",
};

describe("CloudMapHealthChecker component (mocks)", function () {
  this.timeout(30_000);
  let lib: Components;
  let counter = 0;

  before(async () => {
    lib = await import("../components");
  });

  /** Creates a component with a unique name and returns it with its children. */
  async function make(extra: Partial<Args> = {}) {
    const name = `c${++counter}`;
    const checker = new lib.CloudMapHealthChecker(name, { ...BASE, ...extra });
    await valueOf(checker.serviceArn);
    await settle();
    const children = childrenOf(name);
    const one = (type: string, suffix?: string): MockResource => {
      const found = children.filter(
        (r) => r.type === type && (!suffix || r.name === `${name}-${suffix}`),
      );
      assert.equal(found.length, 1, `expected one ${type} ${suffix ?? ""}, got ${found.length}`);
      return found[0]!;
    };
    const container = (): Record<string, unknown> =>
      (
        JSON.parse(
          String(one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"]),
        ) as Array<Record<string, unknown>>
      )[0]!;
    const policy = (suffix: string): Statement[] =>
      (
        JSON.parse(String(one("aws:iam/rolePolicy:RolePolicy", suffix).inputs["policy"])) as {
          Statement: Statement[];
        }
      ).Statement;
    const env = (): Record<string, string> =>
      Object.fromEntries(
        (container()["environment"] as Array<{ name: string; value: string }>).map((e) => [
          e.name,
          e.value,
        ]),
      );
    return { name, checker, children, one, container, policy, env };
  }

  it("creates the documented resource set, each child once", async () => {
    const c = await make();
    const counts: Record<string, number> = {};
    for (const r of c.children) counts[r.type] = (counts[r.type] ?? 0) + 1;
    assert.deepEqual(counts, {
      "aws:cloudwatch/logGroup:LogGroup": 1,
      "aws:cloudwatch/dashboard:Dashboard": 1,
      "aws:cloudwatch/metricAlarm:MetricAlarm": 4,
      "aws:dynamodb/table:Table": 1,
      "aws:iam/role:Role": 2,
      "aws:iam/rolePolicy:RolePolicy": 2,
      "aws:ec2/securityGroup:SecurityGroup": 1,
      "aws:ecs/cluster:Cluster": 1,
      "aws:ecs/taskDefinition:TaskDefinition": 1,
      "aws:ecs/service:Service": 1,
    });
    assert.match(await valueOf(c.checker.serviceArn), /^arn:aws:ecs:/);
    assert.ok(await valueOf(c.checker.taskRoleArn));
    assert.ok(await valueOf(c.checker.securityGroupId));
    assert.ok(await valueOf(c.checker.logGroupName));
  });

  it("uses safe, cheap defaults", async () => {
    const c = await make({ tags: { team: "platform" } });
    const service = c.one("aws:ecs/service:Service").inputs;
    const net = service["networkConfiguration"] as Record<string, unknown>;
    assert.equal(net["assignPublicIp"], false);
    assert.deepEqual(net["subnets"], ["subnet-a", "subnet-b"]);
    assert.equal((net["securityGroups"] as string[]).length, 1);
    assert.equal(service["desiredCount"], 1);
    assert.equal(service["launchType"], "FARGATE");
    assert.equal(service["deploymentMinimumHealthyPercent"], 0);
    assert.equal(service["deploymentMaximumPercent"], 100);
    assert.deepEqual(service["deploymentCircuitBreaker"], { enable: true, rollback: true });

    const td = c.one("aws:ecs/taskDefinition:TaskDefinition").inputs;
    assert.deepEqual(td["runtimePlatform"], {
      cpuArchitecture: "ARM64",
      operatingSystemFamily: "LINUX",
    });
    assert.equal(td["cpu"], "256");
    assert.equal(td["memory"], "512");
    assert.equal(td["networkMode"], "awsvpc");
    assert.deepEqual(td["requiresCompatibilities"], ["FARGATE"]);

    const container = c.container();
    assert.equal(container["user"], "1000:1000", "non-root");
    assert.equal(container["readonlyRootFilesystem"], true);
    assert.deepEqual((container["healthCheck"] as { command: string[] }).command, [
      "CMD",
      "/nodejs/bin/node",
      "/app/dist/checker/healthcheck.js",
    ]);
    assert.equal(container["image"], BASE.image);
    const logs = (container["logConfiguration"] as { options: Record<string, string> }).options;
    assert.equal(logs["awslogs-region"], REGION);

    assert.equal(c.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"], 30);
    const sg = c.one("aws:ec2/securityGroup:SecurityGroup").inputs;
    assert.equal(sg["vpcId"], "vpc-1");
    assert.equal(sg["ingress"], undefined, "egress only");
    assert.equal((sg["egress"] as unknown[]).length, 1);
    assert.equal(
      c.children.filter(
        (r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      ).length,
      0,
    );

    const table = c.one("aws:dynamodb/table:Table").inputs;
    assert.equal(table["billingMode"], "PAY_PER_REQUEST");
    assert.equal(table["hashKey"], "pk");
    assert.equal(table["rangeKey"], "sk");
    assert.deepEqual(table["ttl"], { attributeName: "expiresAt", enabled: true });
    // Inline role policies and dashboards are the child types without tags.
    const untagged = ["aws:iam/rolePolicy:RolePolicy", "aws:cloudwatch/dashboard:Dashboard"];
    for (const r of c.children.filter((x) => !untagged.includes(x.type))) {
      assert.equal(
        (r.inputs["tags"] as Record<string, string> | undefined)?.["team"],
        "platform",
        `${r.type} is tagged`,
      );
    }
  });

  it("grants the task role only what the checker calls, scoped to this account, Region, clusters and table", async () => {
    const c = await make({ replaceAfter: "off", checkProtocol: "http" });
    const statements = c.policy("task");
    const sd = `arn:aws:servicediscovery:${REGION}:${ACCOUNT}`;
    const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${c.name}-state`;
    const grants = statements.flatMap((s) =>
      ([] as string[])
        .concat(s.Action)
        .map((a) => [a, ([] as string[]).concat(s.Resource).join(" ")]),
    );
    assert.deepEqual(Object.fromEntries(grants), {
      "servicediscovery:ListServices": "*",
      "servicediscovery:ListNamespaces": "*",
      "servicediscovery:GetNamespace": "*",
      "servicediscovery:GetService": `${sd}:service/*`,
      "servicediscovery:ListInstances": `${sd}:service/*`,
      "servicediscovery:GetInstance": `${sd}:service/*`,
      "servicediscovery:GetInstancesHealthStatus": `${sd}:service/*`,
      "servicediscovery:RegisterInstance": `${sd}:service/*`,
      "servicediscovery:DeregisterInstance": `${sd}:service/*`,
      "servicediscovery:UpdateInstanceCustomHealthStatus": `${sd}:service/*`,
      "servicediscovery:DiscoverInstances": `${sd}:namespace/ns-abc123 ${sd}:service/*`,
      "servicediscovery:DiscoverInstancesRevision": `${sd}:namespace/ns-abc123 ${sd}:service/*`,
      "servicediscovery:GetOperation": `${sd}:namespace/ns-abc123`,
      "ecs:ListTasks": "*",
      "ecs:DescribeTasks": `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/*`,
      "dynamodb:GetItem": table,
      "dynamodb:PutItem": table,
      "dynamodb:UpdateItem": table,
      "dynamodb:DeleteItem": table,
      "dynamodb:Query": table,
      "dynamodb:ConditionCheckItem": table,
    });
    assert.equal(
      grants.length,
      Object.keys(Object.fromEntries(grants)).length,
      "no action granted twice",
    );
    const describe = statements.find((s) => s.Sid === "EcsDescribeTasks")!;
    assert.deepEqual(describe.Condition, { ArnEquals: { "ecs:cluster": [CLUSTER] } });
    const list = statements.find((s) => s.Sid === "EcsListTasks")!;
    assert.deepEqual(
      list.Condition,
      { ArnEquals: { "ecs:cluster": [CLUSTER] } },
      "ListTasks only in the given clusters",
    );
    for (const s of statements.filter((x) => x.Resource === "*")) {
      const unscoped = [
        "ecs:DescribeTaskDefinition",
        "servicediscovery:ListServices",
        "servicediscovery:ListNamespaces",
        "servicediscovery:GetNamespace",
      ];
      const ok =
        ([] as string[]).concat(s.Action).every((a) => unscoped.includes(a)) ||
        s.Condition !== undefined;
      assert.ok(
        ok,
        `${s.Sid}: a "*" resource only where AWS offers no scoping, or with a condition`,
      );
    }
    for (const [action] of grants) {
      assert.ok(!action!.includes("*"), `wildcard action ${action}`);
      assert.ok(!/:(Create|Delete)/.test(action!) || action === "dynamodb:DeleteItem", `${action}`);
      assert.notEqual(action, "iam:PassRole");
    }
    assert.ok(statements.every((s) => s.Effect === "Allow"));
  });

  it("grants DescribeTaskDefinition (which takes no resource scoping) only where a protocol is auto", async () => {
    const grantOf = (c: Awaited<ReturnType<typeof make>>) =>
      c.policy("task").find((s) => s.Sid === "EcsDescribeTaskDefinition");
    const byDefault = grantOf(await make());
    assert.deepEqual(byDefault?.Action, ["ecs:DescribeTaskDefinition"]);
    assert.equal(byDefault?.Resource, "*");
    assert.equal(grantOf(await make({ checkProtocol: "grpc" })), undefined);
    assert.ok(
      grantOf(
        await make({ checkProtocol: "http", serviceOverrides: { api: { checkProtocol: "auto" } } }),
      ),
      "auto for one service is auto",
    );
  });

  it("grants StopTask and DescribeServices on the given clusters unless replacement is off everywhere", async () => {
    const byDefault = await make();
    assert.ok(
      byDefault.policy("task").some((s) => s.Sid === "EcsReplaceTasks"),
      "replace-after auto replaces in Service Connect services",
    );
    assert.ok(
      !(await make({ replaceAfter: "off" }))
        .policy("task")
        .some((s) => s.Sid === "EcsReplaceTasks"),
    );
    const on = await make({ replaceAfter: "2m", replaceCooldown: "10m" });
    const statements = on.policy("task");
    const stop = statements.find((s) => s.Sid === "EcsReplaceTasks")!;
    assert.deepEqual(stop.Action, ["ecs:StopTask"]);
    assert.deepEqual(stop.Resource, [`arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/*`]);
    assert.deepEqual(stop.Condition, { ArnEquals: { "ecs:cluster": [CLUSTER] } });
    const describe = statements.find((s) => s.Sid === "EcsDescribeServices")!;
    assert.deepEqual(describe.Action, ["ecs:DescribeServices"]);
    assert.deepEqual(describe.Resource, [`arn:aws:ecs:${REGION}:${ACCOUNT}:service/prod/*`]);
    const parsed = parseConfig({ env: on.env() });
    assert.equal(parsed.defaults.policy.replaceAfterMs, 120_000);
    assert.equal(parsed.global.replaceCooldownMs, 600_000);
    const perService = await make({
      replaceAfter: "off",
      serviceOverrides: { api: { replaceAfter: "1m" } },
    });
    assert.ok(
      perService.policy("task").some((s) => s.Sid === "EcsReplaceTasks"),
      "on for one service is on",
    );
  });

  it("lets only ECS tasks of this account and Region assume its roles (confused-deputy guard)", async () => {
    const c = await make();
    for (const role of ["execution", "task"]) {
      const trust = JSON.parse(
        String(c.one("aws:iam/role:Role", role).inputs["assumeRolePolicy"]),
      ) as { Statement: Array<Record<string, unknown>> };
      assert.deepEqual(
        trust.Statement,
        [
          {
            Effect: "Allow",
            Principal: { Service: "ecs-tasks.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: {
              StringEquals: { "aws:SourceAccount": ACCOUNT },
              ArnLike: { "aws:SourceArn": `arn:aws:ecs:${REGION}:${ACCOUNT}:*` },
            },
          },
        ],
        `${role} role trust policy`,
      );
    }
  });

  it("scopes the state table grant to a given table, and creates none", async () => {
    const c = await make({ stateTableName: "shared-state" });
    assert.equal(c.children.filter((r) => r.type === "aws:dynamodb/table:Table").length, 0);
    const dynamo = c.policy("task").find((s) => s.Sid === "StateTable")!;
    assert.equal(dynamo.Resource, `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/shared-state`);
    assert.equal(c.env()["CMHC_STATE_TABLE"], "shared-state");
  });

  it("lets the execution role write its logs and pull only its own image", async () => {
    const c = await make({ image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/team/checker:1.2` });
    const byAction = Object.fromEntries(
      c
        .policy("execution")
        .flatMap((s) => ([] as string[]).concat(s.Action).map((a) => [a, s.Resource])),
    );
    assert.deepEqual(byAction, {
      "logs:CreateLogStream": `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:${c.name}-logs:*`,
      "logs:PutLogEvents": `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:${c.name}-logs:*`,
      "ecr:GetAuthorizationToken": "*",
      "ecr:BatchGetImage": `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/checker`,
      "ecr:GetDownloadUrlForLayer": `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/checker`,
      "ecr:BatchCheckLayerAvailability": `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/checker`,
    });
    const publicImage = await make();
    assert.deepEqual(
      publicImage.policy("execution").map((s) => s.Sid),
      ["Logs"],
      "a public image needs no ECR grant",
    );
  });

  it("builds and pushes the image to its own repository when none is given", async () => {
    const c = await make({ image: undefined, architecture: "X86_64" });
    const repo = c.one("aws:ecr/repository:Repository").inputs;
    assert.equal(repo["imageTagMutability"], "IMMUTABLE");
    const image = c.one("awsx:ecr:Image").inputs;
    assert.match(String(image["dockerfile"]), /checker\/Dockerfile$/);
    assert.equal(image["platform"], "linux/amd64");
    assert.match(String(c.container()["image"]), /@sha256:/);
    const pull = c.policy("execution").find((s) => s.Sid === "EcrPull")!;
    assert.equal(pull.Resource, `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${c.name}-repo`);
  });

  it("sets an environment the checker's own parser accepts, with the checker's defaults", async () => {
    const plain = await make();
    const env = plain.env();
    const known = new Set<string>(OPTIONS.map((o) => o.env));
    for (const key of Object.keys(env))
      assert.ok(known.has(key) || key === "NODE_OPTIONS", `${key} is not a checker variable`);
    // V8's heap capped at a quarter of the task's memory, so it collects before RSS grows.
    assert.equal(env["NODE_OPTIONS"], "--max-old-space-size=128 --max-semi-space-size=8");

    assert.equal(env["CMHC_NAMESPACE"], "ns-abc123");
    const parsed = parseConfig({ env });
    const defaults = parseConfig({
      flags: {
        namespace: "ns-abc123",
        stateTable: env["CMHC_STATE_TABLE"],
        listen: "0.0.0.0:9090",
      },
    });
    assert.deepEqual(parsed, defaults, "no setting given: the checker's defaults apply");

    const tuned = await make({
      checkProtocol: "https",
      checkPath: "/ready",
      checkPort: 8443,
      expectedStatus: "200-299",
      interval: "5s",
      timeout: "1s",
      unhealthyThreshold: 2,
      healthyThreshold: 3,
      action: "observe",
      maxUnhealthyPercent: 30,
      startupGrace: "2m",
      services: ["api", "web"],
      serviceOverrides: { web: { checkProtocol: "tcp", unhealthyThreshold: 5 } },
      logLevel: "debug",
      statusPort: 9191,
    });
    const c = parseConfig({ env: tuned.env() });
    assert.equal(c.intervalMs, 5000);
    assert.deepEqual(c.services, ["api", "web"]);
    assert.deepEqual(c.defaults.check, {
      protocol: "https",
      path: "/ready",
      port: 8443,
      expectedStatus: [{ min: 200, max: 299 }],
      timeoutMs: 1000,
      grpcService: "",
    });
    assert.deepEqual(c.defaults.policy, {
      unhealthyThreshold: 2,
      healthyThreshold: 3,
      startupGraceMs: 120_000,
      maxUnhealthyPercent: 30,
      action: "observe",
      replaceAfterMs: "auto",
    });
    assert.equal(c.overrides.get("web")?.check.protocol, "tcp");
    assert.equal(c.overrides.get("web")?.policy.unhealthyThreshold, 5);
    assert.deepEqual(c.listen, { host: "0.0.0.0", port: 9191 });
    assert.equal(c.logLevel, "debug");
    assert.deepEqual(
      (tuned.container()["portMappings"] as Array<{ containerPort: number }>).map(
        (p) => p.containerPort,
      ),
      [9191],
    );
  });

  it("opens the targets' groups to the checker's group on the checked ports, and only then", async () => {
    const c = await make({ targetSecurityGroupIds: ["sg-t1", "sg-t2"], targetPorts: [8080, 9000] });
    const rules = c.children.filter(
      (r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    );
    assert.equal(rules.length, 4);
    const own = await valueOf(c.checker.securityGroupId);
    assert.deepEqual(
      rules
        .map((r) => [
          r.inputs["securityGroupId"],
          r.inputs["fromPort"],
          r.inputs["toPort"],
          r.inputs["ipProtocol"],
        ])
        .sort(),
      [
        ["sg-t1", 8080, 8080, "tcp"],
        ["sg-t1", 9000, 9000, "tcp"],
        ["sg-t2", 8080, 8080, "tcp"],
        ["sg-t2", 9000, 9000, "tcp"],
      ],
    );
    for (const r of rules) assert.equal(r.inputs["referencedSecurityGroupId"], own);
  });

  it("runs in a given cluster, with extra groups, replicas, size and public IP when asked", async () => {
    const c = await make({
      clusterArn: CLUSTER,
      securityGroupIds: ["sg-extra"],
      desiredCount: 2,
      cpu: 512,
      memory: 1024,
      assignPublicIp: true,
      logRetentionInDays: 7,
    });
    assert.equal(c.children.filter((r) => r.type === "aws:ecs/cluster:Cluster").length, 0);
    const service = c.one("aws:ecs/service:Service").inputs;
    assert.equal(service["cluster"], CLUSTER);
    assert.equal(service["desiredCount"], 2);
    const net = service["networkConfiguration"] as {
      securityGroups: string[];
      assignPublicIp: boolean;
    };
    assert.equal(net.securityGroups.length, 2);
    assert.equal(net.securityGroups[1], "sg-extra");
    assert.equal(net.assignPublicIp, true);
    assert.equal(c.one("aws:ecs/taskDefinition:TaskDefinition").inputs["cpu"], "512");
    assert.equal(
      c.env()["NODE_OPTIONS"],
      "--max-old-space-size=256 --max-semi-space-size=16",
      "a quarter of 1024 MiB; a sixty-fourth for the young generation",
    );
    assert.equal(c.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"], 7);
  });

  it("refuses missing or conflicting args, naming each in backticks", () => {
    const attempt = (args: Partial<Args>): string => {
      try {
        new lib.CloudMapHealthChecker(`bad${++counter}`, { ...BASE, ...args } as Args);
      } catch (err) {
        return (err as Error).message;
      }
      return assert.fail("expected the constructor to throw");
    };
    assert.match(attempt({ namespaceId: "" }), /`namespaceId` is required/);
    assert.match(attempt({ subnetIds: [] }), /`subnetIds` is required/);
    assert.match(attempt({ ecsClusterArns: [] }), /`ecsClusterArns` is required/);
    assert.match(
      attempt({ targetSecurityGroupIds: ["sg-1"] }),
      /`targetPorts` is required with `targetSecurityGroupIds`/,
    );
    assert.match(attempt({ targetPorts: [80] }), /`targetPorts` needs `targetSecurityGroupIds`/);
    assert.match(attempt({ cpu: 300 }), /`cpu`: 300 is not a Fargate size/);
    assert.match(attempt({ memory: 8192 }), /`memory`: 8192 MiB does not fit `cpu` 256/);
    assert.match(attempt({ logRetentionInDays: 10 }), /`logRetentionInDays`: 10/);
    // Stack config passes strings through unchecked: AWS would only refuse this at deploy time.
    assert.match(
      attempt({ architecture: "arm64" as Args["architecture"] }),
      /`architecture`: "arm64" is not a Fargate CPU architecture; use ARM64 or X86_64/,
    );
    assert.match(
      attempt({ interval: "1s", timeout: "2s" }),
      /`timeout`: must be below the interval/,
    );
    assert.match(attempt({ checkPath: "health" }), /`checkPath`/);
    assert.match(
      attempt({ serviceOverrides: { api: { checkPath: "nope" } } }),
      /`serviceOverrides`: service "api": checkPath/,
    );
    const many = attempt({ vpcId: "", desiredCount: -1 });
    assert.match(many, /`vpcId` is required/);
    assert.match(many, /`desiredCount`/);
  });
});
