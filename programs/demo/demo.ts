// `npm run demo`: the real checker CLI against a small Service Connect world in moto (the AWS
// emulator) with real HTTP targets on loopback, through a scripted sequence of failures.
// `--ci`, or stdout that is not a terminal, prints the timeline only. Exit code 0 only when
// every expected event happened.
//
// The emulator, the world builder and the loopback targets are the test suite's own kit.

import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { freePort, pointSdkAt, startMoto } from "../../test/support/moto";
import { startGrpcTarget, type GrpcTarget } from "../../test/support/grpc-target";
import { startHttpTarget, type HttpTarget } from "../../test/support/targets";
import { World, type WorldService } from "../../test/support/world";
import { colour, formatEntry, renderFrame, type InstanceRow, type TimelineEntry } from "./view";

// The live view redraws with ANSI screen control, which only a terminal understands: into a
// pipe or a file, print the timeline as --ci does.
const CI_FLAG = process.argv.includes("--ci");
const LIVE = !CI_FLAG && process.stdout.isTTY === true;
if (!LIVE && !CI_FLAG) {
  process.stderr.write("demo: stdout is not a terminal, so no live view: printing the timeline\n");
}
const CLI = path.resolve(__dirname, "../../checker/cli.js");
const INTERVAL_S = 1;
const THRESHOLD = 2;
/** Longest wait for one expected event: a few cycles beyond interval x threshold. */
const EVENT_TIMEOUT_MS = (INTERVAL_S * THRESHOLD + 6) * 1000;

interface LogEvent {
  readonly msg: string;
  readonly service?: string;
  readonly instanceId?: string;
  readonly reason?: string;
  readonly rule?: string;
  readonly status?: string;
  readonly hint?: string;
  readonly receivedAt: number;
}

interface Task {
  readonly id: string;
  readonly target: HttpTarget;
}

const start = Date.now();
const timeline: TimelineEntry[] = [];
const events: LogEvent[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
let rows: InstanceRow[] = [];
let failures = 0;

function note(text: string, tone: TimelineEntry["tone"]): void {
  const entry = { at: Date.now(), text, tone };
  timeline.push(entry);
  if (!LIVE) process.stdout.write(`${formatEntry(entry, start)}\n`);
}

function onLog(line: string): void {
  let e: LogEvent;
  try {
    e = { ...(JSON.parse(line) as Omit<LogEvent, "receivedAt">), receivedAt: Date.now() };
  } catch {
    return;
  }
  events.push(e);
  const who = `${e.service ?? "?"}/${(e.instanceId ?? "").slice(0, 8)}`;
  if (e.msg === "deregister instance") note(`${who} deregistered: ${e.reason}`, "action");
  else if (e.msg === "re-register instance") note(`${who} re-registered: ${e.reason}`, "action");
  else if (e.msg.startsWith("set custom health status"))
    note(`${who} ${e.msg.slice(25)}: ${e.reason}`, "action");
  else if (e.msg === "replace task (StopTask)") {
    note(`${who} replaced (StopTask): ECS drains and restarts it`, "action");
  } else if (e.msg === "action held back by a safety rule") {
    const first = !events
      .slice(0, -1)
      .some((x) => x.msg === e.msg && x.instanceId === e.instanceId && x.rule === e.rule);
    if (first) note(`${who} kept in rotation by ${e.rule}`, "hold");
  } else if (e.msg === "replacement held back by a safety rule") {
    note(`${who} not replaced (${e.rule}): ${e.hint}`, "hold");
  }
}

/** Waits until a log event after `since` matches; records a failure otherwise. */
async function expectEvent(
  what: string,
  since: number,
  match: (e: LogEvent) => boolean,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (events.some((e) => e.receivedAt >= since && match(e))) {
      note(`ok: ${what}`, "ok");
      return true;
    }
    await sleep(100);
  }
  failures++;
  note(`MISSED: ${what}`, "fail");
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function fleet(world: World, svc: WorldService, n: number, octet: number): Promise<Task[]> {
  const ids = await world.runTasks(svc.ecsServiceName, n);
  const out: Task[] = [];
  for (const [i, id] of ids.entries()) {
    const target = await startHttpTarget({ host: `127.0.${octet}.${i + 1}` });
    cleanups.push(() => target.close());
    await world.registerTask(svc, id, target);
    out.push({ id, target });
  }
  return out;
}

/** A gRPC service: its task definition's port mapping says appProtocol grpc. */
async function grpcFleet(world: World, name: string, n: number, octet: number) {
  await world.useTaskDefinition(name, { appProtocol: "grpc" });
  const svc = await world.serviceConnectService(name);
  const ids = await world.runTasks(name, n);
  const out: Array<{ id: string; target: GrpcTarget }> = [];
  for (const [i, id] of ids.entries()) {
    const target = await startGrpcTarget({ host: `127.0.${octet}.${i + 1}` });
    cleanups.push(() => target.close());
    await world.registerTask(svc, id, target);
    out.push({ id, target });
  }
  return out;
}

function startChecker(port: number): ChildProcess {
  const child = spawn(process.execPath, [CLI, "run"], {
    env: {
      ...process.env,
      NODE_NO_WARNINGS: "1",
      CMHC_NAMESPACE: "demo.local",
      CMHC_INTERVAL: `${INTERVAL_S}s`,
      CMHC_TIMEOUT: "300ms",
      CMHC_UNHEALTHY_THRESHOLD: String(THRESHOLD),
      CMHC_HEALTHY_THRESHOLD: String(THRESHOLD),
      CMHC_STARTUP_GRACE: "0s",
      CMHC_LISTEN: `127.0.0.1:${port}`,
      // replace-after is left at its default, auto: 1 min in services ECS manages.
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  readline.createInterface({ input: child.stdout! }).on("line", onLog);
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  );
  return child;
}

async function poll(statusUrl: string): Promise<void> {
  try {
    const res = await fetch(statusUrl);
    const body = (await res.json()) as { instances: InstanceRow[] };
    rows = body.instances;
  } catch {
    // the checker is starting or stopping
  }
}

async function cleanup(): Promise<void> {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
}

async function main(): Promise<void> {
  note("starting moto (the AWS emulator) and building the world", "step");
  const moto = await startMoto();
  cleanups.push(() => moto.stop());
  pointSdkAt(moto);
  const world = await new World("demo").init("demo.local");
  const orders = await fleet(world, await world.serviceConnectService("orders"), 4, 71);
  const payments = await fleet(world, await world.serviceConnectService("payments"), 3, 72);
  const inventory = await fleet(world, await world.customHealthService("inventory"), 3, 73);
  // ECS service records for the replace steps (moto reports each running 3 of 3 tasks).
  await world.createEcsService("search", 3);
  const search = await fleet(world, await world.serviceConnectService("search"), 3, 74);
  await world.createEcsService("catalog", 3);
  const catalog = await fleet(world, await world.serviceConnectService("catalog"), 3, 75);
  const quotes = await grpcFleet(world, "quotes", 3, 76);

  const port = await freePort();
  startChecker(port);
  const statusUrl = `http://127.0.0.1:${port}/status`;
  const timer = setInterval(() => {
    void poll(statusUrl).then(() => {
      if (LIVE) process.stdout.write(`\x1b[H\x1b[J${renderFrame(rows, timeline, start)}\n`);
    });
  }, 250);
  cleanups.push(() => clearInterval(timer));
  note(
    `checker running: interval ${INTERVAL_S}s, thresholds ${THRESHOLD}/${THRESHOLD}, replace-after auto (1 min for Service Connect services)`,
    "step",
  );
  await sleep(2500);

  // The replace steps wait out replace-after's minute while the others play.
  const stuck = search[0]!;
  note(`search/${stuck.id.slice(0, 8)} fails and stays down`, "step");
  note(
    "every catalog task fails (as with a wrong check path): replacing would not mend it",
    "step",
  );
  const stuckAt = Date.now();
  stuck.target.mode = "fail";
  for (const task of catalog) task.target.mode = "fail";
  await expectEvent(
    "search's failing task is taken out",
    stuckAt,
    (e) => e.msg === "deregister instance" && e.instanceId === stuck.id,
  );

  const bad = orders[1]!;
  note(`orders/${bad.id.slice(0, 8)} starts failing (HTTP 500)`, "step");
  let t = Date.now();
  bad.target.mode = "fail";
  await expectEvent(
    "the failing task is taken out",
    t,
    (e) => e.msg === "deregister instance" && e.instanceId === bad.id,
  );

  note(`orders/${bad.id.slice(0, 8)} recovers`, "step");
  t = Date.now();
  bad.target.mode = "ok";
  await expectEvent(
    "it goes back in",
    t,
    (e) => e.msg === "re-register instance" && e.instanceId === bad.id,
  );

  const stopping = payments[2]!;
  note(`payments/${stopping.id.slice(0, 8)} is stopped by ECS`, "step");
  t = Date.now();
  await world.stopTask(stopping.id);
  await expectEvent(
    "the stopping task leaves at once",
    t,
    (e) =>
      e.msg === "deregister instance" &&
      e.instanceId === stopping.id &&
      /going away/.test(e.reason ?? ""),
  );

  note("3 of 4 orders tasks fail at once", "step");
  t = Date.now();
  for (const task of orders.slice(0, 3)) task.target.mode = "fail";
  await expectEvent(
    "the cap holds: one stays in rotation",
    t,
    (e) => e.rule === "max-unhealthy-percent" && e.service === "orders",
  );
  const removed = events.filter((e) => e.receivedAt >= t && e.msg === "deregister instance").length;
  if (removed <= 2) note(`ok: ${removed} of 4 removed (max 50 %)`, "ok");
  else {
    failures++;
    note(`MISSED: the cap let ${removed} of 4 go`, "fail");
  }
  note("orders recovers", "step");
  t = Date.now();
  for (const task of orders) task.target.mode = "ok";
  await expectEvent("orders is back in rotation", t, (e) => e.msg === "re-register instance");

  const flaky = inventory[0]!;
  note(`inventory/${flaky.id.slice(0, 8)} (custom health config) starts timing out`, "step");
  t = Date.now();
  flaky.target.mode = "hang";
  await expectEvent(
    "its status flips to UNHEALTHY (no deregistration)",
    t,
    (e) => e.instanceId === flaky.id && e.msg === "set custom health status UNHEALTHY",
  );
  note(`inventory/${flaky.id.slice(0, 8)} recovers`, "step");
  t = Date.now();
  flaky.target.mode = "ok";
  await expectEvent(
    "its status flips back to HEALTHY",
    t,
    (e) => e.instanceId === flaky.id && e.msg === "set custom health status HEALTHY",
  );

  const quote = quotes[1]!;
  const protocols = await fetch(statusUrl)
    .then((r) => r.json() as Promise<{ protocols?: Record<string, { source: object }> }>)
    .catch(() => ({}) as { protocols?: undefined });
  const how = Object.values(protocols.protocols?.["quotes"]?.source ?? {})[0];
  note(`quotes is probed with gRPC health checks (${String(how ?? "protocol not shown")})`, "step");
  note(`quotes/${quote.id.slice(0, 8)} (gRPC) reports NOT_SERVING`, "step");
  t = Date.now();
  quote.target.set("", "NOT_SERVING");
  await expectEvent(
    "the NOT_SERVING task is taken out",
    t,
    (e) =>
      e.msg === "deregister instance" &&
      e.instanceId === quote.id &&
      /NOT_SERVING/.test(e.reason ?? ""),
  );
  note(`quotes/${quote.id.slice(0, 8)} is SERVING again`, "step");
  t = Date.now();
  quote.target.set("", "SERVING");
  await expectEvent(
    "it goes back in",
    t,
    (e) => e.msg === "re-register instance" && e.instanceId === quote.id,
  );

  note("waiting out replace-after (1 min since search and catalog began failing)", "step");
  const minute = Math.max(0, stuckAt + 60_000 - Date.now()) + EVENT_TIMEOUT_MS;
  await expectEvent(
    "search's task, still failing after 1 min, is replaced with StopTask",
    stuckAt,
    (e) => e.msg === "replace task (StopTask)" && e.instanceId === stuck.id,
    minute,
  );
  await expectEvent(
    "catalog is not churned: replace-service-failing holds, with a hint",
    stuckAt,
    (e) => e.rule === "replace-service-failing" && e.service === "catalog",
  );
  const churned = events.some(
    (e) => e.msg === "replace task (StopTask)" && e.service === "catalog",
  );
  if (churned) {
    failures++;
    note("MISSED: a catalog task was replaced", "fail");
  }
  await sleep(1500);
  await poll(statusUrl);
  if (LIVE) process.stdout.write(`\x1b[H\x1b[J${renderFrame(rows, timeline, start)}\n`);

  const actions = events.filter((e) =>
    /^(deregister|re-register|set custom|replace task)/.test(e.msg),
  ).length;
  process.stdout.write(
    `\n${colour.bold("summary")}: ${actions} actions on Cloud Map and ECS, ${failures === 0 ? colour.green("every expected event happened") : colour.red(`${failures} expected event(s) missed`)} in ${((Date.now() - start) / 1000).toFixed(0)}s\n`,
  );
  await cleanup();
  process.exitCode = failures === 0 ? 0 : 1;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    void cleanup().then(() => process.exit(130));
  });
}

main().catch(async (err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  await cleanup();
  process.exit(2);
});
