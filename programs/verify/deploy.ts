// The experiment's stack through the Automation API: its own stack (prefixed, unique per run) in
// the rollout's project and the user's backend, an inline program of one VerifyExperiment.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { VerifyExperiment, type VerifyExperimentArgs } from "../../components/verify-experiment";
import { PROJECT } from "../rollout/existing";
import { pulumiCommand, workspaceOptions } from "../rollout/execute";
import type { Deployer, ExperimentOutputs } from "./flow";

export const VERIFY_STACK_PREFIX = "cmhc-verify-";

export interface DeployInput {
  readonly experiment: VerifyExperimentArgs;
  /** What the flow needs beside the stack's outputs. */
  readonly cluster: string;
  readonly namespaceId: string;
  readonly region: string;
  readonly pulumiRoot?: string;
}

export function automationDeployer(input: DeployInput): Deployer {
  const stackName = `${VERIFY_STACK_PREFIX}${input.experiment.experimentId}`;
  const program = async (): Promise<Record<string, unknown>> => {
    const e = new VerifyExperiment("verify", input.experiment);
    return {
      discoveryName: e.discoveryName,
      logGroupName: e.logGroupName,
      echoServiceName: e.echoServiceName,
      clientServiceName: e.clientServiceName,
    };
  };
  const withStack = async <T>(
    name: string,
    create: boolean,
    use: (s: Stack) => Promise<T>,
  ): Promise<T> => {
    const cmd = await pulumiCommand(input.pulumiRoot);
    const dir = mkdtempSync(path.join(tmpdir(), "cmhc-verify-"));
    try {
      const args = { stackName: name, projectName: PROJECT, program };
      const opts = workspaceOptions(cmd, dir);
      const stack = create
        ? await LocalWorkspace.createOrSelectStack(args, opts)
        : await LocalWorkspace.selectStack(args, opts);
      return await use(stack);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // This run's own stack may be destroyed from a fresh workspace (created or selected: `up`
  // created it); a leftover is selected, as the backend listed it.
  const destroyStack = (name: string): Promise<void> =>
    withStack(name, name === stackName, async (s) => {
      await s.setConfig("aws:region", { value: input.region });
      await s.destroy({ onOutput: () => undefined });
      await s.workspace.removeStack(name);
    });
  return {
    stackName,
    async up(): Promise<ExperimentOutputs> {
      return withStack(stackName, true, async (s) => {
        await s.setConfig("aws:region", { value: input.region });
        const r = await s.up({ onOutput: () => undefined });
        const out = (k: string): string => {
          const v = r.outputs[k]?.value as unknown;
          if (typeof v !== "string") throw new Error(`the experiment stack has no output ${k}`);
          return v;
        };
        return {
          cluster: input.cluster,
          namespaceId: input.namespaceId,
          discoveryName: out("discoveryName"),
          logGroupName: out("logGroupName"),
        };
      });
    },
    destroy: () => destroyStack(stackName),
    async leftovers(): Promise<string[]> {
      const cmd = await pulumiCommand(input.pulumiRoot);
      const dir = mkdtempSync(path.join(tmpdir(), "cmhc-verify-"));
      try {
        const ws = await LocalWorkspace.create(workspaceOptions(cmd, dir));
        return (await ws.listStacks())
          .map((s) => s.name)
          .filter((n) => n.startsWith(VERIFY_STACK_PREFIX) && n !== stackName)
          .sort();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    destroyStack,
  };
}
