// Execution through the real Automation SDK, with a stand-in `pulumi` on a PulumiCommand root:
// what the real CLI cannot be made to produce here (a concurrent update, a failed update), and
// the exact commands sent (stack names, config, account guard, concurrency, prune). The happy
// path against the real engine (listing stacks and their fingerprints, no-op stacks never
// selected, outputs in the results) is in rollout-engine.test.ts.

import { strict as assert } from "node:assert";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { fileBackendStacks } from "../programs/rollout/existing";
import { executePlan } from "../programs/rollout/execute";
import { planRollout } from "../programs/rollout/plan";
import type { DiscoveredNamespace } from "../programs/rollout/types";

const A = "111111111111";
const B = "222222222222";

interface Call {
  args: string[];
  cwd: string;
  started: number;
  ended: number;
}

function ns(accountId: string, name: string): DiscoveredNamespace {
  return {
    accountId,
    region: "eu-west-1",
    namespaceId: `ns-${name}`,
    namespaceName: name,
    ecsServices: [],
    placement: {
      vpcId: "vpc-1",
      subnetIds: ["subnet-1"],
      targetSecurityGroupIds: [],
      clusterArns: [`arn:aws:ecs:eu-west-1:${accountId}:cluster/prod`],
      ports: [],
      servicePorts: {},
    },
    problem: undefined,
  };
}

describe("rollout execution (Automation SDK + stand-in pulumi)", function () {
  this.timeout(60_000);
  let root: string;
  let logFile: string;
  const saved = { ...process.env };

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), "pulumi-standin-"));
    mkdirSync(path.join(root, "bin"));
    const bin = path.join(root, "bin", "pulumi");
    copyFileSync(path.resolve(__dirname, "../../test/fixtures/pulumi-standin.js"), bin);
    chmodSync(bin, 0o755);
  });
  beforeEach(() => {
    logFile = path.join(root, `calls-${Date.now()}.jsonl`);
    process.env["STANDIN_LOG"] = logFile;
    process.env["PULUMI_SKIP_UPDATE_CHECK"] = "true";
  });
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (k.startsWith("STANDIN_")) delete process.env[k];
    Object.assign(process.env, saved);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const calls = (): Call[] =>
    existsSync(logFile)
      ? readFileSync(logFile, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Call)
      : [];
  /** The command line without the flag the SDK adds to every call. */
  const line = (c: Call): string => c.args.filter((a) => a !== "--non-interactive").join(" ");
  const stackArg = (c: Call): string | undefined => {
    const i = c.args.indexOf("--stack");
    return i >= 0 ? c.args[i + 1] : undefined;
  };

  it("creates and updates each stack with its config and account guard, isolates failures, prunes", async () => {
    const targets = [
      { accountId: A, region: "eu-west-1", roleArn: undefined },
      { accountId: B, region: "eu-west-1", roleArn: `arn:aws:iam::${B}:role/deployer` },
    ];
    const plan = planRollout({
      discovered: [ns(A, "one"), ns(A, "two"), ns(B, "three"), ns(B, "broken"), ns(A, "busy")],
      existing: [{ name: `cmhc-${A}-eu-west-1-two` }, { name: `cmhc-${A}-eu-west-1-gone` }],
      targets,
      options: {
        stackPrefix: "cmhc",
        namespaces: undefined,
        prune: true,
        settings: { interval: "5s" },
        perNamespace: {},
        toolVersion: "0.0.0-test",
      },
    });
    process.env["STANDIN_STACKS"] = JSON.stringify([
      `cmhc-${A}-eu-west-1-two`,
      `cmhc-${A}-eu-west-1-gone`,
    ]);
    process.env["STANDIN_FAIL"] = "broken";
    process.env["STANDIN_CONFLICT"] = "busy";
    const lines: string[] = [];
    const results = await executePlan(plan, "up", {
      concurrency: 2,
      pulumiRoot: root,
      log: (l) => lines.push(l),
    });

    assert.deepEqual(
      results.map((r) => [r.stack, r.action, r.result]),
      [
        [`cmhc-${A}-eu-west-1-busy`, "create", "failed"],
        [`cmhc-${A}-eu-west-1-gone`, "destroy", "succeeded"],
        [`cmhc-${A}-eu-west-1-one`, "create", "succeeded"],
        [`cmhc-${A}-eu-west-1-two`, "update", "succeeded"],
        [`cmhc-${B}-eu-west-1-broken`, "create", "failed"],
        [`cmhc-${B}-eu-west-1-three`, "create", "succeeded"],
      ],
    );
    const byName = Object.fromEntries(results.map((r) => [r.stack, r]));
    assert.match(
      byName[`cmhc-${A}-eu-west-1-busy`]!.error!,
      /another update of this stack is in progress/,
    );
    assert.match(byName[`cmhc-${B}-eu-west-1-broken`]!.error!, /AccessDenied/);
    assert.deepEqual(byName[`cmhc-${A}-eu-west-1-one`]!.changes, { create: 9 });
    assert.ok(
      lines.some((l) => l === `cmhc-${A}-eu-west-1-one: updating`),
      "progress per stack",
    );

    const all = calls();
    // New stacks are initialised, existing ones selected.
    assert.ok(all.some((c) => line(c) === `stack init cmhc-${A}-eu-west-1-one`));
    assert.ok(!all.some((c) => line(c) === `stack init cmhc-${A}-eu-west-1-two`));
    // Each stack gets its own config, with the account guard and, across accounts, the role.
    const configOf = (stack: string): string[] =>
      all
        .filter((c) => c.args[0] === "config" && c.args[1] === "set-all" && stackArg(c) === stack)
        .flatMap((c) => c.args);
    const three = configOf(`cmhc-${B}-eu-west-1-three`);
    assert.ok(three.includes(`aws:allowedAccountIds=["${B}"]`), three.join(" "));
    assert.ok(three.includes("aws:region=eu-west-1"));
    assert.ok(
      three.some(
        (a) => a.startsWith("aws:assumeRoles=") && a.includes(`arn:aws:iam::${B}:role/deployer`),
      ),
    );
    assert.ok(three.includes("cloudmap-health-checker:namespaceId=ns-three"));
    assert.ok(three.includes("cloudmap-health-checker:interval=5s"));
    const one = configOf(`cmhc-${A}-eu-west-1-one`);
    assert.ok(one.includes(`aws:allowedAccountIds=["${A}"]`));
    assert.ok(!one.some((a) => a.startsWith("aws:assumeRoles=")));
    // Inline program: `up` gets a language-server client address and exec kind.
    const up = all.find((c) => c.args[0] === "up" && stackArg(c) === `cmhc-${A}-eu-west-1-one`)!;
    assert.ok(up.args.some((a) => a.startsWith("--client=127.0.0.1:")));
    assert.ok(up.args.includes("auto.inline"));
    // Prune: the vanished namespace's stack is destroyed and removed, never updated.
    assert.ok(
      all.some((c) => c.args[0] === "destroy" && stackArg(c) === `cmhc-${A}-eu-west-1-gone`),
    );
    assert.ok(all.some((c) => line(c) === `stack rm --yes cmhc-${A}-eu-west-1-gone`));
    assert.ok(!all.some((c) => c.args[0] === "up" && stackArg(c) === `cmhc-${A}-eu-west-1-gone`));
    // Bounded concurrency: never more than 2 operations at once.
    const ops = all.filter((c) => ["up", "destroy"].includes(c.args[0]!));
    // Operations running as each one starts (where the count peaks).
    const overlap = Math.max(
      ...ops.map((o) => ops.filter((p) => p.started <= o.started && o.started < p.ended).length),
    );
    assert.ok(overlap <= 2, `at most 2 stacks at once, saw ${overlap}`);
    // That they do run 2 at once is shown on the real engine (rollout-engine.test.ts (d)), whose
    // program waits for a second run: here the stand-in's timing on a loaded machine decides.
    // One work directory per stack, all removed.
    const dirs = new Set(all.filter((c) => c.args[0] === "up").map((c) => c.cwd));
    assert.equal(dirs.size, 5, "one work directory per stack");
    for (const d of dirs) assert.equal(existsSync(d), false, `work directory ${d} left behind`);
  });

  it("previews without updating, and skips a namespace that cannot be guarded", async () => {
    const plan = planRollout({
      discovered: [
        ns(A, "one"),
        { ...ns(A, "split"), placement: undefined, problem: "its services span 2 VPCs" },
      ],
      existing: [],
      targets: [{ accountId: A, region: "eu-west-1", roleArn: undefined }],
      options: {
        stackPrefix: "cmhc",
        namespaces: undefined,
        prune: false,
        settings: {},
        perNamespace: {},
        toolVersion: "0.0.0-test",
      },
    });
    const results = await executePlan(plan, "preview", {
      concurrency: 4,
      pulumiRoot: root,
      log: () => undefined,
    });
    assert.deepEqual(
      results.map((r) => [r.stack, r.result, r.changes]),
      [
        [`cmhc-${A}-eu-west-1-one`, "succeeded", { create: 9 }],
        [`cmhc-${A}-eu-west-1-split`, "skipped", {}],
      ],
    );
    const all = calls();
    assert.ok(all.some((c) => c.args[0] === "preview"));
    assert.ok(!all.some((c) => c.args[0] === "up"));
    assert.ok(
      !all.some(
        (c) =>
          stackArg(c) === `cmhc-${A}-eu-west-1-split` ||
          c.args.includes(`cmhc-${A}-eu-west-1-split`),
      ),
    );
  });

  it("reads each stack's fingerprint from a file backend without the CLI", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cmhc-backend-"));
    const stacks = path.join(dir, ".pulumi", "stacks", "cloudmap-health-checker");
    mkdirSync(stacks, { recursive: true });
    const checkpoint = (outputs: Record<string, unknown>) =>
      JSON.stringify({
        version: 3,
        checkpoint: {
          latest: {
            resources: [
              { type: "pulumi:providers:aws", outputs: {} },
              { type: "pulumi:pulumi:Stack", outputs },
            ],
          },
        },
      });
    writeFileSync(path.join(stacks, "cmhc-a.json"), checkpoint({ rolloutFingerprint: "abc" }));
    writeFileSync(path.join(stacks, "cmhc-b.json.gz"), gzipSync(checkpoint({ serviceArn: "x" })));
    writeFileSync(path.join(stacks, "cmhc-c.json"), "{not json");
    writeFileSync(path.join(stacks, "cmhc-a.json.bak"), "backup");
    try {
      assert.deepEqual(fileBackendStacks(`file://${dir}`), [
        { name: "cmhc-a", fingerprint: "abc" },
        { name: "cmhc-b" },
        { name: "cmhc-c" },
      ]);
      assert.equal(fileBackendStacks("s3://bucket"), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
