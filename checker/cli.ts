#!/usr/bin/env node
// Entry point: the only place that builds AWS clients. `run` loops until SIGTERM; `once`
// runs one cycle and prints a JSON report.

import { Command } from "commander";
import { systemClock } from "./clock";
import {
  addConfigOptions,
  ConfigError,
  flagsFromCommander,
  parseConfig,
  type CheckerConfig,
} from "./config";
import { Checker } from "./loop/checker";
import { runLoop } from "./loop/run-loop";
import { createLogger } from "./observability/logger";
import { Metrics } from "./observability/metrics";
import { startStatusServer } from "./observability/server";
import { buildCheckerDeps } from "./wiring";
import { buildAwsClients } from "./aws/clients";
import { ensureStateTable } from "./state/init-table";

/** Grace for a clean exit after SIGTERM before the process forces itself down. */
const SHUTDOWN_DEADLINE_MS = 5000;

function loadConfig(opts: Record<string, unknown>): CheckerConfig {
  try {
    return parseConfig({ flags: flagsFromCommander(opts), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cloudmap-health-checker: invalid configuration\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function run(opts: Record<string, unknown>): Promise<void> {
  const config = loadConfig(opts);
  const logger = createLogger(config.logLevel);
  const metrics = new Metrics({ processMetrics: true });
  const deps = buildCheckerDeps(config, logger, metrics);
  const { status } = deps;
  const server = await startStatusServer({
    host: config.listen.host,
    port: config.listen.port,
    status,
    metrics,
    now: systemClock.now,
  });
  logger.info({ listen: server.url }, "serving /healthz, /metrics and /status");
  if (!config.stateTable) {
    logger.warn(
      "state store is in memory (no --state-table): instances taken out are forgotten if the " +
        "checker restarts, and replicas cannot coordinate",
    );
  }

  const controller = new AbortController();
  const stop = (sig: string): void => {
    if (controller.signal.aborted) return;
    logger.info({ signal: sig }, "stopping: finishing or abandoning the current cycle");
    controller.abort();
    setTimeout(() => {
      logger.error("shutdown deadline passed; exiting");
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  let checker: Checker | undefined;
  // The namespace lookup itself can hit throttling: retry it rather than crash.
  for (let attempt = 1; !checker && !controller.signal.aborted; attempt++) {
    try {
      checker = await Checker.create(deps);
    } catch (err) {
      logger.error({ err: String(err), attempt }, "could not resolve the namespace; retrying");
      await systemClock.sleep(Math.min(60_000, 1000 * 2 ** attempt), controller.signal);
    }
  }
  if (checker) {
    await runLoop(
      checker,
      { clock: systemClock, logger, metrics, status, intervalMs: config.intervalMs },
      controller.signal,
    );
    await checker.release();
  }
  await server.close();
  logger.info("stopped");
  // Idle SDK sockets would otherwise hold the process open for a while.
  process.exit(0);
}

async function once(opts: Record<string, unknown>): Promise<void> {
  const config = loadConfig(opts);
  // stdout carries the JSON report; logs go to stderr.
  const logger = createLogger(config.logLevel, "stderr");
  const metrics = new Metrics();
  const deps = buildCheckerDeps(config, logger, metrics);
  try {
    const checker = await Checker.create(deps);
    const report = await checker.runCycle();
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } catch (err) {
    logger.error({ err: String(err) }, "the cycle could not run");
    process.exitCode = 1;
  }
}

async function initState(opts: { stateTable?: string }): Promise<void> {
  const table = opts.stateTable ?? process.env["CMHC_STATE_TABLE"];
  if (!table) {
    process.stderr.write("cloudmap-health-checker: --state-table / CMHC_STATE_TABLE: required\n");
    process.exit(2);
  }
  const { dynamodb } = buildAwsClients({});
  const outcome = await ensureStateTable(dynamodb, table);
  process.stdout.write(
    `state table ${table}: ${outcome === "created" ? "created" : "already exists"}\n`,
  );
}

export function buildProgram(): Command {
  const program = new Command("cloudmap-health-checker")
    .description(
      "Health checks for the instances of an AWS Cloud Map namespace (ECS Service Connect)",
    )
    .showHelpAfterError();
  addConfigOptions(
    program.command("run").description("check the namespace every interval until SIGTERM"),
  ).action(run);
  addConfigOptions(
    program.command("once").description("run one cycle, print a JSON report, exit"),
  ).action(once);
  program
    .command("init-state")
    .description("create the DynamoDB state table (idempotent)")
    .option("--state-table <name>", "table to create [env CMHC_STATE_TABLE]")
    .action(initState);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`cloudmap-health-checker: ${String(err)}\n`);
      process.exit(1);
    });
}
