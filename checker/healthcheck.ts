// Container health check (ECS runs it; no shell or curl in the image): GET /livez on the
// checker's own listen address, exit 0 on HTTP 200, 1 otherwise. /livez fails only when the loop
// is stuck, where a new task helps; a checker that cannot see AWS (/healthz 503) is left running,
// since a new task could not see it either and would only lose the lease and its memory.

import http from "node:http";
import { listen, optionSpec } from "./config";

export function checkHealth(listenAt: string, timeoutMs: number): Promise<boolean> {
  // The checker's own parser, so the check reads the address exactly as the checker did.
  let at: { host: string; port: number };
  try {
    at = listen(listenAt);
  } catch {
    return Promise.resolve(false); // the checker refused it at start too
  }
  const { host: rawHost, port } = at;
  // A wildcard listen address is reached on loopback.
  const host = rawHost === "0.0.0.0" || rawHost === "::" || rawHost === "" ? "127.0.0.1" : rawHost;
  return new Promise((resolve) => {
    const req = http.get(
      { host, port, path: "/livez", timeout: timeoutMs, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

if (require.main === module) {
  const o = optionSpec("listen");
  void checkHealth(process.env[o.env] || o.default!, 3000).then((ok) => {
    if (!ok) process.stderr.write("healthcheck: /livez did not answer 200\n");
    process.exit(ok ? 0 : 1);
  });
}
