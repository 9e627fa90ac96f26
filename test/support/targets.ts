// Real HTTP and TCP servers on loopback, switchable between healthy, failing, hanging and
// refusing. Any 127.x.y.z reaches loopback on Linux, so each target can have its own address.

import http from "node:http";
import https from "node:https";
import net from "node:net";
import { TEST_CERT, TEST_KEY } from "./test-cert";

export type HttpMode = "ok" | "fail" | "hang" | "refuse";

export interface HttpTarget {
  readonly host: string;
  readonly port: number;
  mode: HttpMode;
  /** Requests answered or hung so far, and the paths asked for. */
  readonly requests: number;
  readonly paths: readonly string[];
  /** TCP connections accepted so far (each probe must open its own). */
  readonly connections: number;
  /** Answer with this status instead of 200 while mode is "ok". */
  status: number;
  close(): Promise<void>;
}

export async function startHttpTarget(
  opts: { host?: string; tls?: boolean } = {},
): Promise<HttpTarget> {
  const host = opts.host ?? "127.0.0.1";
  const sockets = new Set<net.Socket>();
  const paths: string[] = [];
  let requests = 0;
  let connections = 0;
  let mode: HttpMode = "ok";
  let status = 200;
  const handler: http.RequestListener = (req, res) => {
    requests++;
    paths.push(req.url ?? "");
    if (mode === "hang") return; // never answer
    res.writeHead(mode === "fail" ? 500 : status, { "content-type": "text/plain" });
    res.end(mode === "fail" ? "failing\n" : "ok\n");
  };
  const server = opts.tls
    ? https.createServer({ cert: TEST_CERT, key: TEST_KEY }, handler)
    : http.createServer(handler);
  server.on("connection", (s: net.Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const port = await listen(0);
  const destroyAll = (): void => {
    for (const s of sockets) s.destroy();
  };
  let switching = Promise.resolve();
  return {
    host,
    port,
    get mode() {
      return mode;
    },
    set mode(next: HttpMode) {
      const prev = mode;
      mode = next;
      if (next === "refuse" && prev !== "refuse") {
        destroyAll();
        switching = switching.then(() => new Promise<void>((r) => server.close(() => r())));
      } else if (prev === "refuse" && next !== "refuse") {
        switching = switching.then(() => listen(port).then(() => undefined));
      }
    },
    get requests() {
      return requests;
    },
    get paths() {
      return paths;
    },
    get connections() {
      return connections;
    },
    get status() {
      return status;
    },
    set status(code: number) {
      status = code;
    },
    async close() {
      await switching;
      destroyAll();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Waits until a mode switch to or from "refuse" has taken effect. */
export async function settled(target: HttpTarget): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const listening = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: target.host, port: target.port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (listening === (target.mode !== "refuse")) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`target ${target.host}:${target.port} did not switch to ${target.mode}`);
}

export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Accepts and closes TCP connections. */
export async function startTcpTarget(opts: { host?: string } = {}): Promise<TcpTarget> {
  const host = opts.host ?? "127.0.0.1";
  const server = net.createServer((s) => s.end());
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });
  return { host, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}
