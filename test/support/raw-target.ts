// A raw TCP server on loopback that answers every connection with a script of its own: for
// responses no HTTP server library would send (cut short, trickled, not HTTP at all).

import net, { type AddressInfo } from "node:net";

export interface RawTarget {
  readonly host: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Bytes received from clients, over all connections. */
  readonly bytesReceived: number;
  close(): Promise<void>;
}

export async function startRawTarget(
  host: string,
  script: (socket: net.Socket) => void,
): Promise<RawTarget> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let bytesReceived = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined); // a reset by the prober is expected
    socket.on("data", (d: Buffer) => (bytesReceived += d.length));
    script(socket);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    host,
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Once the request has arrived, runs `reply` (so the prober has written before we answer). */
function onRequest(reply: (socket: net.Socket) => void): (socket: net.Socket) => void {
  return (socket) => socket.once("data", () => reply(socket));
}

/**
 * Responses that stop before their head ends, each with the failure the probe must report:
 * a status line alone, which says nothing of whether the target could answer in full.
 */
export const INCOMPLETE_RESPONSES: ReadonlyArray<{
  readonly name: string;
  readonly script: (socket: net.Socket) => void;
  /** The probe's detail, given its timeout. */
  readonly detail: (timeoutMs: number) => string;
}> = [
  {
    name: "a status line, then close",
    script: onRequest((s) => s.end("HTTP/1.1 200 OK\r\n")),
    detail: () => 'connection closed before the response headers ended (got "HTTP/1.1 200 OK")',
  },
  {
    name: "a status line without its CRLF, then close",
    script: onRequest((s) => s.end("HTTP/1.1 200 OK")),
    detail: () => 'connection closed before the response headers ended (got "HTTP/1.1 200 OK")',
  },
  {
    name: "a status line, then header lines trickled forever",
    script: onRequest((s) => {
      s.write("HTTP/1.1 200 OK\r\n");
      let n = 0;
      const timer = setInterval(() => s.write(`X-Wait-${n++}: still thinking\r\n`), 20);
      s.once("close", () => clearInterval(timer));
    }),
    detail: (timeoutMs) => `timeout after ${timeoutMs}ms: response headers incomplete`,
  },
];
