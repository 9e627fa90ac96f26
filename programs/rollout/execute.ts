// Execution through the Automation API: an inline program (the same one `pulumi up` runs) per
// stack, one work directory per stack, one shared PulumiCommand, bounded concurrency, and
// errors isolated per stack.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ConcurrentUpdateError,
  LocalWorkspace,
  PulumiCommand,
  StackAlreadyExistsError,
  StackNotFoundError,
  type ConfigMap,
  type LocalWorkspaceOptions,
  type OpMap,
  type OutputMap,
} from "@pulumi/pulumi/automation";
import * as pulumi from "@pulumi/pulumi";
import { createStack } from "../stack";
import { pool } from "../../checker/util/pool";
import { PROJECT } from "./existing";
import type { ExistingStack, PlannedStack, RolloutPlan } from "./plan";
import { FINGERPRINT_OUTPUT } from "./stack-config";

export type Operation = "preview" | "up" | "destroy";

export interface StackResult {
  readonly stack: string;
  readonly action: string;
  readonly result: "succeeded" | "failed" | "skipped";
  readonly changes: Readonly<Record<string, number>>;
  readonly durationMs: number;
  readonly error?: string;
  /** After `up`: where to look at the stack's checker (its dashboard, its alarms). */
  readonly dashboardName?: string;
  readonly alarmArns?: Readonly<Record<string, string>>;
}

/**
 * The inline program: exactly what Pulumi.yaml's program does, from the stack's config. With a
 * fingerprint it also exports it, resolved only once the checker's service is in place, so a
 * failed update never records a config as deployed.
 */
export async function inlineProgram(fingerprint?: string): Promise<Record<string, unknown>> {
  const c = createStack();
  return {
    serviceArn: c.serviceArn,
    taskRoleArn: c.taskRoleArn,
    securityGroupId: c.securityGroupId,
    logGroupName: c.logGroupName,
    stateTableName: c.stateTableName,
    dashboardName: c.dashboardName,
    alarmArns: c.alarmArns,
    ...(fingerprint
      ? {
          [FINGERPRINT_OUTPUT]: pulumi
            .all([c.serviceArn, c.securityGroupId, c.stateTableName])
            .apply(() => fingerprint),
        }
      : {}),
  };
}

/**
 * What runs as a stack's program, given the fingerprint it must export (under
 * FINGERPRINT_OUTPUT) once deployed. Always inlineProgram outside tests.
 */
export type StackProgram = (fingerprint: string | undefined) => Promise<Record<string, unknown>>;

const commands = new Map<string, Promise<PulumiCommand>>();
/** One PulumiCommand for every workspace (many parallel lookups can mis-detect the version). */
export function pulumiCommand(root: string | undefined): Promise<PulumiCommand> {
  const key = root ?? "";
  let cmd = commands.get(key);
  if (!cmd) commands.set(key, (cmd = PulumiCommand.get(root ? { root } : {})));
  return cmd;
}

export function workspaceOptions(cmd: PulumiCommand, workDir: string): LocalWorkspaceOptions {
  return {
    workDir,
    pulumiCommand: cmd,
    projectSettings: { name: PROJECT, runtime: "nodejs" },
    // The user's backend (PULUMI_BACKEND_URL or `pulumi login`) is inherited from the environment.
  };
}

/** Existing stacks with the fingerprint each was last deployed with (`stack output`). */
export async function listStacks(
  pulumiRoot: string | undefined,
  concurrency = 4,
): Promise<ExistingStack[]> {
  const cmd = await pulumiCommand(pulumiRoot);
  const dir = mkdtempSync(path.join(tmpdir(), "cmhc-rollout-"));
  try {
    const ws = await LocalWorkspace.create(workspaceOptions(cmd, dir));
    const out: ExistingStack[] = [];
    // `stack output --stack` reads without selecting, so one work directory serves them all.
    await pool(await ws.listStacks(), concurrency, async (s) => {
      const outputs = await ws.stackOutputs(s.name).catch(() => ({}) as OutputMap);
      const print = outputs[FINGERPRINT_OUTPUT]?.value as unknown;
      out.push({ name: s.name, ...(typeof print === "string" ? { fingerprint: print } : {}) });
    });
    return out.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function explain(err: unknown): string {
  if (err instanceof ConcurrentUpdateError) {
    return "another update of this stack is in progress; retry when it ends (or `pulumi cancel` it)";
  }
  if (err instanceof StackNotFoundError) return "the stack does not exist (already destroyed?)";
  if (err instanceof StackAlreadyExistsError) return "the stack already exists";
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n").filter(Boolean).slice(-6).join(" | ");
}

function counts(map: OpMap | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(map ?? {}).filter(([, n]) => (n ?? 0) > 0)) as Record<
    string,
    number
  >;
}

export async function executePlan(
  plan: RolloutPlan,
  operation: Operation,
  opts: {
    concurrency: number;
    pulumiRoot?: string;
    log: (line: string) => void;
    /**
     * The program each stack runs; inlineProgram unless given. Tests pass one that reads the
     * stack config the same way but creates no provider resources, so the whole execution
     * path runs against the real Pulumi engine without cloud credentials or provider plugins.
     */
    program?: StackProgram;
  },
): Promise<StackResult[]> {
  const cmd = await pulumiCommand(opts.pulumiRoot);
  const program = opts.program ?? inlineProgram;
  const results: StackResult[] = [];
  await pool(plan.stacks, opts.concurrency, async (s) => {
    results.push(await runOne(s, operation, cmd, program, opts.log));
  });
  return results.sort((a, b) => a.stack.localeCompare(b.stack));
}

async function runOne(
  s: PlannedStack,
  operation: Operation,
  cmd: PulumiCommand,
  program: StackProgram,
  log: (line: string) => void,
): Promise<StackResult> {
  const started = Date.now();
  const done = (
    result: StackResult["result"],
    changes: Record<string, number>,
    error?: string,
    outputs: OutputMap = {},
  ): StackResult => {
    log(`${s.name}: ${result}${error ? `: ${error}` : ""}`);
    const dashboardName = outputs["dashboardName"]?.value as unknown;
    const alarmArns = outputs["alarmArns"]?.value as unknown;
    return {
      stack: s.name,
      action: s.action,
      result,
      changes,
      durationMs: Date.now() - started,
      ...(error ? { error } : {}),
      ...(typeof dashboardName === "string" ? { dashboardName } : {}),
      ...(typeof alarmArns === "object" && alarmArns !== null
        ? { alarmArns: alarmArns as Record<string, string> }
        : {}),
    };
  };
  const destroying = s.action === "destroy" || operation === "destroy";
  if (destroying && !s.exists) return done("skipped", {}, "no stack to destroy");
  if (!destroying && s.action === "skip") return done("skipped", {}, s.reason);
  if (!destroying && s.action === "no-op") {
    return done("skipped", {}, "already deployed with this config");
  }
  const workDir = mkdtempSync(path.join(tmpdir(), "cmhc-stack-"));
  try {
    log(`${s.name}: ${destroying ? "selecting" : "creating or selecting"} stack`);
    const args = {
      stackName: s.name,
      projectName: PROJECT,
      program: () => program(s.fingerprint),
    };
    const stack = destroying
      ? await LocalWorkspace.selectStack(args, workspaceOptions(cmd, workDir))
      : await LocalWorkspace.createOrSelectStack(args, workspaceOptions(cmd, workDir));
    if (!destroying) {
      log(`${s.name}: setting ${Object.keys(s.config).length} config values`);
      const config: ConfigMap = Object.fromEntries(
        Object.entries(s.config).map(([k, value]) => [k, { value }]),
      );
      await stack.setAllConfig(config);
    }
    if (operation === "preview") {
      log(`${s.name}: previewing`);
      try {
        const r = destroying ? await stack.previewDestroy() : await stack.preview();
        return done("succeeded", counts(r.changeSummary));
      } finally {
        // A preview needs a stack, but must leave none behind: the next plan would then call
        // the new namespace's stack an update of an empty one.
        if (!s.exists) await stack.workspace.removeStack(s.name).catch(() => undefined);
      }
    }
    if (destroying) {
      log(`${s.name}: destroying`);
      const r = await stack.destroy({ onOutput: () => undefined });
      await stack.workspace.removeStack(s.name);
      return done("succeeded", counts(r.summary.resourceChanges));
    }
    log(`${s.name}: updating`);
    const r = await stack.up({ onOutput: () => undefined });
    return done("succeeded", counts(r.summary.resourceChanges), undefined, r.outputs);
  } catch (err) {
    return done("failed", {}, explain(err));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
