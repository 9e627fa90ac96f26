// Starts moto in server mode on a free loopback port, for the whole test run.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export interface Moto {
  readonly endpoint: string;
  readonly port: number;
  /** Clears all AWS state (not the state-manager settings). */
  reset(): Promise<void>;
  /** Stop moto advancing a task's lastStatus on every DescribeTasks (startMoto already does). */
  manualTaskTransitions(): Promise<void>;
  /** Kills moto and its process group; safe to call twice. */
  stop(): Promise<void>;
}

/** The repository root: the nearest ancestor with a package.json (works from src or dist). */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function post(endpoint: string, route: string, body?: unknown): Promise<void> {
  const res = await fetch(`${endpoint}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? "" : JSON.stringify(body),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`moto ${route}: HTTP ${res.status}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Signals the process group (moto and anything it forked); false once it is gone. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function startMoto(
  opts: {
    timeoutMs?: number;
    /** A Python script that patches moto and starts its server (benchmarks); default stock moto. */
    launcher?: string;
  } = {},
): Promise<Moto> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const bin = path.join(repoRoot(), ".venv", "bin");
  const server = path.join(bin, "moto_server");
  if (!existsSync(server)) {
    throw new Error(`${server} not found: run \`node scripts/bootstrap-moto.mjs\` first`);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const args = ["-H", "127.0.0.1", "-p", String(port)];
  const [command, argv] = opts.launcher
    ? [path.join(bin, "python"), [opts.launcher, ...args]]
    : [server, args];
  // Own process group, so stop() takes any children with it; stdin a pipe we never write.
  const child = spawn(command, argv, {
    // moto reports this runningCount (and a COMPLETED rollout when it covers desiredCount) for
    // every ECS service created while it runs: the replacement brakes are tested against it.
    env: {
      ...process.env,
      MOTO_ECS_SERVICE_RUNNING: process.env["MOTO_ECS_SERVICE_RUNNING"] ?? "3",
    },
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  const pid = child.pid;
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let spawnError: Error | undefined;
  child.once("error", (err) => (spawnError = err));
  let running = pid !== undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      running = false;
      resolve();
    }),
  );
  // A detached child outlives us unless killed: also on exit paths that skip afterAll.
  const onExit = (): void => void (pid !== undefined && killGroup(pid, "SIGKILL"));
  const onSignal = (signal: NodeJS.Signals): void => {
    onExit();
    // Re-raise for the default action, unless someone else handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once("exit", onExit);
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(s, onSignal);
  const unhook = (): void => {
    process.off("exit", onExit);
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(s, onSignal);
  };

  const stop = async (): Promise<void> => {
    unhook();
    if (!running || pid === undefined) return;
    killGroup(pid, "SIGTERM");
    const forced = setTimeout(() => killGroup(pid, "SIGKILL"), 3000);
    await exited;
    clearTimeout(forced);
    // Anything moto forked that ignored SIGTERM.
    killGroup(pid, "SIGKILL");
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${endpoint}/moto-api/data.json`).catch(() => undefined);
    if (res) {
      await res.arrayBuffer();
      break; // any HTTP answer means the server is up
    }
    if (spawnError || !running || Date.now() > deadline) {
      const why = spawnError?.message ?? (running ? `no answer in ${timeoutMs} ms` : "it exited");
      await stop();
      throw new Error(`moto_server did not start on ${endpoint} (${why}):\n${stderr}`);
    }
    await sleep(100);
  }

  const moto: Moto = {
    endpoint,
    port,
    reset: () => post(endpoint, "/moto-api/reset"),
    manualTaskTransitions: () =>
      post(endpoint, "/moto-api/state-manager/set-transition", {
        model_name: "ecs::task",
        transition: { progression: "manual", times: 1_000_000 },
      }),
    stop,
  };
  await moto.manualTaskTransitions();
  return moto;
}

/**
 * Points this process's AWS SDK at moto through the standard variables (as the checker is
 * pointed at AWS in production), with fake keys, and drops anything from the developer's own AWS
 * setup that could leak in.
 */
export function pointSdkAt(moto: Moto): void {
  process.env["AWS_ENDPOINT_URL"] = moto.endpoint;
  process.env["AWS_REGION"] = "us-east-1";
  process.env["AWS_ACCESS_KEY_ID"] = "testing";
  process.env["AWS_SECRET_ACCESS_KEY"] = "testing";
  for (const name of [
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ENDPOINT_URL_SERVICEDISCOVERY",
    "AWS_ENDPOINT_URL_ECS",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_ENDPOINT_URL_STS",
  ]) {
    delete process.env[name];
  }
}
