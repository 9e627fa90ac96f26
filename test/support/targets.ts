// Real HTTP(S) and TCP servers on loopback, switchable between healthy, failing, hanging and
// refusing. Linux routes all of 127/8 to loopback, so each target can have its own address.

import http from "node:http";
import https from "node:https";
import net from "node:net";
import { TEST_CERT, TEST_KEY } from "./test-cert";

export type HttpMode = "ok" | "fail" | "hang" | "refuse";
export type TcpMode = "ok" | "refuse";

interface Target<M extends string> {
  readonly host: string;
  readonly port: number;
  /** "refuse" stops listening (connects get ECONNREFUSED); leaving it re-listens, same port. */
  mode: M;
  /** TCP connections accepted so far (each probe must open its own). */
  readonly connections: number;
  /** Connections still open on the server side (a probe must not leave any behind). */
  readonly openConnections: number;
  /** Resolves once the last switch to or from "refuse" has taken effect. */
  ready(): Promise<void>;
  /** Destroys every socket (hung ones included) and stops listening. */
  close(): Promise<void>;
}

export interface HttpTarget extends Target<HttpMode> {
  /** Answer every request with `code` from now on (mode "ok"; setting mode "ok" means 200). */
  status(code: number): void;
  /** Requests received so far, answered or not, and the paths they asked for. */
  readonly requests: number;
  readonly paths: readonly string[];
  /** Every answer given, in order: ground truth of what a probe saw (see support/judge.ts). */
  readonly answers: readonly TargetAnswer[];
}

/** One answer of a target. A refused connection reaches no handler, so it leaves none. */
export interface TargetAnswer {
  /** Epoch ms the answer was sent (for a hung request: when it arrived). */
  readonly at: number;
  /** HTTP status sent; 0 for a request left hanging, which the probe sees time out. */
  readonly status: number;
}

export type TcpTarget = Target<TcpMode>;

export async function startHttpTarget(
  opts: { host?: string; tls?: boolean } = {},
): Promise<HttpTarget> {
  let mode: HttpMode = "ok";
  let okStatus = 200;
  const paths: string[] = [];
  const answers: TargetAnswer[] = [];
  const handler: http.RequestListener = (req, res) => {
    paths.push(req.url ?? "");
    if (mode === "hang") return void answers.push({ at: Date.now(), status: 0 }); // never answer
    if (mode === "refuse") return void req.socket.destroy();
    const code = mode === "fail" ? 500 : okStatus;
    res.writeHead(code, { "content-type": "text/plain", connection: "close" });
    res.end(`${code}\n`);
    answers.push({ at: Date.now(), status: code });
  };
  const server = opts.tls
    ? https.createServer({ cert: TEST_CERT, key: TEST_KEY }, handler)
    : http.createServer(handler);
  const l = await listener(server, opts.host ?? "127.0.0.1");
  return {
    host: l.host,
    port: l.port,
    get mode() {
      return mode;
    },
    set mode(next: HttpMode) {
      mode = next;
      if (next === "ok") okStatus = 200;
      l.refuse(next === "refuse");
    },
    status(code: number) {
      mode = "ok";
      okStatus = code;
      l.refuse(false);
    },
    get requests() {
      return paths.length;
    },
    get paths() {
      return paths;
    },
    answers,
    get connections() {
      return l.connections();
    },
    get openConnections() {
      return l.openConnections();
    },
    ready: l.ready,
    close: l.close,
  };
}

/** Accepts TCP connections and closes them at once. */
export async function startTcpTarget(opts: { host?: string } = {}): Promise<TcpTarget> {
  let mode: TcpMode = "ok";
  const l = await listener(
    net.createServer((s) => s.end()),
    opts.host ?? "127.0.0.1",
  );
  return {
    host: l.host,
    port: l.port,
    get mode() {
      return mode;
    },
    set mode(next: TcpMode) {
      mode = next;
      l.refuse(next === "refuse");
    },
    get connections() {
      return l.connections();
    },
    get openConnections() {
      return l.openConnections();
    },
    ready: l.ready,
    close: l.close,
  };
}

/** Waits until a switch to or from "refuse" has taken effect (the target's `ready()`). */
export function settled(target: { ready(): Promise<void> }): Promise<void> {
  return target.ready();
}

/** Listening, socket tracking and the refuse/re-listen switch shared by both targets. */
async function listener(server: net.Server, host: string) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  server.on("connection", (s: net.Socket) => {
    connections++;
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    s.on("error", () => undefined); // a reset by the prober is expected
  });
  const listen = (p: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, host, () => {
        server.off("error", reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const stop = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    // close() drops the listening socket at once; its callback waits for connections to go.
    return new Promise((resolve) => server.close(() => resolve()));
  };
  const port = await listen(0);
  let refusing = false;
  let closed = false;
  // Switches run in order; `ready()` waits for the last one.
  let pending: Promise<void> = Promise.resolve();
  return {
    host,
    port,
    connections: () => connections,
    openConnections: () => sockets.size,
    refuse(on: boolean): void {
      if (closed || on === refusing) return;
      refusing = on;
      pending = pending.then(on ? stop : () => listen(port).then(() => undefined));
    },
    ready: (): Promise<void> => pending,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pending.catch(() => undefined);
      if (server.listening) await stop();
      for (const s of sockets) s.destroy();
    },
  };
}
