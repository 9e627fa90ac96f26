// One HTTP/2 session per probe (never pooled, as for HTTP/1.1: a pooled session could answer for
// a listener that has since died), over plaintext with prior knowledge (h2c) or TLS with ALPN h2.
// Node's own http2 client; the gRPC probe adds only the health request's few bytes on top.

import http2 from "node:http2";
import net from "node:net";
import { errorOutcome, type Outcome } from "./outcome";

export interface H2Target {
  readonly host: string;
  readonly port: number;
}

/** Reads kept from a response body, and bytes drained after the verdict, at most. */
export const H2_BODY_CAP = 64 * 1024;

export function h2Session(target: H2Target, tls: boolean): http2.ClientHttp2Session {
  const host = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
  const authority = `${tls ? "https" : "http"}://${host}:${target.port}`;
  // Targets use self-signed certificates, as behind ELB health checks. No SNI for an IP.
  const options: http2.SecureClientSessionOptions = tls
    ? {
        rejectUnauthorized: false,
        ...(net.isIP(target.host) ? {} : { servername: target.host }),
      }
    : {};
  return http2.connect(authority, options);
}

/** What a stream's RST_STREAM code means, for the probe's detail. */
export function rstDetail(code: number): string {
  const names: Record<number, string> = {
    0: "NO_ERROR",
    1: "PROTOCOL_ERROR",
    2: "INTERNAL_ERROR",
    3: "FLOW_CONTROL_ERROR",
    7: "REFUSED_STREAM",
    8: "CANCEL",
    11: "ENHANCE_YOUR_CALM",
    13: "HTTP_1_1_REQUIRED",
  };
  return names[code] ?? `code ${code}`;
}

/**
 * A failed outcome for a session's or stream's error. A stream cancelled because its session
 * failed carries the session's error (the refusal, the reset) as its cause: that is what to say.
 * HTTP/2's own codes keep their message, which says more than the code (`Protocol error`: the
 * target does not speak HTTP/2 there).
 */
export function h2ErrorOutcome(err: Error): Outcome {
  const code = (err as NodeJS.ErrnoException).code;
  const cause = code === "ERR_HTTP2_STREAM_CANCEL" && err.cause instanceof Error ? err.cause : err;
  const outcome = errorOutcome(cause);
  const causeCode = (cause as NodeJS.ErrnoException).code ?? "";
  return causeCode.startsWith("ERR_HTTP2_") && cause.message
    ? { ...outcome, detail: `${causeCode}: ${cause.message}` }
    : outcome;
}
