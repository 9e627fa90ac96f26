// The listen address: /healthz (is the checker doing its job), /livez for the container health
// check (is it alive: only a stuck loop fails it), /metrics for Prometheus, /status for people.

import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "./metrics";
import type { StatusBook } from "./status";

export interface StatusServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startStatusServer(opts: {
  host: string;
  port: number;
  status: StatusBook;
  metrics: Metrics;
  now: () => number;
}): Promise<StatusServer> {
  const server = http.createServer((req, res) => {
    const [path, query] = (req.url ?? "/").split("?") as [string, string | undefined];
    const send = (code: number, type: string, body: string): void => {
      res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "GET only\n");
    if (path === "/healthz" || path === "/livez") {
      const h = path === "/healthz" ? opts.status.health(opts.now()) : opts.status.live(opts.now());
      return send(h.ok ? 200 : 503, "text/plain", `${h.reason}\n`);
    }
    if (path === "/status") {
      // `?instances=false` leaves out the per-instance list, for pollers of a large namespace.
      const instances = new URLSearchParams(query).get("instances") !== "false";
      const body = opts.status.toJSON(opts.now(), { instances });
      return send(200, "application/json", JSON.stringify(body, null, 2));
    }
    if (path === "/metrics") {
      opts.metrics.render().then(
        (text) => send(200, opts.metrics.registry.contentType, text),
        (err: unknown) => send(500, "text/plain", `${String(err)}\n`),
      );
      return;
    }
    send(404, "text/plain", "try /healthz, /livez, /metrics or /status\n");
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
