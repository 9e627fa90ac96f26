// Discovery against moto: two accounts (the second through STS AssumeRole), two Regions,
// namespaces with and without ECS-managed services, one VPC and two; and `plan --json`.

import { strict as assert } from "node:assert";
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import {
  CreateClusterCommand,
  CreateServiceCommand as CreateEcsService,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  ListNamespacesCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { targets } from "../programs/rollout/aws";
import { discoverAll } from "../programs/rollout/discovery-run";
import type { DiscoveredNamespace } from "../programs/rollout/types";
import { runCli } from "./support/cli-process";
import { startFaultProxy, type Fault } from "./support/fault-proxy";
import { moto } from "./support/root-hooks";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ME = "123456789012";
const OTHER = "222222222222";
const ROLE = "cmhc-discovery";

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

async function credsFor(account: string): Promise<Creds | undefined> {
  if (account === ME) return undefined;
  const out = await new STSClient({ region: "us-east-1" }).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${account}:role/${ROLE}`,
      RoleSessionName: "test",
    }),
  );
  const c = out.Credentials!;
  return {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken,
  };
}

/** Builds namespaces and ECS services in one account x Region of moto. */
class Place {
  sd!: ServiceDiscoveryClient;
  ecs!: ECSClient;
  ec2!: EC2Client;
  taskDef = "";
  constructor(
    readonly account: string,
    readonly region: string,
  ) {}

  async init(): Promise<this> {
    const credentials = await credsFor(this.account);
    const config = { region: this.region, maxAttempts: 2, ...(credentials ? { credentials } : {}) };
    this.sd = new ServiceDiscoveryClient({ ...config, disableHostPrefix: true });
    this.ecs = new ECSClient(config);
    this.ec2 = new EC2Client(config);
    await this.ecs.send(new CreateClusterCommand({ clusterName: "prod" }));
    const td = await this.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "app",
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "app", image: "app", cpu: 256, memory: 512 }],
      }),
    );
    this.taskDef = td.taskDefinition!.taskDefinitionArn!;
    return this;
  }

  async namespace(name: string): Promise<string> {
    await this.sd.send(new CreateHttpNamespaceCommand({ Name: name }));
    const all = await this.sd.send(new ListNamespacesCommand({}));
    return all.Namespaces!.find((n) => n.Name === name)!.Id!;
  }

  async defaultNetwork(): Promise<{ subnet: string; sg: string; vpc: string }> {
    const subnets = await this.ec2.send(new DescribeSubnetsCommand({}));
    const sgs = await this.ec2.send(new DescribeSecurityGroupsCommand({}));
    const s = subnets.Subnets![0]!;
    return { subnet: s.SubnetId!, vpc: s.VpcId!, sg: sgs.SecurityGroups![0]!.GroupId! };
  }

  async otherVpcSubnet(): Promise<string> {
    const vpc = await this.ec2.send(new CreateVpcCommand({ CidrBlock: "10.50.0.0/16" }));
    const subnet = await this.ec2.send(
      new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: "10.50.1.0/24" }),
    );
    return subnet.Subnet!.SubnetId!;
  }

  /** An ECS service with Service Connect's Cloud Map service and `instances` registered. */
  async ecsService(
    namespaceId: string,
    name: string,
    subnet: string,
    sg: string,
    instances = 1,
  ): Promise<string> {
    const svc = await this.ecs.send(
      new CreateEcsService({
        cluster: "prod",
        serviceName: name,
        taskDefinition: this.taskDef,
        desiredCount: 0,
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: [sg] } },
      }),
    );
    const arn = svc.service!.serviceArn!;
    const cm = await this.sd.send(
      new CreateServiceCommand({
        Name: name,
        NamespaceId: namespaceId,
        Type: "HTTP",
        Description: `Managed by ${arn}`,
      }),
    );
    for (let i = 0; i < instances; i++) {
      await this.sd.send(
        new RegisterInstanceCommand({
          ServiceId: cm.Service!.Id!,
          InstanceId: `${name}-${i}`,
          Attributes: { AWS_INSTANCE_IPV4: `10.0.0.${(i % 250) + 1}`, AWS_INSTANCE_PORT: "8080" },
        }),
      );
    }
    return arn;
  }
}

describe("rollout discovery against moto", function () {
  this.timeout(120_000);
  let found: DiscoveredNamespace[];
  let expected: { sg: string; vpc: string; subnet: string };

  before(async () => {
    await moto().reset();
    // Account ME, us-east-1: one Service Connect namespace (120 instances: pages), one plain.
    const a = await new Place(ME, "us-east-1").init();
    expected = await a.defaultNetwork();
    const shop = await a.namespace("shop.local");
    await a.ecsService(shop, "orders", expected.subnet, expected.sg, 120);
    await a.ecsService(shop, "payments", expected.subnet, expected.sg);
    const plain = await a.namespace("plain.local");
    await a.sd.send(new CreateServiceCommand({ Name: "legacy", NamespaceId: plain, Type: "HTTP" }));
    // Account ME, eu-west-1: a namespace whose services span two VPCs.
    const b = await new Place(ME, "eu-west-1").init();
    const net = await b.defaultNetwork();
    const split = await b.namespace("split.local");
    await b.ecsService(split, "a", net.subnet, net.sg);
    await b.ecsService(split, "b", await b.otherVpcSubnet(), net.sg);
    // ECS's tag alone (no "Managed by" description): a Service Connect namespace, placement
    // unknown; the same tag set to false is not.
    for (const [namespace, value] of [
      ["tagged.local", "true"],
      ["othertag.local", "false"],
    ] as const) {
      await b.sd.send(
        new CreateServiceCommand({
          Name: "svc",
          NamespaceId: await b.namespace(namespace),
          Type: "HTTP",
          Tags: [{ Key: "AmazonECSManaged", Value: value }],
        }),
      );
    }
    // Account OTHER, us-east-1 (through the role): one Service Connect namespace.
    const c = await new Place(OTHER, "us-east-1").init();
    const cnet = await c.defaultNetwork();
    await c.ecsService(await c.namespace("billing.local"), "invoices", cnet.subnet, cnet.sg);

    const result = await discoverAll(
      targets([ME, OTHER], ["us-east-1", "eu-west-1"], ROLE, "aws").map((t) =>
        t.accountId === ME ? { ...t, roleArn: undefined } : t,
      ),
      2,
    );
    assert.deepEqual(result.failures, []);
    assert.equal(result.succeeded.length, 4);
    found = result.namespaces;
  });

  it("finds Service Connect namespaces only, in every account and Region", () => {
    assert.deepEqual(found.map((n) => `${n.accountId} ${n.region} ${n.namespaceName}`).sort(), [
      `${ME} eu-west-1 split.local`,
      `${ME} eu-west-1 tagged.local`,
      `${ME} us-east-1 shop.local`,
      `${OTHER} us-east-1 billing.local`,
    ]);
  });

  it("derives placement from the ECS services: VPC, subnets, groups, clusters, ports", () => {
    const shop = found.find((n) => n.namespaceName === "shop.local")!;
    assert.equal(shop.problem, undefined);
    assert.deepEqual(shop.placement, {
      vpcId: expected.vpc,
      subnetIds: [expected.subnet],
      targetSecurityGroupIds: [expected.sg],
      clusterArns: [`arn:aws:ecs:us-east-1:${ME}:cluster/prod`],
      ports: [8080],
      servicePorts: { orders: [8080], payments: [8080] },
    });
    assert.equal(shop.ecsServices.length, 2);
    const billing = found.find((n) => n.namespaceName === "billing.local")!;
    assert.deepEqual(billing.placement?.clusterArns, [
      `arn:aws:ecs:us-east-1:${OTHER}:cluster/prod`,
    ]);
  });

  it("finds a namespace by ECS's tag alone, and reports that its placement is unknown", () => {
    const tagged = found.find((n) => n.namespaceName === "tagged.local")!;
    assert.equal(tagged.placement, undefined);
    assert.match(tagged.problem!, /AmazonECSManaged.*placement unknown/);
  });

  it("reports a namespace spread over two VPCs instead of planning it", () => {
    const split = found.find((n) => n.namespaceName === "split.local")!;
    assert.equal(split.placement, undefined);
    assert.match(split.problem!, /span 2 VPCs/);
  });

  it("pages through namespaces and services, and backs off when throttled", async () => {
    // moto answers ListNamespaces and ListServices in one page: the proxy cuts them into pages
    // of one, with its own NextToken, and throttles the first calls of each.
    const page =
      (key: string) =>
      (response: unknown, request: unknown): unknown => {
        const items = ((response as Record<string, unknown[]>)[key] ?? []) as unknown[];
        const at = Number((request as { NextToken?: string }).NextToken ?? 0);
        return {
          [key]: items.slice(at, at + 1),
          ...(at + 1 < items.length ? { NextToken: String(at + 1) } : {}),
        };
      };
    const proxy = await startFaultProxy(moto().endpoint);
    const faults: Fault[] = [
      { kind: "throttle", operations: ["ListNamespaces", "ListServices"], count: 3 },
      { kind: "rewrite", operations: ["ListNamespaces"], rewrite: page("Namespaces") },
      { kind: "rewrite", operations: ["ListServices"], rewrite: page("Services") },
    ];
    proxy.setFaults(faults);
    const saved = process.env["AWS_ENDPOINT_URL"];
    process.env["AWS_ENDPOINT_URL"] = proxy.endpoint;
    try {
      const result = await discoverAll(
        [{ accountId: ME, region: "us-east-1", roleArn: undefined }],
        1,
      );
      assert.deepEqual(result.failures, []);
      const shop = result.namespaces.find((n) => n.namespaceName === "shop.local");
      assert.deepEqual(
        result.namespaces.map((n) => n.namespaceName),
        ["shop.local"],
      );
      assert.deepEqual(
        shop!.placement,
        found.find((n) => n.namespaceName === "shop.local")!.placement,
      );
      const ok = (op: string): number => proxy.succeeded(op).length;
      assert.equal(ok("ListNamespaces"), 2, "two namespaces, one a page");
      // moto ignores ListServices' namespace filter (the product filters again): each of the
      // two namespaces pages through all three services of the Region.
      assert.equal(ok("ListServices"), 6);
      assert.ok(
        proxy.calls.some((c) => c.injected),
        "throttled calls were retried",
      );
    } finally {
      process.env["AWS_ENDPOINT_URL"] = saved;
      await proxy.close();
    }
  });

  it("isolates a failing account: the others are still discovered", async () => {
    const result = await discoverAll(
      [
        { accountId: ME, region: "us-east-1", roleArn: undefined },
        { accountId: "333333333333", region: "us-east-1", roleArn: undefined },
      ],
      2,
      async (t) => {
        if (t.accountId === "333333333333")
          throw Object.assign(new Error("AccessDenied: not authorised"), { name: "AccessDenied" });
        const config = { region: "us-east-1", maxAttempts: 2 };
        return {
          serviceDiscovery: new ServiceDiscoveryClient({ ...config, disableHostPrefix: true }),
          ecs: new ECSClient(config),
          ec2: new EC2Client(config),
        };
      },
    );
    assert.equal(result.failures.length, 1);
    assert.match(result.failures[0]!.error, /AccessDenied/);
    assert.deepEqual(
      result.namespaces.map((n) => n.namespaceName),
      ["shop.local"],
    );
  });

  it("`plan --json` prints every stack with its account, Region, namespace, action and config", async () => {
    const cli = path.resolve(__dirname, "../programs/rollout/cli.js");
    const r = await runCli(
      [
        "--regions",
        "us-east-1,eu-west-1",
        "--accounts",
        `${ME},${OTHER}`,
        "--role-name",
        ROLE,
        "--json",
        "--interval",
        "5s",
        "--alarm-topic-arn",
        `arn:aws:sns:us-east-1:${OTHER}:ops`,
        "--no-dashboard",
      ],
      { NODE_NO_WARNINGS: "1", PULUMI_BACKEND_URL: "" },
      60_000,
      [cli, "plan"],
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      stacks: Array<{
        name: string;
        action: string;
        accountId: string;
        region: string;
        namespaceId: string;
        config: Record<string, string>;
      }>;
      failures: unknown[];
    };
    assert.deepEqual(out.failures, []);
    assert.deepEqual(
      out.stacks.map((s) => [s.name, s.action]),
      [
        [`cmhc-${ME}-eu-west-1-split.local`, "skip"],
        [`cmhc-${ME}-eu-west-1-tagged.local`, "skip"],
        [`cmhc-${ME}-us-east-1-shop.local`, "create"],
        [`cmhc-${OTHER}-us-east-1-billing.local`, "create"],
      ],
    );
    const billing = out.stacks[3]!;
    assert.equal(billing.config["aws:allowedAccountIds"], JSON.stringify([OTHER]));
    assert.match(
      billing.config["aws:assumeRoles"]!,
      new RegExp(`arn:aws:iam::${OTHER}:role/${ROLE}`),
    );
    assert.equal(billing.config["cloudmap-health-checker:interval"], "5s");
    assert.equal(
      billing.config["cloudmap-health-checker:alarmTopicArn"],
      `arn:aws:sns:us-east-1:${OTHER}:ops`,
    );
    assert.equal(billing.config["cloudmap-health-checker:dashboard"], "false");
    assert.equal(billing.config["cloudmap-health-checker:alarms"], undefined, "unset stays unset");
    assert.equal(billing.config["cloudmap-health-checker:namespaceId"], billing.namespaceId);
    assert.equal(
      out.stacks[2]!.config["aws:assumeRoles"],
      undefined,
      "no role in the caller's own account",
    );
  });

  it("`plan` refuses a bad checker setting, from a flag or the config file, naming it", async () => {
    const cli = path.resolve(__dirname, "../programs/rollout/cli.js");
    const env = { NODE_NO_WARNINGS: "1", PULUMI_BACKEND_URL: "" };
    const flag = await runCli(["--regions", "us-east-1", "--interval", "5x"], env, 60_000, [
      cli,
      "plan",
    ]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--interval/);
    const dir = mkdtempSync(path.join(tmpdir(), "cmhc-rollout-test-"));
    const file = path.join(dir, "rollout.json");
    writeFileSync(
      file,
      JSON.stringify({ namespaces: { "shop.local": { unhealthyThreshold: 0 } } }),
    );
    const fromFile = await runCli(["--regions", "us-east-1", "--config-file", file], env, 60_000, [
      cli,
      "plan",
    ]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.stderr, /namespaces\.shop\.local: .*`unhealthyThreshold`/s);
  });
});
