// Starts moto in server mode on a free loopback port, for the whole test run.

import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../../..");
const MOTO_SERVER = path.join(ROOT, ".venv", "bin", "moto_server");

export interface Moto {
  readonly endpoint: string;
  readonly port: number;
  reset(): Promise<void>;
  /** Stop moto advancing a task's lastStatus on every DescribeTasks. */
  manualTaskTransitions(): Promise<void>;
  stop(): Promise<void>;
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
  if (!res.ok) throw new Error(`moto ${route}: HTTP ${res.status}`);
  await res.arrayBuffer();
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(MOTO_SERVER, ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true, // own process group, so stop() takes any children with it
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`moto_server did not start on ${endpoint}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
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
    stop: async () => {
      if (child.exitCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }, 3000);
      await exited;
      clearTimeout(killer);
    },
  };
  await moto.manualTaskTransitions();
  return moto;
}
