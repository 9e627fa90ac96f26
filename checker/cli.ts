#!/usr/bin/env node
// Entry point: the only place that builds AWS clients. `run` loops until SIGTERM; `once`
// runs one cycle and prints a JSON report. Bad start-up input exits 2 (see startup.ts).

import { Command, CommanderError } from "commander";
import { describeAwsError, isTransientAwsError } from "./aws/errors";
import { systemClock } from "./clock";
import {
  addConfigOptions,
  ConfigError,
  configOption,
  describeUnknownVariable,
  flagsFromCommander,
  optionSpec,
  parseConfig,
  parseStateTable,
  settingLabel,
  unknownVariables,
  type CheckerConfig,
} from "./config";
import { Checker, type CheckerDeps } from "./cycle/checker";
import { runLoop } from "./cycle/run-loop";
import type { EmfSink } from "./observability/emf";
import { createLogger, logStream, type Logger } from "./observability/logger";
import { Metrics } from "./observability/metrics";
import { startStatusServer, type StatusServer } from "./observability/server";
import type { StatusBook } from "./observability/status";
import { NamespaceLookupError } from "./ports";
import { EXIT_BAD_INPUT, exitBadInput, listenProblem, PROGRAM, retryDelayMs } from "./startup";
import { buildCheckerDeps } from "./wiring";
import { buildAwsClients } from "./aws/clients";
import { ensureStateTable } from "./state/init-table";
import { addVerifyModes } from "./verify/modes";
import { packageVersion } from "./version";

/** Grace for a clean exit after SIGTERM before the process forces itself down. */
const SHUTDOWN_DEADLINE_MS = 5000;

const NAMESPACE_HINT =
  `create it (the checker keeps looking), or correct ${settingLabel("namespace")}; ` +
  "a namespace belongs to one account and Region";

/** Notes on CMHC_* variables that are no setting: a misspelling would otherwise go unseen. */
function unknownVariableNotes(): string[] {
  return unknownVariables(process.env).map(describeUnknownVariable);
}

/**
 * The config, a logger and the EMF sink (on the logs' own stream, so records and log lines
 * never interleave mid-line), after warning of variables that are no setting; exits 2 if bad.
 */
function start(
  opts: Record<string, unknown>,
  destination: "stdout" | "stderr",
): { config: CheckerConfig; logger: Logger; emf: EmfSink | undefined } {
  let config: CheckerConfig;
  try {
    config = parseConfig({ flags: flagsFromCommander(opts), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) exitBadInput(err.problems, unknownVariableNotes());
    throw err;
  }
  const stream = logStream(destination);
  const logger = createLogger(config.logLevel, stream);
  // First line: which build runs (the image's label and /status say the same).
  logger.info(
    { version: packageVersion(), node: process.versions.node },
    `${PROGRAM} ${packageVersion()} starting`,
  );
  for (const u of unknownVariables(process.env)) {
    logger.warn({ variable: u.name, closest: u.closest }, describeUnknownVariable(u));
  }
  const emf = metricsFormat(config.metricsFormat) === "emf";
  if (emf) logger.info({ destination }, "CloudWatch metrics: EMF records among the logs");
  return { config, logger, emf: emf ? (line) => stream.write(`${line}\n`) : undefined };
}

/** `auto`: EMF where the awslogs driver may ship it, on ECS (which sets the metadata URI). */
function metricsFormat(setting: CheckerConfig["metricsFormat"]): "emf" | "off" {
  if (setting !== "auto") return setting;
  const onEcs =
    !!process.env["ECS_CONTAINER_METADATA_URI_V4"] || !!process.env["ECS_CONTAINER_METADATA_URI"];
  return onEcs ? "emf" : "off";
}

async function serve(
  config: CheckerConfig,
  status: StatusBook,
  metrics: Metrics,
): Promise<StatusServer> {
  try {
    return await startStatusServer({
      host: config.listen.host,
      port: config.listen.port,
      status,
      metrics,
      now: systemClock.now,
    });
  } catch (err) {
    const problem = listenProblem(err, config.listen);
    if (problem !== undefined) exitBadInput([problem]);
    throw err;
  }
}

/**
 * The checker, once its namespace resolves. Infrastructure code may create the namespace after
 * the checker starts, and throttling passes: both are retried. An ambiguous name never resolves.
 */
async function createChecker(deps: CheckerDeps, signal: AbortSignal): Promise<Checker | undefined> {
  const { logger, status } = deps;
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const checker = await Checker.create(deps);
      status.namespaceNotFound = undefined;
      return checker;
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof NamespaceLookupError && err.kind === "ambiguous") {
        exitBadInput([`${settingLabel("namespace")}: ${err.message}`]);
      }
      const retryInMs = retryDelayMs(attempt);
      if (err instanceof NamespaceLookupError) {
        status.namespaceNotFound = err.given;
        logger.warn(
          { namespace: err.given, attempt, retryInMs, hint: NAMESPACE_HINT },
          `${err.message}: ${NAMESPACE_HINT}`,
        );
      } else {
        logger.error(
          {
            err: describeAwsError(err),
            transient: isTransientAwsError(err),
            attempt,
            retryInMs,
          },
          "could not resolve the namespace; retrying",
        );
      }
      await systemClock.sleep(retryInMs, signal);
    }
  }
  return undefined;
}

async function run(opts: Record<string, unknown>): Promise<void> {
  const { config, logger, emf } = start(opts, "stdout");
  const metrics = new Metrics({ processMetrics: true });
  const deps: CheckerDeps = { ...buildCheckerDeps(config, logger, metrics), emf };
  const { status } = deps;
  const server = await serve(config, status, metrics);
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

  const checker = await createChecker(deps, controller.signal);
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
  // stdout carries the JSON report; logs go to stderr.
  const { config, logger, emf } = start(opts, "stderr");
  const metrics = new Metrics();
  const deps: CheckerDeps = { ...buildCheckerDeps(config, logger, metrics), emf };
  try {
    const checker = await Checker.create(deps);
    const report = await checker.runCycle();
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } catch (err) {
    // One cycle has no later to wait for: a namespace that is not there is a wrong setting.
    if (err instanceof NamespaceLookupError) {
      exitBadInput([`${settingLabel("namespace")}: ${err.message}`]);
    }
    logger.error({ err: describeAwsError(err) }, "the cycle could not run");
    process.exitCode = 1;
  }
}

async function initState(opts: Record<string, unknown>): Promise<void> {
  let table: string;
  try {
    table = parseStateTable({ flags: flagsFromCommander(opts), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) exitBadInput(err.problems, unknownVariableNotes());
    throw err;
  }
  for (const note of unknownVariableNotes()) process.stderr.write(`${PROGRAM}: warning: ${note}\n`);
  const { dynamodb } = buildAwsClients({});
  const outcome = await ensureStateTable(dynamodb, table);
  process.stdout.write(
    `state table ${table}: ${outcome === "created" ? "created" : "already exists"}\n`,
  );
}

export function buildProgram(): Command {
  // Set before the subcommands are added, which inherit them: usage errors throw (exit 2 below)
  // and name the flag or command, with a pointer to the help rather than all of it.
  const program = new Command(PROGRAM)
    .description(
      "Health checks for the instances of an AWS Cloud Map namespace (ECS Service Connect)",
    )
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${PROGRAM}: ${text}`) })
    .showHelpAfterError(`(${PROGRAM} --help lists the commands, <command> --help its options)`);
  addConfigOptions(
    program.command("run").description("check the namespace every interval until SIGTERM"),
  ).action(run);
  addConfigOptions(
    program.command("once").description("run one cycle, print a JSON report, exit"),
  ).action(once);
  program
    .command("init-state")
    .description("create the DynamoDB state table (idempotent)")
    .addOption(configOption(optionSpec("stateTable"), "table to create"))
    .action(initState);
  addVerifyModes(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      // Commander has printed what is wrong; help and version exit 0.
      if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
      process.stderr.write(`${PROGRAM}: ${String(err)}\n`);
      process.exit(1);
    });
}
