// HTTP(S) GET probe. A fresh connection every time (agent: false, Connection: close): a pooled
// keep-alive socket could answer for a listener that has since died.

import http from "node:http";
import https from "node:https";
import type { CheckSpec, StatusRange } from "../domain/types";
import { attempt, errorDetail, type Outcome } from "./outcome";

const USER_AGENT = "cloudmap-health-checker";
/** Body bytes read (and discarded) before hanging up: enough for any health page. */
const BODY_CAP = 64 * 1024;

export function httpProbe(
  target: { host: string; port: number },
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return attempt(check.timeoutMs, signal, ({ done, decide }) => {
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
      const ok = matches(code, check.expectedStatus);
      const outcome: Outcome = {
        ok,
        detail: ok
          ? `HTTP ${code}`
          : `HTTP ${code} (expected ${formatRanges(check.expectedStatus)})`,
      };
      // The status decides. Drain a bounded body so the server sees an orderly exchange;
      // a huge or stalled body is cut off without changing the verdict.
      decide(outcome);
      let seen = 0;
      res.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > BODY_CAP) done(outcome);
      });
      res.on("end", () => done(outcome));
      res.on("error", () => done(outcome));
    });
    req.on("error", (err) => done({ ok: false, detail: errorDetail(err) }));
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
