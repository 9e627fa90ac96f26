#!/usr/bin/env node
// cloudmap-health-checker-rollout: one checker stack per Service Connect namespace, across
// accounts and Regions. `plan` discovers and prints; preview/up/destroy run the plan.

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { checkerEnvironment } from "../../components/checker-env";
import { monitoringProblems } from "../../components/validate";
import { currentAccount, targets } from "./aws";
import { discoverAll, type DiscoveryResult } from "./discovery-run";
import { fileBackendStacks } from "./existing";
import { executePlan, listStacks, type Operation } from "./execute";
import { planRollout, type RolloutOptions, type RolloutPlan, type StackSettings } from "./plan";
import { printPlan, printSummary } from "./report";
import {
  addMonitoringOptions,
  addSettingOptions,
  commaList,
  monitoringFromFlags,
  settingsFromFlags,
} from "./settings";
import { addVerifyCommand } from "../verify/command";
import { packageVersion } from "../../checker/version";

export interface CliOptions {
  regions?: string;
  accounts?: string;
  roleName?: string;
  namespaces?: string;
  prune?: boolean;
  /** Accounts x Regions, and stacks, handled at once (`--concurrency` is the checker's own). */
  parallel: string;
  stackPrefix: string;
  json?: boolean;
  configFile?: string;
  pulumiRoot?: string;
  image?: string;
  desiredCount?: string;
  stateTableName?: string;
  clusterArn?: string;
  /** Checker settings, as addSettingOptions names them. */
  [setting: string]: unknown;
}

const list = (s: string | undefined): string[] | undefined =>
  s === undefined ? undefined : commaList(s);

/** The tool's version: part of every stack's fingerprint, so an upgrade updates each stack. */
function toolVersion(): string {
  return packageVersion();
}

/** Settings for every stack: the config file's `settings`, then flags. */
export function settingsFrom(o: CliOptions, file: ConfigFile): StackSettings {
  let desiredCount: number | undefined;
  if (o.desiredCount !== undefined) {
    desiredCount = Number(o.desiredCount);
    if (!Number.isInteger(desiredCount) || desiredCount < 1)
      throw new Error(`--desired-count: expected an integer >= 1, got ${o.desiredCount}`);
  }
  const flags: StackSettings = {
    ...settingsFromFlags(o),
    ...monitoringFromFlags(o),
    image: o.image,
    desiredCount,
    stateTableName: o.stateTableName,
    clusterArn: o.clusterArn,
  };
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return { ...file.settings, ...defined };
}

/**
 * Checks every stack's settings with the checker's own parser, before any stack is touched:
 * a bad value in the config file fails `plan` with the namespace and the setting named.
 */
export function validateSettings(settings: StackSettings, file: ConfigFile): void {
  const problems: string[] = [];
  const check = (where: string, s: StackSettings): void => {
    try {
      checkerEnvironment(s, 8080);
    } catch (err) {
      problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const p of monitoringProblems(s)) problems.push(`${where}: ${p}`);
  };
  check("settings", settings);
  for (const [ns, own] of Object.entries(file.namespaces ?? {})) {
    check(`namespaces.${ns}`, { ...settings, ...own });
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

export interface ConfigFile {
  readonly settings?: StackSettings;
  readonly namespaces?: Record<string, StackSettings>;
}

function readConfigFile(file: string | undefined): ConfigFile {
  if (!file) return {};
  const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(
      `--config-file ${file}: expected a JSON object with "settings" and/or "namespaces"`,
    );
  }
  return parsed as ConfigFile;
}

async function buildPlan(
  o: CliOptions,
  existingFromPulumi: boolean,
): Promise<{ plan: RolloutPlan; discovery: DiscoveryResult }> {
  const file = readConfigFile(o.configFile);
  // Settings first: a typo fails before any AWS call.
  const settings = settingsFrom(o, file);
  validateSettings(settings, file);
  const regions = list(o.regions) ?? [
    process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"] ?? "",
  ];
  if (!regions[0]) throw new Error("--regions: no Region given and none in AWS_REGION");
  const me = await currentAccount(regions[0]);
  const accounts = list(o.accounts) ?? [me.accountId];
  if (o.accounts && !o.roleName && accounts.some((a) => a !== me.accountId)) {
    throw new Error(
      "--accounts other than the current one need --role-name (the role to assume in each)",
    );
  }
  const concurrency = Number(o.parallel);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error("--parallel: expected an integer >= 1");
  // Only assume a role in accounts other than the caller's own.
  const all = targets(accounts, regions, o.roleName, me.partition).map((t) =>
    t.accountId === me.accountId ? { ...t, roleArn: undefined } : t,
  );
  const discovery = await discoverAll(all, concurrency);
  const existing = existingFromPulumi
    ? await listStacks(o.pulumiRoot, concurrency)
    : (fileBackendStacks(process.env["PULUMI_BACKEND_URL"]) ?? []);
  const options: RolloutOptions = {
    stackPrefix: o.stackPrefix,
    namespaces: list(o.namespaces),
    prune: o.prune ?? false,
    settings,
    perNamespace: file.namespaces ?? {},
    toolVersion: toolVersion(),
  };
  return {
    plan: planRollout({
      discovered: discovery.namespaces,
      existing,
      targets: discovery.succeeded,
      options,
    }),
    discovery,
  };
}

export function addOptions(cmd: Command): Command {
  addSettingOptions(cmd);
  addMonitoringOptions(cmd);
  return cmd
    .option("--regions <list>", "comma-separated Regions (default: the SDK's Region)")
    .option(
      "--accounts <list>",
      "comma-separated account IDs (default: the current credentials' account)",
    )
    .option(
      "--role-name <name>",
      "role to assume in each other account: arn:aws:iam::ACCOUNT:role/NAME",
    )
    .option("--namespaces <list>", "only these namespaces (names or IDs)")
    .option("--prune", "destroy checker stacks whose namespace no longer exists")
    .option("--parallel <n>", "accounts x Regions, and stacks, handled at once", "4")
    .option("--stack-prefix <prefix>", "stack names: PREFIX-ACCOUNT-REGION-NAMESPACE", "cmhc")
    .option("--json", "machine-readable output")
    .option(
      "--config-file <file>",
      'JSON: {"settings": {...every stack}, "namespaces": {"NAME": {...}}}',
    )
    .option("--pulumi-root <dir>", "directory holding bin/pulumi (default: pulumi on PATH)")
    .option("--image <uri>", "prebuilt checker image for every stack")
    .option("--desired-count <n>", "checker replicas per namespace")
    .option("--cluster-arn <arn>", "an existing ECS cluster to run every checker in")
    .option("--state-table-name <name>", "an existing state table for every stack");
}

async function planCommand(o: CliOptions): Promise<void> {
  const { plan, discovery } = await buildPlan(o, false);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ...plan, failures: discovery.failures }, null, 2)}\n`);
  } else {
    printPlan(plan, discovery.failures);
  }
  if (discovery.failures.length > 0) process.exitCode = 1;
}

function runCommand(operation: Operation) {
  return async (o: CliOptions): Promise<void> => {
    const { plan, discovery } = await buildPlan(o, true);
    if (!o.json) printPlan(plan, discovery.failures);
    const results = await executePlan(plan, operation, {
      concurrency: Number(o.parallel),
      pulumiRoot: o.pulumiRoot,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    if (o.json)
      process.stdout.write(
        `${JSON.stringify({ results, failures: discovery.failures }, null, 2)}\n`,
      );
    else printSummary(results);
    if (results.some((r) => r.result === "failed") || discovery.failures.length > 0)
      process.exitCode = 1;
  };
}

export function buildRolloutProgram(): Command {
  const program = new Command("cloudmap-health-checker-rollout")
    .version(packageVersion())
    .description(
      "Discover ECS Service Connect namespaces across accounts and Regions; keep one checker stack per namespace",
    );
  addOptions(
    program.command("plan").description("discover and print what would happen; touches no stack"),
  ).action(planCommand);
  addOptions(program.command("preview").description("preview every planned stack")).action(
    runCommand("preview"),
  );
  addOptions(program.command("up").description("create or update every planned stack")).action(
    runCommand("up"),
  );
  addOptions(
    program.command("destroy").description("destroy every discovered checker stack"),
  ).action(runCommand("destroy"));
  addVerifyCommand(program);
  return program;
}

if (require.main === module) {
  buildRolloutProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(
        `cloudmap-health-checker-rollout: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(2);
    });
}
