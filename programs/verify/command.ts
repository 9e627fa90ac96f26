// `cloudmap-health-checker-rollout verify`: measures, in the user's account, whether and how
// fast Service Connect stops sending to a task deregistered from Cloud Map (see flow.ts). Exit 0
// when the experiment ran, whatever the verdict; 1 when it could not; 2 on bad flags; 130 when
// interrupted (after cleaning up).

import { randomBytes } from "node:crypto";
import { EC2Client } from "@aws-sdk/client-ec2";
import type { Command } from "commander";
import { buildAwsClients } from "../../checker/aws/clients";
import { SdkCloudMap } from "../../checker/aws/cloudmap";
import { SdkEcs } from "../../checker/aws/ecs";
import { duration } from "../../checker/config/values";
import { NamespaceLookupError } from "../../checker/ports";
import {
  CloudWatchLogsClient,
  clusterNamespace,
  FlagError,
  networkOfCluster,
  trafficReader,
  vpcOfSubnet,
} from "./aws";
import { automationDeployer } from "./deploy";
import { runVerify, type VerifyResult } from "./flow";

interface VerifyFlags {
  namespace?: string;
  cluster: string;
  subnets?: string;
  securityGroups?: string;
  region?: string;
  image?: string;
  architecture: string;
  rate: string;
  quiet: string;
  bound: string;
  startTimeout: string;
  poll: string;
  keep?: boolean;
  json?: boolean;
  pulumiRoot?: string;
  experimentId?: string;
}

const list = (s: string | undefined): string[] =>
  (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

function durationFlag(flag: string, text: string, minMs: number): number {
  try {
    return duration(minMs)(text);
  } catch (err) {
    throw new FlagError(`${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function printResult(r: VerifyResult, write: (s: string) => void): void {
  const line = (what: string, value: string): string => `  ${what.padEnd(34)} ${value}`;
  const row = (what: string, m: VerifyResult["deregistration"]): string =>
    line(what, m.ok ? `${m.afterS} s` : `not within ${r.boundS} s`);
  write(
    [
      `experiment ${r.stack}: task A ${r.taskA}, task B ${r.taskB} (quiet = no request for ${r.quietS} s)`,
      row("A deregistered -> quiet", r.deregistration),
      row("A re-registered -> traffic again", r.reRegistration),
      row("B stopped (StopTask) -> quiet", r.stopTask),
      ...(r.ecsReRegisteredAfterS !== undefined
        ? [line("ECS re-registered A after", `${r.ecsReRegisteredAfterS} s`)]
        : []),
      `verdict: ${r.verdict}`,
      "(times have a resolution of 1 s: the client logs once a second)",
      "",
    ].join("\n"),
  );
}

async function verify(o: VerifyFlags): Promise<void> {
  const err = (s: string): void => void process.stderr.write(`${s}\n`);
  const rate = Number(o.rate);
  if (!Number.isInteger(rate) || rate < 1 || rate > 1000) {
    throw new FlagError(`--rate: expected an integer from 1 to 1000, got "${o.rate}"`);
  }
  if (o.architecture !== "ARM64" && o.architecture !== "X86_64") {
    throw new FlagError(`--architecture: expected ARM64 or X86_64, got "${o.architecture}"`);
  }
  const experimentId = o.experimentId ?? randomBytes(4).toString("hex");
  const opts = {
    quietMs: durationFlag("--quiet", o.quiet, 1000),
    boundMs: durationFlag("--bound", o.bound, 1000),
    startMs: durationFlag("--start-timeout", o.startTimeout, 1000),
    pollMs: durationFlag("--poll", o.poll, 100),
    keep: o.keep === true,
  };
  const clients = buildAwsClients({ ...(o.region ? { region: o.region } : {}) });
  const cloudMap = new SdkCloudMap(clients.serviceDiscovery);
  const ecs = new SdkEcs(clients.ecs);
  const region = o.region ?? (await clients.ecs.config.region());
  const namespace = await cloudMap.resolveNamespace(
    o.namespace ?? (await clusterNamespace(clients.ecs, o.cluster)),
  );
  let subnets = list(o.subnets);
  let securityGroups = list(o.securityGroups);
  if (subnets.length === 0) {
    const found = await networkOfCluster(clients.ecs, o.cluster);
    if (found === undefined) {
      throw new FlagError(
        `--subnets: none given, and no awsvpc service in cluster ${o.cluster} to take them from`,
      );
    }
    err(
      `using the subnets and security groups of a service in ${o.cluster}: ${found.subnets.join(",")}`,
    );
    subnets = found.subnets;
    if (securityGroups.length === 0) securityGroups = found.securityGroups;
  }
  const vpcId = await vpcOfSubnet(new EC2Client({ region }), subnets[0]!);
  const deployer = automationDeployer({
    experiment: {
      experimentId,
      namespace: namespace.name,
      clusterArn: o.cluster,
      vpcId,
      subnetIds: subnets,
      securityGroupIds: securityGroups,
      ...(o.image ? { image: o.image } : {}),
      architecture: o.architecture,
      rate,
    },
    cluster: o.cluster,
    namespaceId: namespace.id,
    region,
    pulumiRoot: o.pulumiRoot,
  });
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      err(`${sig} again: exiting now; run verify again to remove stack ${deployer.stackName}`);
      process.exit(130);
    }
    interrupted = true;
    err(`${sig}: stopping the experiment and cleaning up (again to exit at once)`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const started = Date.now();
  try {
    const result = await runVerify(
      {
        deployer,
        cloudMap,
        stopTask: (cluster, taskId, reason) => ecs.stopTask(cluster, taskId, reason),
        traffic: trafficReader(new CloudWatchLogsClient({ region })),
        now: Date.now,
        sleep: (ms, signal) =>
          new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, ms);
            signal.addEventListener(
              "abort",
              () => {
                clearTimeout(t);
                reject(signal.reason as Error);
              },
              { once: true },
            );
          }),
        progress: (line) => err(`[${Math.round((Date.now() - started) / 1000)} s] ${line}`),
      },
      opts,
      controller.signal,
    );
    if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else printResult(result, (s) => process.stdout.write(s));
  } catch (e) {
    if (interrupted) {
      err("interrupted; the experiment is cleaned up");
      process.exitCode = 130;
      return;
    }
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export function addVerifyCommand(program: Command): void {
  program
    .command("verify")
    .description(
      "deploy a small experiment and measure whether, and how fast, Service Connect stops sending to a task deregistered from Cloud Map",
    )
    .option(
      "--namespace <id|name>",
      "the Service Connect namespace (default: the cluster's Service Connect default)",
    )
    .requiredOption("--cluster <name|arn>", "the ECS cluster to run the experiment in")
    .option("--subnets <ids>", "private subnets (default: those of a service in the cluster)")
    .option("--security-groups <ids>", "extra security groups for the experiment's tasks")
    .option("--region <region>", "AWS Region (default: the SDK's)")
    .option("--image <uri>", "the checker image (default: build checker/Dockerfile)")
    .option("--architecture <ARM64|X86_64>", "task CPU architecture", "ARM64")
    .option("--rate <n>", "requests a second the client sends", "20")
    .option("--quiet <duration>", "no request for this long counts as drained", "30s")
    .option("--bound <duration>", "how long to wait for each change", "5m")
    .option("--start-timeout <duration>", "how long the tasks may take to get traffic", "10m")
    .option("--poll <duration>", "how often to read the client's log", "2s")
    .option("--keep", "leave the experiment's stack in place")
    .option("--json", "print the result as JSON")
    .option("--pulumi-root <dir>", "where the Pulumi CLI is installed")
    .option("--experiment-id <id>", "this run's ID (default: random)")
    .action(async (o: VerifyFlags) => {
      try {
        await verify(o);
      } catch (e) {
        const text = e instanceof Error ? e.message : String(e);
        if (e instanceof NamespaceLookupError) {
          process.stderr.write(`verify: --namespace: ${text}\n`);
          process.exitCode = 2;
        } else if (e instanceof FlagError) {
          process.stderr.write(`verify: ${text}\n`);
          process.exitCode = 2;
        } else {
          // VerifyError says what it could not do; anything else is AWS's or Pulumi's answer.
          process.stderr.write(`verify could not run: ${text}\n`);
          process.exitCode = 1;
        }
      }
    });
}
