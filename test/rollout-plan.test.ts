import { strict as assert } from "node:assert";
import {
  planRollout,
  stackName,
  type ExistingStack,
  type RolloutOptions,
} from "../programs/rollout/plan";
import type { DiscoveredNamespace, Target } from "../programs/rollout/types";

const A = "111111111111";
const B = "222222222222";

function ns(
  accountId: string,
  region: string,
  name: string,
  extra: Partial<DiscoveredNamespace> = {},
): DiscoveredNamespace {
  return {
    accountId,
    region,
    namespaceId: `ns-${name.replace(/\W/g, "")}`,
    namespaceName: name,
    ecsServices: [`arn:aws:ecs:${region}:${accountId}:service/prod/${name}-api`],
    placement: {
      vpcId: "vpc-1",
      subnetIds: ["subnet-1", "subnet-2"],
      targetSecurityGroupIds: ["sg-app"],
      clusterArns: [`arn:aws:ecs:${region}:${accountId}:cluster/prod`],
      ports: [8080],
      servicePorts: { api: [8080] },
    },
    problem: undefined,
    ...extra,
  };
}

const targets: Target[] = [
  { accountId: A, region: "eu-west-1", roleArn: undefined },
  { accountId: B, region: "eu-west-1", roleArn: `arn:aws:iam::${B}:role/deployer` },
  { accountId: B, region: "us-east-1", roleArn: `arn:aws:iam::${B}:role/deployer` },
];

const OPTIONS: RolloutOptions = {
  stackPrefix: "cmhc",
  namespaces: undefined,
  prune: false,
  settings: {},
  perNamespace: {},
  toolVersion: "1.0.0",
};

describe("rollout planner", () => {
  it("names stacks deterministically: prefix, account, Region, namespace name", () => {
    assert.equal(
      stackName("cmhc", A, "eu-west-1", "shop.internal"),
      `cmhc-${A}-eu-west-1-shop.internal`,
    );
    assert.equal(stackName("p", A, "eu-west-1", "a b/c"), `p-${A}-eu-west-1-a-b-c`);
  });

  it("creates a stack per new namespace with the full config and the account guard", () => {
    const plan = planRollout({
      discovered: [ns(B, "us-east-1", "orders.local")],
      existing: [],
      targets,
      options: { ...OPTIONS, settings: { image: "img:1", interval: "5s", unhealthyThreshold: 2 } },
    });
    assert.equal(plan.stacks.length, 1);
    const s = plan.stacks[0]!;
    assert.equal(s.name, `cmhc-${B}-us-east-1-orders.local`);
    assert.equal(s.action, "create");
    assert.deepEqual(s.config, {
      "aws:allowedAccountIds": JSON.stringify([B]),
      "aws:assumeRoles": JSON.stringify([
        {
          roleArn: `arn:aws:iam::${B}:role/deployer`,
          sessionName: "cloudmap-health-checker-rollout",
        },
      ]),
      "aws:region": "us-east-1",
      "cloudmap-health-checker:ecsClusterArns": JSON.stringify([
        `arn:aws:ecs:us-east-1:${B}:cluster/prod`,
      ]),
      "cloudmap-health-checker:image": "img:1",
      "cloudmap-health-checker:interval": "5s",
      "cloudmap-health-checker:name": "checker",
      "cloudmap-health-checker:namespaceId": "ns-orderslocal",
      "cloudmap-health-checker:subnetIds": JSON.stringify(["subnet-1", "subnet-2"]),
      "cloudmap-health-checker:targetPorts": JSON.stringify([8080]),
      "cloudmap-health-checker:targetSecurityGroupIds": JSON.stringify(["sg-app"]),
      "cloudmap-health-checker:unhealthyThreshold": "2",
      "cloudmap-health-checker:vpcId": "vpc-1",
    });
  });

  it("assumes no role in the caller's own account", () => {
    const plan = planRollout({
      discovered: [ns(A, "eu-west-1", "x")],
      existing: [],
      targets,
      options: OPTIONS,
    });
    assert.equal(plan.stacks[0]!.config["aws:assumeRoles"], undefined);
    assert.equal(plan.stacks[0]!.config["aws:allowedAccountIds"], JSON.stringify([A]));
  });

  it("updates an existing stack, and leaves one deployed with the same fingerprint alone", () => {
    const d = ns(A, "eu-west-1", "x");
    const pinned: RolloutOptions = { ...OPTIONS, settings: { image: "img:1" } };
    const first = planRollout({ discovered: [d], existing: [], targets, options: pinned })
      .stacks[0]!;
    assert.equal(first.action, "create");
    assert.match(first.fingerprint!, /^[0-9a-f]{64}$/);
    const plan = (existing: ExistingStack[], options: RolloutOptions) =>
      planRollout({ discovered: [d], existing, targets, options }).stacks[0]!;
    // A stack that exports no fingerprint (deployed by hand, or by a failed update): update.
    assert.equal(plan([{ name: first.name }], pinned).action, "update");
    const deployed = [{ name: first.name, fingerprint: first.fingerprint! }];
    assert.equal(plan(deployed, pinned).action, "no-op");
    // A change of setting, or of this tool's version, changes the fingerprint.
    assert.equal(
      plan(deployed, { ...pinned, settings: { image: "img:1", interval: "20s" } }).action,
      "update",
    );
    assert.equal(plan(deployed, { ...pinned, toolVersion: "1.0.1" }).action, "update");
    // With no pinned image the component builds from source, which no fingerprint covers.
    const unpinned = plan([], OPTIONS);
    const again = plan([{ name: unpinned.name, fingerprint: unpinned.fingerprint! }], OPTIONS);
    assert.equal(again.action, "update");
    assert.match(again.reason!, /image is built from source/);
  });

  it("gives namespaces of the same name (private DNS in two VPCs) distinct stack names", () => {
    const one = ns(A, "eu-west-1", "svc.local", { namespaceId: "ns-aaaa1111" });
    const two = ns(A, "eu-west-1", "svc.local", { namespaceId: "ns-bbbb2222" });
    const plan = planRollout({ discovered: [two, one], existing: [], targets, options: OPTIONS });
    assert.deepEqual(
      plan.stacks.map((s) => [s.name, s.namespaceId]),
      [
        [`cmhc-${A}-eu-west-1-svc.local-ns-aaaa1111`, "ns-aaaa1111"],
        [`cmhc-${A}-eu-west-1-svc.local-ns-bbbb2222`, "ns-bbbb2222"],
      ],
    );
    assert.match(plan.stacks[0]!.reason!, /same name/);
    // A stack of the plain name from before the second namespace appeared is not pruned.
    const pruned = planRollout({
      discovered: [one, two],
      existing: [{ name: `cmhc-${A}-eu-west-1-svc.local` }],
      targets,
      options: { ...OPTIONS, prune: true },
    });
    assert.ok(pruned.stacks.every((s) => s.action !== "destroy"));
  });

  it("with a namespace filter, prunes only the stacks the filter names", () => {
    const existing = [{ name: `cmhc-${A}-eu-west-1-gone` }, { name: `cmhc-${A}-eu-west-1-other` }];
    const plan = planRollout({
      discovered: [],
      existing,
      targets,
      options: { ...OPTIONS, prune: true, namespaces: ["gone"] },
    });
    assert.deepEqual(
      plan.stacks.map((s) => [s.name, s.action]),
      [[`cmhc-${A}-eu-west-1-gone`, "destroy"]],
    );
  });

  it("admits on the tasks' groups exactly the ports the checker will probe", () => {
    const d = ns(A, "eu-west-1", "x", {
      placement: {
        vpcId: "vpc-1",
        subnetIds: ["subnet-1"],
        targetSecurityGroupIds: ["sg-app"],
        clusterArns: [`arn:aws:ecs:eu-west-1:${A}:cluster/prod`],
        ports: [8080, 9090, 7000],
        servicePorts: { api: [8080], web: [9090], batch: [7000] },
      },
    });
    const ports = (settings: RolloutOptions["settings"]): unknown =>
      JSON.parse(
        planRollout({ discovered: [d], existing: [], targets, options: { ...OPTIONS, settings } })
          .stacks[0]!.config["cloudmap-health-checker:targetPorts"]!,
      );
    assert.deepEqual(ports({}), [7000, 8080, 9090]);
    // A common check port replaces every instance port.
    assert.deepEqual(ports({ checkPort: 8081 }), [8081]);
    // A service's own check port replaces its instance port; the others keep theirs.
    assert.deepEqual(ports({ serviceOverrides: { web: { checkPort: 9091 } } }), [7000, 8080, 9091]);
    // Services outside the allow-list are never probed, so never admitted.
    assert.deepEqual(ports({ services: ["api"] }), [8080]);
  });

  it("prunes stacks of vanished namespaces only with --prune, and never where discovery failed", () => {
    const existing = [
      { name: `cmhc-${A}-eu-west-1-gone` },
      { name: `cmhc-${B}-ap-south-1-elsewhere` }, // a Region not discovered this run
      { name: "other-project-stack" },
    ];
    const discovered = [ns(A, "eu-west-1", "x")];
    const without = planRollout({ discovered, existing, targets, options: OPTIONS });
    assert.deepEqual(
      without.stacks.map((s) => s.action),
      ["create"],
    );
    const pruned = planRollout({
      discovered,
      existing,
      targets,
      options: { ...OPTIONS, prune: true },
    });
    assert.deepEqual(
      pruned.stacks.map((s) => [s.name, s.action]),
      [
        [`cmhc-${A}-eu-west-1-x`, "create"],
        [`cmhc-${A}-eu-west-1-gone`, "destroy"],
      ],
    );
    const failedAccount = planRollout({
      discovered: [],
      existing,
      targets: targets.filter((t) => t.accountId !== A),
      options: { ...OPTIONS, prune: true },
    });
    assert.deepEqual(failedAccount.stacks, [], "A's discovery failed: its stacks are kept");
  });

  it("filters namespaces by name or ID", () => {
    const discovered = [ns(A, "eu-west-1", "x"), ns(A, "eu-west-1", "y"), ns(B, "eu-west-1", "z")];
    const byName = planRollout({
      discovered,
      existing: [],
      targets,
      options: { ...OPTIONS, namespaces: ["y", "ns-z"] },
    });
    assert.deepEqual(
      byName.stacks.map((s) => s.namespaceName),
      ["y", "z"],
    );
  });

  it("skips a namespace whose services span several VPCs, and plans the others", () => {
    const plan = planRollout({
      discovered: [
        ns(A, "eu-west-1", "split", {
          placement: undefined,
          problem: "its services span 2 VPCs (vpc-1, vpc-2)",
        }),
        ns(A, "eu-west-1", "fine"),
      ],
      existing: [],
      targets,
      options: OPTIONS,
    });
    assert.deepEqual(
      plan.stacks.map((s) => [s.namespaceName, s.action, s.reason]),
      [
        ["fine", "create", undefined],
        ["split", "skip", "its services span 2 VPCs (vpc-1, vpc-2)"],
      ],
    );
  });

  it("applies per-namespace settings over the common ones", () => {
    const plan = planRollout({
      discovered: [ns(A, "eu-west-1", "x"), ns(A, "eu-west-1", "y")],
      existing: [],
      targets,
      options: {
        ...OPTIONS,
        settings: { checkPath: "/health", alarmTopicArn: "arn:aws:sns:eu-west-1:1:ops" },
        perNamespace: {
          y: { checkPath: "/ready", desiredCount: 2, alarmActions: ["arn:aws:sns:eu-west-1:1:y"] },
        },
      },
    });
    const [x, y] = plan.stacks;
    assert.equal(x!.config["cloudmap-health-checker:checkPath"], "/health");
    assert.equal(y!.config["cloudmap-health-checker:checkPath"], "/ready");
    assert.equal(y!.config["cloudmap-health-checker:desiredCount"], "2");
    assert.equal(x!.config["cloudmap-health-checker:alarmActions"], undefined);
    assert.equal(
      y!.config["cloudmap-health-checker:alarmActions"],
      JSON.stringify(["arn:aws:sns:eu-west-1:1:y"]),
    );
    for (const s of [x!, y!]) {
      assert.equal(
        s.config["cloudmap-health-checker:alarmTopicArn"],
        "arn:aws:sns:eu-west-1:1:ops",
      );
    }
  });
});
