// The rollout's execution path against the real Pulumi engine (the CLI that
// scripts/pulumi-cli.sh builds) on a `file://` backend in a temporary directory: stack create
// and select, per-stack config, up, outputs and the fingerprint no-op, prune, bounded
// concurrency, destroy. The stacks run a probe program instead of the checker's component:
// it reads the stack config as programs/stack.ts does and exports what it read, but creates
// no provider resources, so no cloud, credentials or provider plugins are involved. Inline
// programs run in this process, which is how the probe measures concurrency.
// Fault cases the real CLI cannot be made to produce stay in rollout-execute.test.ts.

import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, Stack, type UpdateSummary } from "@pulumi/pulumi/automation";
import { checkerSettingsFrom, CONFIG_NAMESPACE } from "../programs/stack";
import { fileBackendStacks, PROJECT } from "../programs/rollout/existing";
import {
  executePlan,
  listStacks,
  pulumiCommand,
  workspaceOptions,
  type StackProgram,
  type StackResult,
} from "../programs/rollout/execute";
import { planRollout, type ExistingStack, type RolloutOptions } from "../programs/rollout/plan";
import { FINGERPRINT_OUTPUT } from "../programs/rollout/stack-config";
import type { DiscoveredNamespace, Target } from "../programs/rollout/types";
import { findPulumiCli } from "./support/pulumi-cli";

const A = "111111111111";
const B = "222222222222";
const ROLE = `arn:aws:iam::${B}:role/deployer`;

function ns(accountId: string, region: string, name: string): DiscoveredNamespace {
  return {
    accountId,
    region,
    namespaceId: `ns-${name.replace(/\W/g, "")}`,
    namespaceName: name,
    ecsServices: [`arn:aws:ecs:${region}:${accountId}:service/prod/${name}-api`],
    placement: {
      vpcId: `vpc-${accountId.slice(0, 3)}`,
      subnetIds: ["subnet-1", "subnet-2"],
      targetSecurityGroupIds: ["sg-app"],
      clusterArns: [`arn:aws:ecs:${region}:${accountId}:cluster/prod`],
      ports: [8080],
      servicePorts: { api: [8080] },
    },
    problem: undefined,
  };
}

// Two accounts: A is the caller's own (no role), B is reached through a role, in two Regions.
const TARGETS: Target[] = [
  { accountId: A, region: "eu-west-1", roleArn: undefined },
  { accountId: B, region: "eu-west-1", roleArn: ROLE },
  { accountId: B, region: "us-east-1", roleArn: ROLE },
];
const ORDERS = ns(A, "eu-west-1", "orders.local");
const GONE = ns(A, "eu-west-1", "gone");
const PAYMENTS = ns(B, "eu-west-1", "payments");
const SEARCH = ns(B, "us-east-1", "search");
const LEDGER = ns(B, "us-east-1", "ledger");
const SPLIT: DiscoveredNamespace = {
  ...ns(A, "eu-west-1", "split"),
  placement: undefined,
  problem: "its services span 2 VPCs",
};
const name = (d: DiscoveredNamespace): string =>
  `cmhc-${d.accountId}-${d.region}-${d.namespaceName}`;

const OPTIONS: RolloutOptions = {
  stackPrefix: "cmhc",
  namespaces: undefined,
  prune: false,
  // A pinned image: only then can an unchanged stack be a no-op.
  settings: { image: "registry.example/checker:1", interval: "5s" },
  perNamespace: {},
  toolVersion: "0.0.0-engine-test",
};

/** Updates whose probe program is running right now, and the most seen at once. */
class InFlight {
  now = 0;
  max = 0;
  /**
   * Holds the program until `limit` are in flight (or 4 s pass), then a second more: long
   * enough for any update beyond the limit to show up, without slowing the suite much.
   */
  async hold(limit: number): Promise<void> {
    this.now++;
    this.max = Math.max(this.max, this.now);
    try {
      const until = Date.now() + 4_000;
      while (this.now < limit && Date.now() < until) await sleep(25);
      await sleep(1_000);
    } finally {
      this.now--;
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Probe extends pulumi.ComponentResource {
  constructor(name: string) {
    super("cmhc:test:Probe", name, {}, {});
    this.registerOutputs({});
  }
}

/**
 * The stand-in for inlineProgram: the stack config read as programs/stack.ts and the AWS
 * provider read it, exported; the fingerprint resolved only once the stack's resource is in
 * place, as inlineProgram does. With `inFlight`, each run is counted while it lasts.
 */
function probeProgram(inFlight?: { track: InFlight; limit: number }): StackProgram {
  return async (fingerprint) => {
    const c = new pulumi.Config(CONFIG_NAMESPACE);
    const aws = new pulumi.Config("aws");
    const namespaceId = c.require("namespaceId");
    const region = aws.require("region");
    const allowedAccountIds = aws.requireObject<string[]>("allowedAccountIds");
    const account = allowedAccountIds[0];
    const checker = new Probe(c.get("name") ?? "checker");
    if (inFlight) await inFlight.track.hold(inFlight.limit);
    return {
      namespaceId,
      vpcId: c.require("vpcId"),
      subnetIds: c.requireObject<string[]>("subnetIds"),
      ecsClusterArns: c.requireObject<string[]>("ecsClusterArns"),
      image: c.require("image"),
      settings: checkerSettingsFrom(c),
      region,
      allowedAccountIds,
      assumeRoles: aws.getObject<Array<{ roleArn: string; sessionName: string }>>("assumeRoles"),
      // Named as the component's outputs, for the rollout's summary.
      dashboardName: checker.urn.apply(() => `cmhc-checker-${namespaceId}`),
      alarmArns: checker.urn.apply(() => ({
        noCycle: `arn:aws:cloudwatch:${region}:${account}:alarm:cmhc-${namespaceId}-no-cycle`,
      })),
      ...(fingerprint
        ? { [FINGERPRINT_OUTPUT]: pulumi.all([checker.urn]).apply(() => fingerprint) }
        : {}),
    };
  };
}

describe("rollout execution (Automation SDK + the real Pulumi engine)", function () {
  this.timeout(240_000);
  let root: string;
  let dir: string;
  let backendUrl: string;
  let stacksDir: string;
  /** The variables this suite sets, with their values before it (restored after it). */
  const saved = new Map<string, string | undefined>();
  const setEnv = (vars: Record<string, string>): void => {
    for (const [k, v] of Object.entries(vars)) {
      if (!saved.has(k)) saved.set(k, process.env[k]);
      process.env[k] = v;
    }
  };

  before(function () {
    const cli = findPulumiCli();
    if (cli.root === undefined) {
      // CI must never skip it silently, nor a run that names a CLI that is not there.
      if (process.env["CI"] || process.env["CMHC_PULUMI_ROOT"]) {
        throw new Error(`the rollout engine tests cannot run: ${cli.problem}`);
      }
      process.stderr.write(`    rollout engine tests skipped: ${cli.problem}\n`);
      this.skip();
    }
    root = cli.root;
    dir = mkdtempSync(path.join(tmpdir(), "cmhc-engine-"));
    backendUrl = `file://${path.join(dir, "backend")}`;
    stacksDir = path.join(dir, "backend", ".pulumi", "stacks", PROJECT);
    for (const d of ["backend", "home", "tmp"]) mkdirSync(path.join(dir, d));
    setEnv({
      // The user's backend, as the rollout finds it (execute.ts passes no backend of its own).
      PULUMI_BACKEND_URL: backendUrl,
      PULUMI_CONFIG_PASSPHRASE: "engine-test",
      // Nothing of the user's ~/.pulumi is read or written; nothing is downloaded.
      PULUMI_HOME: path.join(dir, "home"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      // Work directories land here, so the test can tell whether any is left behind.
      TMPDIR: path.join(dir, "tmp"),
    });
  });
  after(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    saved.clear();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** What the engine holds for a stack: outputs, and its update history (newest first). */
  async function engine(
    stack: string,
  ): Promise<{ outputs: Record<string, unknown>; history: UpdateSummary[] }> {
    const work = mkdtempSync(path.join(dir, "read-"));
    try {
      const ws = await LocalWorkspace.create(workspaceOptions(await pulumiCommand(root), work));
      const s = await Stack.select(stack, ws);
      const outputs = Object.fromEntries(
        Object.entries(await s.outputs()).map(([k, v]) => [k, v.value as unknown]),
      );
      return { outputs, history: await s.history() };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  /** Stack names in the backend's directory (what `stack rm` must remove). */
  const backendFiles = (): string[] =>
    existsSync(stacksDir)
      ? readdirSync(stacksDir)
          .filter((f) => /\.json(\.gz)?$/.test(f))
          .map((f) => f.replace(/\.json(\.gz)?$/, ""))
          .sort()
      : [];

  /** Existing stacks both ways the rollout reads them: the backend's files, and the CLI. */
  async function existing(): Promise<ExistingStack[]> {
    const fromFiles = fileBackendStacks(backendUrl)!;
    const fromCli = await listStacks(root);
    assert.deepEqual(fromFiles, fromCli, "file backend and `pulumi stack ls`/`output` agree");
    return fromCli;
  }

  /** What the rollout (its work directories) and the SDK left in the temporary directory. */
  const leftovers = (): string[] => readdirSync(path.join(dir, "tmp"));

  const summary = (results: StackResult[]): string[][] =>
    results.map((r) => [r.stack, r.action, r.result]);

  let created: Map<string, string>;

  it("preview previews a new namespace's stack and deploys nothing", async () => {
    const plan = planRollout({
      discovered: [LEDGER],
      existing: [],
      targets: TARGETS,
      options: OPTIONS,
    });
    const results = await executePlan(plan, "preview", {
      concurrency: 4,
      pulumiRoot: root,
      log: () => undefined,
      program: probeProgram(),
    });
    assert.deepEqual(
      results.map((r) => [r.stack, r.action, r.result, r.changes]),
      [[name(LEDGER), "create", "succeeded", { create: 2 }]],
    );
    // A preview needs a stack, but leaves none behind: the next plan still creates it.
    assert.deepEqual(await existing(), []);
    assert.deepEqual(leftovers(), []);
  });

  it("(a) up creates one stack per namespace across accounts and Regions, with its config, account guard and role", async () => {
    const plan = planRollout({
      discovered: [ORDERS, GONE, PAYMENTS, SEARCH, LEDGER, SPLIT],
      existing: await existing(),
      targets: TARGETS,
      options: OPTIONS,
    });
    const log: string[] = [];
    const results = await executePlan(plan, "up", {
      concurrency: 4,
      pulumiRoot: root,
      log: (l) => log.push(l),
      program: probeProgram(),
    });
    assert.deepEqual(
      summary(results),
      [
        [name(GONE), "create", "succeeded"],
        [name(ORDERS), "create", "succeeded"],
        [name(SPLIT), "skip", "skipped"],
        [name(PAYMENTS), "create", "succeeded"],
        [name(LEDGER), "create", "succeeded"],
        [name(SEARCH), "create", "succeeded"],
      ],
      log.join("\n"),
    );
    // The probe component and the stack itself, created for real.
    for (const r of results.filter((x) => x.result === "succeeded")) {
      assert.deepEqual(r.changes, { create: 2 }, r.stack);
    }
    // Where to look at each checker comes from the real outputs.
    const search = results.find((r) => r.stack === name(SEARCH))!;
    assert.equal(search.dashboardName, "cmhc-checker-ns-search");
    assert.deepEqual(search.alarmArns, {
      noCycle: `arn:aws:cloudwatch:us-east-1:${B}:alarm:cmhc-ns-search-no-cycle`,
    });

    // In the backend: exactly the planned stacks, none for the namespace that was skipped.
    const deployed = [ORDERS, GONE, PAYMENTS, SEARCH, LEDGER].map(name).sort();
    assert.deepEqual(backendFiles(), deployed);
    const found = await existing();
    assert.deepEqual(
      found.map((s) => s.name),
      deployed,
    );
    created = new Map(found.map((s) => [s.name, s.fingerprint!]));

    await Promise.all(
      plan.stacks
        .filter((s) => s.action !== "skip")
        .map(async (s) => {
          const { outputs, history } = await engine(s.name);
          // The config the engine ran the update with is exactly the planned config.
          assert.equal(history.length, 1, s.name);
          const config = Object.fromEntries(
            Object.entries(history[0]!.config).map(([k, v]) => [k, v.value]),
          );
          assert.deepEqual(config, s.config, s.name);
          // ... and the program read it as the checker's program does.
          const d = [ORDERS, GONE, PAYMENTS, SEARCH, LEDGER].find((x) => name(x) === s.name)!;
          assert.equal(outputs["region"], d.region);
          assert.deepEqual(outputs["allowedAccountIds"], [d.accountId]);
          assert.equal(outputs["namespaceId"], d.namespaceId);
          assert.equal(outputs["vpcId"], d.placement!.vpcId);
          assert.deepEqual(outputs["ecsClusterArns"], d.placement!.clusterArns);
          assert.equal(outputs["image"], "registry.example/checker:1");
          assert.deepEqual(outputs["settings"], { interval: "5s" });
          if (d.accountId === B) {
            assert.deepEqual(outputs["assumeRoles"], [
              { roleArn: ROLE, sessionName: "cloudmap-health-checker-rollout" },
            ]);
          } else {
            assert.equal(outputs["assumeRoles"], undefined, "no role in the caller's account");
            assert.equal(config["aws:assumeRoles"], undefined);
          }
          // Each stack exports the fingerprint of its planned config.
          assert.equal(outputs[FINGERPRINT_OUTPUT], s.fingerprint);
          assert.equal(created.get(s.name), s.fingerprint);
        }),
    );
    assert.deepEqual(leftovers(), [], "work directories removed");
  });

  it("(b) re-planned from the stacks read back: unchanged stacks are no-ops never selected, a changed setting updates its stack", async () => {
    const plan = planRollout({
      discovered: [ORDERS, GONE, PAYMENTS, SEARCH, LEDGER],
      existing: await existing(),
      targets: TARGETS,
      options: { ...OPTIONS, perNamespace: { payments: { interval: "30s" } } },
    });
    assert.deepEqual(
      plan.stacks.map((s) => [s.name, s.action]),
      [
        [name(GONE), "no-op"],
        [name(ORDERS), "no-op"],
        [name(PAYMENTS), "update"],
        [name(LEDGER), "no-op"],
        [name(SEARCH), "no-op"],
      ],
    );
    const log: string[] = [];
    const results = await executePlan(plan, "up", {
      concurrency: 4,
      pulumiRoot: root,
      log: (l) => log.push(l),
      program: probeProgram(),
    });
    assert.deepEqual(summary(results), [
      [name(GONE), "no-op", "skipped"],
      [name(ORDERS), "no-op", "skipped"],
      [name(PAYMENTS), "update", "succeeded"],
      [name(LEDGER), "no-op", "skipped"],
      [name(SEARCH), "no-op", "skipped"],
    ]);
    // No-op stacks are never selected: no progress beyond the verdict, no new update.
    for (const s of plan.stacks.filter((x) => x.action === "no-op")) {
      assert.deepEqual(
        log.filter((l) => l.startsWith(`${s.name}:`)),
        [`${s.name}: skipped: already deployed with this config`],
      );
    }
    const same = await engine(name(ORDERS));
    assert.equal(same.history.length, 1, "the no-op stack has no second update");

    // The update ran with the new config and recorded its new fingerprint.
    const payments = plan.stacks.find((s) => s.name === name(PAYMENTS))!;
    const { outputs, history } = await engine(payments.name);
    assert.equal(history.length, 2);
    assert.equal(history[0]!.kind, "update");
    assert.equal(history[0]!.config[`${CONFIG_NAMESPACE}:interval`]!.value, "30s");
    assert.deepEqual(outputs["settings"], { interval: "30s" });
    assert.equal(outputs[FINGERPRINT_OUTPUT], payments.fingerprint);
    assert.notEqual(payments.fingerprint, created.get(payments.name));
    // And the next plan sees it deployed: everything is a no-op.
    const again = planRollout({
      discovered: [ORDERS, GONE, PAYMENTS, SEARCH, LEDGER],
      existing: await existing(),
      targets: TARGETS,
      options: { ...OPTIONS, perNamespace: { payments: { interval: "30s" } } },
    });
    assert.deepEqual(
      again.stacks.map((s) => s.action),
      ["no-op", "no-op", "no-op", "no-op", "no-op"],
    );
  });

  it("(c) --prune destroys the stack of a namespace that disappeared and removes it from the backend", async () => {
    const plan = planRollout({
      discovered: [ORDERS, PAYMENTS, SEARCH, LEDGER],
      existing: await existing(),
      targets: TARGETS,
      options: { ...OPTIONS, prune: true, perNamespace: { payments: { interval: "30s" } } },
    });
    const results = await executePlan(plan, "up", {
      concurrency: 4,
      pulumiRoot: root,
      log: () => undefined,
      program: probeProgram(),
    });
    assert.deepEqual(summary(results), [
      [name(GONE), "destroy", "succeeded"],
      [name(ORDERS), "no-op", "skipped"],
      [name(PAYMENTS), "no-op", "skipped"],
      [name(LEDGER), "no-op", "skipped"],
      [name(SEARCH), "no-op", "skipped"],
    ]);
    const gone = results.find((r) => r.stack === name(GONE))!;
    assert.deepEqual(gone.changes, { delete: 2 });
    const rest = [ORDERS, PAYMENTS, SEARCH, LEDGER].map(name).sort();
    assert.deepEqual(backendFiles(), rest, "its state file is gone");
    assert.deepEqual(
      (await existing()).map((s) => s.name),
      rest,
    );
    await assert.rejects(engine(name(GONE)), /no stack named/);
    assert.deepEqual(leftovers(), []);
  });

  it("(d) never runs more updates at once than the concurrency allows", async () => {
    const track = new InFlight();
    // A new setting for every stack: four updates, two at a time.
    const options = { ...OPTIONS, settings: { ...OPTIONS.settings, interval: "10s" } };
    const plan = planRollout({
      discovered: [ORDERS, PAYMENTS, SEARCH, LEDGER],
      existing: await existing(),
      targets: TARGETS,
      options,
    });
    assert.deepEqual(
      plan.stacks.map((s) => s.action),
      ["update", "update", "update", "update"],
    );
    // Each stack's whole turn, from the rollout's own progress lines.
    const spans = new Map<string, { start: number; end: number }>();
    const results = await executePlan(plan, "up", {
      concurrency: 2,
      pulumiRoot: root,
      log: (l) => {
        const [stack, what] = l.split(": ");
        if (what === "creating or selecting stack")
          spans.set(stack!, { start: Date.now(), end: 0 });
        else if (what === "succeeded" || what?.startsWith("failed"))
          spans.get(stack!)!.end = Date.now();
      },
      program: probeProgram({ track, limit: 2 }),
    });
    assert.deepEqual(
      results.map((r) => r.result),
      ["succeeded", "succeeded", "succeeded", "succeeded"],
    );
    assert.equal(
      track.max,
      2,
      `at most 2 updates at once, and 2 do run together (saw ${track.max})`,
    );
    // Most stacks in hand at once: the count is highest just as one starts.
    const all = [...spans.values()];
    const most = Math.max(
      ...all.map((a) => all.filter((b) => b.start <= a.start && a.start < b.end).length),
    );
    assert.equal(most, 2, `at most 2 stacks in hand at once, saw ${most}`);
    for (const s of plan.stacks) {
      const { outputs } = await engine(s.name);
      assert.equal(outputs[FINGERPRINT_OUTPUT], s.fingerprint, s.name);
      assert.deepEqual(outputs["settings"], { interval: "10s" }, s.name);
    }
  });

  it("(e) destroy removes every stack from the backend", async () => {
    const plan = planRollout({
      discovered: [ORDERS, PAYMENTS, SEARCH, LEDGER],
      existing: await existing(),
      targets: TARGETS,
      options: OPTIONS,
    });
    const results = await executePlan(plan, "destroy", {
      concurrency: 4,
      pulumiRoot: root,
      log: () => undefined,
      program: probeProgram(),
    });
    assert.deepEqual(
      results.map((r) => [r.stack, r.result, r.changes]),
      [ORDERS, PAYMENTS, LEDGER, SEARCH].map((d) => [name(d), "succeeded", { delete: 2 }]),
    );
    assert.deepEqual(backendFiles(), []);
    assert.deepEqual(await existing(), []);
    assert.deepEqual(leftovers(), []);
  });
});
