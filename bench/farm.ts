// Many targets on few sockets: one HTTP server on a port answers for every 127.x.y.z address
// (Linux routes all of 127/8 to loopback) and fails for the addresses marked failing.

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Farm {
  port: number;
  readonly failing: Set<string>;
  requests: number;
  close(): Promise<void>;
}

/** Address of instance `i`: distinct for up to ~250,000 instances. */
export function addressOf(i: number): string {
  return `127.${10 + Math.floor(i / 62_500)}.${Math.floor((i % 62_500) / 250)}.${(i % 250) + 1}`;
}

export async function startFarm(): Promise<Farm> {
  const failing = new Set<string>();
  const farm: Farm = { port: 0, failing, requests: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    farm.requests++;
    const local = (req.socket.localAddress ?? "").replace(/^::ffff:/, "");
    res.writeHead(failing.has(local) ? 500 : 200, { "content-type": "text/plain" });
    res.end("ok\n");
  });
  server.keepAliveTimeout = 1000;
  // All interfaces, so every loopback address reaches it; only loopback addresses are ever probed.
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", () => resolve()));
  farm.port = (server.address() as AddressInfo).port;
  farm.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return farm;
}
