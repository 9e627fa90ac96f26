// HTTP/2 GET probe: h2c with prior knowledge (`http2`) or TLS with ALPN h2 (`http2s`), on a
// session of its own, judged by the expected statuses as HTTP/1.1 is. As there, the verdict is
// the final response's headers; a bounded body is drained so the server sees an orderly stream.

import type { CheckSpec, StatusRange } from "../domain/types";
import { H2_BODY_CAP, h2ErrorOutcome, h2Session, rstDetail, type H2Target } from "./h2";
import { attempt, type Outcome } from "./outcome";
import { isRequestPath } from "./request-path";

const USER_AGENT = "cloudmap-health-checker";
const INVALID_PATH = "ERR_UNESCAPED_CHARACTERS: the check path is not a valid path";

export function http2Probe(
  target: H2Target,
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return attempt(check.timeoutMs, signal, ({ done, decide }) => {
    if (!isRequestPath(check.path)) {
      done({ ok: false, detail: INVALID_PATH, local: true });
      return () => undefined;
    }
    let verdict: Outcome | undefined;
    const session = h2Session(target, check.protocol === "http2s");
    session.on("error", (err) => done(verdict ?? h2ErrorOutcome(err)));
    const stream = session.request({
      ":method": "GET",
      ":path": check.path,
      "user-agent": USER_AGENT,
      accept: "*/*",
    });
    let drained = 0;
    stream.on("response", (headers) => {
      verdict = judge(Number(headers[":status"]), check.expectedStatus);
      decide(verdict);
    });
    stream.on("data", (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > H2_BODY_CAP && verdict) done(verdict);
    });
    // With a verdict, finish once the stream has closed (see grpc.ts: cheaper than a reset).
    stream.on("end", () => {
      if (!verdict) done({ ok: false, detail: "stream ended before a response" });
    });
    stream.on("close", () =>
      done(
        verdict ?? {
          ok: false,
          detail: `stream closed before a response (${rstDetail(stream.rstCode ?? 0)})`,
        },
      ),
    );
    stream.on("error", (err) => done(verdict ?? h2ErrorOutcome(err)));
    return () => session.destroy();
  });
}

function judge(code: number, expected: readonly StatusRange[]): Outcome {
  const ok = expected.some((r) => code >= r.min && code <= r.max);
  const ranges = expected.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`));
  return { ok, detail: ok ? `HTTP/2 ${code}` : `HTTP/2 ${code} (expected ${ranges.join(",")})` };
}
