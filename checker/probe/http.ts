// HTTP(S) GET probe. A fresh connection every time (agent: false, Connection: close): a pooled
// keep-alive socket could answer for a listener that has since died.

import http from "node:http";
import https from "node:https";
import type { CheckSpec, StatusRange } from "../domain/types";
import { attempt, type Outcome } from "./outcome";

const USER_AGENT = "cloudmap-health-checker";

export function httpProbe(
  target: { host: string; port: number },
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return attempt(check.timeoutMs, signal, (done) => {
    const mod = check.protocol === "https" ? https : http;
    const req = mod.request({
      host: target.host,
      port: target.port,
      path: check.path,
      method: "GET",
      agent: false,
      headers: { "user-agent": USER_AGENT, connection: "close", accept: "*/*" },
      // Targets use self-signed certificates, as behind ELB health checks.
      ...(check.protocol === "https" ? { rejectUnauthorized: false } : {}),
    });
    req.on("response", (res) => {
      const code = res.statusCode ?? 0;
      // The status is all we need: discard the body without buffering it.
      res.resume();
      const ok = matches(code, check.expectedStatus);
      done({
        ok,
        detail: ok
          ? `HTTP ${code}`
          : `HTTP ${code} (expected ${formatRanges(check.expectedStatus)})`,
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) =>
      done({ ok: false, detail: err.code ?? err.message }),
    );
    req.end();
    return () => req.destroy();
  });
}

function matches(code: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => code >= r.min && code <= r.max);
}

function formatRanges(ranges: readonly StatusRange[]): string {
  return ranges.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`)).join(",");
}
