// Real HTTP/2 servers (Node's own), h2c or TLS, counting the sessions probes open.

import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { TEST_CERT, TEST_KEY } from "./test-cert";

export interface H2Target {
  readonly host: string;
  port: number;
  /** Sessions opened so far, and open now. */
  sessions: number;
  open: number;
  close(): Promise<void>;
}

/** A real HTTP/2 server (Node's), h2c or TLS, counting the sessions probes open. */
export async function h2Server(
  host: string,
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  tls = false,
): Promise<H2Target> {
  const server = tls
    ? http2.createSecureServer({ cert: TEST_CERT, key: TEST_KEY }, handler)
    : http2.createServer(handler);
  const live = new Set<http2.ServerHttp2Session>();
  const t = { host, port: 0, sessions: 0, open: 0, close: (): Promise<void> => Promise.resolve() };
  server.on("session", (s) => {
    t.sessions++;
    live.add(s);
    t.open = live.size;
    s.on("close", () => {
      live.delete(s);
      t.open = live.size;
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  t.port = (server.address() as AddressInfo).port;
  t.close = () => {
    for (const s of live) s.destroy();
    return new Promise((r) => server.close(() => r()));
  };
  return t;
}
