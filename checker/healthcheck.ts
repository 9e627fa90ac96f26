// Container health check (ECS runs it; no shell or curl in the image): GET /livez on the
// checker's own listen address, exit 0 on HTTP 200, 1 otherwise. /livez fails only when the loop
// is stuck, where a new task helps; a checker that cannot see AWS (/healthz 503) is left running,
// since a new task could not see it either and would only lose the lease and its memory.

import http from "node:http";

export function checkHealth(listen: string, timeoutMs: number): Promise<boolean> {
  const m = /^(.*):(\d+)$/.exec(listen.trim());
  const rawHost = m?.[1]?.replace(/^\[(.*)\]$/, "$1") ?? "127.0.0.1";
  // A wildcard listen address is reached on loopback.
  const host = rawHost === "0.0.0.0" || rawHost === "::" || rawHost === "" ? "127.0.0.1" : rawHost;
  const port = Number(m?.[2] ?? 9090);
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
  void checkHealth(process.env["CMHC_LISTEN"] || "0.0.0.0:9090", 3000).then((ok) => {
    if (!ok) process.stderr.write("healthcheck: /livez did not answer 200\n");
    process.exit(ok ? 0 : 1);
  });
}
