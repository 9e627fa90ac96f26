// Many targets on few sockets: one HTTP server on a port answers for every 127.x.y.z address
// (Linux routes all of 127/8 to loopback) and fails for the addresses marked failing.

import { spawn } from "node:child_process";
import http from "node:http";
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";

export interface Farm {
  port: number;
  readonly failing: Set<string>;
  requests: number;
  close(): Promise<void>;
}

/** Whether the `i`th target of a set fails, `percent` of them spread evenly. */
export function failsAt(i: number, percent: number): boolean {
  return (i * percent) % 100 < percent;
}

/** Address of instance `i`: distinct for up to ~250,000 instances. */
export function addressOf(i: number): string {
  return `127.${10 + Math.floor(i / 62_500)}.${Math.floor((i % 62_500) / 250)}.${(i % 250) + 1}`;
}

/** For the flap bench (flap-farm-process.ts): targets that never answer, and a record of answers. */
export interface FarmHooks {
  /** Addresses whose requests are held unanswered until the prober hangs up. */
  readonly hanging?: ReadonlySet<string>;
  /** Each answer as the prober gets it: `ADDR:PORT`, epoch ms, what it was. */
  readonly onAnswer?: (target: string, at: number, answer: "pass" | "fail" | "hang") => void;
}

/** What a farm serves: HTTP/1.1 (the default), HTTP/2 (h2c), or gRPC health (grpc-js). */
export type FarmProtocol = "http" | "http2" | "grpc";

/**
 * An h2c server that fails the failing addresses, or a real gRPC health server (grpc-js with the
 * official health service: every target SERVING, since it cannot tell which address was asked).
 */
async function startOtherFarm(protocol: "http2" | "grpc", delayMs: number): Promise<Farm> {
  const failing = new Set<string>();
  const farm: Farm = { port: 0, failing, requests: 0, close: async () => undefined };
  if (protocol === "grpc") {
    const server = new grpc.Server();
    const health = new HealthImplementation({ "": "SERVING" });
    // The official service's own handlers, with each Check counted on its way in.
    health.addToServer({
      addService: (definition, implementation) =>
        server.addService(definition, {
          ...implementation,
          check: (call: unknown, callback: unknown) => {
            farm.requests++;
            return (implementation["check"] as (a: unknown, b: unknown) => void)(call, callback);
          },
        }),
    });
    farm.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("0.0.0.0:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    farm.close = () => new Promise<void>((r) => server.tryShutdown(() => r()));
    return farm;
  }
  const server = http2.createServer((req, res) => {
    farm.requests++;
    const local = (req.socket.localAddress ?? "").replace(/^::ffff:/, "");
    const answer = (): void => {
      res.writeHead(failing.has(local) ? 500 : 200);
      res.end("ok\n");
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  await new Promise<void>((resolve) =>
    server.listen({ port: 0, host: "0.0.0.0", backlog: 4096 }, () => resolve()),
  );
  farm.port = (server.address() as AddressInfo).port;
  farm.close = () => new Promise<void>((r) => server.close(() => r()));
  return farm;
}

export async function startFarm(
  delayMs = 0,
  hooks: FarmHooks = {},
  protocol: FarmProtocol = "http",
): Promise<Farm> {
  if (protocol !== "http") return startOtherFarm(protocol, delayMs);
  const failing = new Set<string>();
  const farm: Farm = { port: 0, failing, requests: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    farm.requests++;
    const local = (req.socket.localAddress ?? "").replace(/^::ffff:/, "");
    const target = `${local}:${req.socket.localPort}`;
    if (hooks.hanging?.has(local)) {
      // Held until the prober hangs up at its timeout: the failure is recorded then, a moment
      // after the prober knew it.
      res.once("close", () => hooks.onAnswer?.(target, Date.now(), "hang"));
      return;
    }
    const answer = (): void => {
      const ok = !failing.has(local);
      res.writeHead(ok ? 200 : 500, { "content-type": "text/plain" });
      res.end("ok\n");
      hooks.onAnswer?.(target, Date.now(), ok ? "pass" : "fail");
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  server.keepAliveTimeout = 1000;
  // All interfaces, so every loopback address reaches it; only loopback addresses are ever probed.
  // A deep accept queue: one listener stands in for thousands of targets, each of which would
  // have its own (Node's default 511 drops SYNs when a burst of probes arrives at once).
  await new Promise<void>((resolve) =>
    server.listen({ port: 0, host: "0.0.0.0", backlog: 4096 }, () => resolve()),
  );
  farm.port = (server.address() as AddressInfo).port;
  farm.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return farm;
}

/** The farm in a process of its own (farm-process.ts): its CPU is neither the checker's nor ours. */
export interface FarmProcess {
  readonly port: number;
  /** Marks an address failing (HTTP 500) or passing again. */
  setFailing(address: string, failing: boolean): void;
  /** Requests served so far. */
  requests(): Promise<number>;
  close(): void;
}

/** `delayMs`: each answer waits that long, as a health endpoint that does some work. */
export async function startFarmProcess(
  delayMs = 0,
  protocol: FarmProtocol = "http",
): Promise<FarmProcess> {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, "farm-process.js"), String(delayMs), protocol],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  // One question at a time: answers come back in order on stdout.
  let queue = Promise.resolve("");
  const next = (): Promise<string> =>
    (queue = queue.then(async () => String((await lines.next()).value)));
  const port = Number(await next());
  return {
    port,
    setFailing: (address, failing) => void child.stdin!.write(`${failing ? "+" : "-"}${address}\n`),
    requests: () => {
      child.stdin!.write("?\n");
      return next().then(Number);
    },
    close: () => void child.stdin!.end(),
  };
}
