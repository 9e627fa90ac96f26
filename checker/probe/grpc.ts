// gRPC health probe: one unary grpc.health.v1.Health/Check call on a session of its own, over
// Node's http2 client. The request and the response are one-field protobuf messages, encoded
// and decoded here in a few lines: @grpc/grpc-js cost several times the CPU per probe with a
// fresh channel each time (bench/probe-cost.ts; README "Probe cost by protocol").

import type http2 from "node:http2";
import type { CheckSpec } from "../domain/types";
import { h2ErrorOutcome, h2Session, rstDetail, type H2Target } from "./h2";
import { attempt, type Outcome } from "./outcome";

export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";
const USER_AGENT = "cloudmap-health-checker";
/** A health response is a few bytes; anything longer is not one. */
const MESSAGE_CAP = 16 * 1024;

/** grpc.health.v1.HealthCheckResponse.ServingStatus. */
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;

/** gRPC status codes, by number. */
const GRPC_CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

export function grpcProbe(
  target: H2Target,
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return attempt(check.timeoutMs, signal, ({ done, decide, note }) => {
    const session = h2Session(target, check.protocol === "grpcs");
    session.on("error", (err) => done(h2ErrorOutcome(err)));
    const stream = session.request(
      {
        ":method": "POST",
        ":path": HEALTH_CHECK_PATH,
        "content-type": "application/grpc",
        te: "trailers",
        "user-agent": USER_AGENT,
        // The server may give up at our deadline too (milliseconds, at most 8 digits).
        "grpc-timeout": `${Math.min(check.timeoutMs, 99_999_999)}m`,
      },
      { endStream: false },
    );
    stream.end(healthRequest(check.grpcService));
    const reply = new ReplyReader();
    stream.on("response", (headers) => {
      const early = reply.headers(headers);
      if (early) done(early);
      else note("gRPC response incomplete");
    });
    stream.on("data", (chunk: Buffer) => {
      const over = reply.data(chunk);
      if (over) done(over);
    });
    stream.on("trailers", (trailers) => reply.trailers(trailers));
    // The verdict is known at the end of the reply, but the probe finishes when the stream has
    // closed: destroying the session on a stream still open costs an RST_STREAM and an error
    // object, about a tenth of the probe's CPU.
    stream.on("end", () => decide(reply.result()));
    stream.on("close", () =>
      done(
        reply.seenHeaders
          ? reply.result()
          : {
              ok: false,
              detail: `stream closed before a response (${rstDetail(stream.rstCode ?? 0)})`,
            },
      ),
    );
    stream.on("error", (err) => done(h2ErrorOutcome(err)));
    return () => session.destroy();
  });
}

/** A length-prefixed HealthCheckRequest: field 1 (`service`) only when it is not empty. */
export function healthRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  const body = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([fieldHead(name.length), name]);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt8(0, 0); // not compressed
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** Tag of field 1, length-delimited (0x0a), and the length as a varint. */
function fieldHead(length: number): Buffer {
  const bytes = [0x0a];
  let n = length;
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** Collects a unary reply: headers, one length-prefixed message, trailers with grpc-status. */
class ReplyReader {
  seenHeaders = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private status: string | undefined;
  private message: string | undefined;

  headers(h: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): Outcome | undefined {
    this.seenHeaders = true;
    const code = h[":status"];
    if (code !== 200) return { ok: false, detail: `HTTP/2 ${code ?? "?"}: not a gRPC response` };
    const type = String(h["content-type"] ?? "");
    if (!type.startsWith("application/grpc")) {
      return { ok: false, detail: `not a gRPC response (content-type ${JSON.stringify(type)})` };
    }
    // Trailers-only: a status with no message, in the headers.
    if (h["grpc-status"] !== undefined) this.trailers(h);
    return undefined;
  }

  data(chunk: Buffer): Outcome | undefined {
    this.size += chunk.length;
    if (this.size > MESSAGE_CAP) {
      return { ok: false, detail: `gRPC response longer than ${MESSAGE_CAP} bytes` };
    }
    this.chunks.push(chunk);
    return undefined;
  }

  trailers(t: http2.IncomingHttpHeaders): void {
    this.status = String(t["grpc-status"] ?? "");
    const m = t["grpc-message"];
    if (m !== undefined) this.message = decodeMessage(String(m));
  }

  /** The verdict once the stream has ended. */
  result(): Outcome {
    if (!this.seenHeaders) return { ok: false, detail: "stream ended before a response" };
    if (this.status === undefined || this.status === "") {
      return { ok: false, detail: "gRPC response without grpc-status" };
    }
    const code = Number(this.status);
    if (code !== 0) {
      const name = GRPC_CODES[code] ?? `status ${this.status}`;
      const why = this.message ? `: ${this.message.slice(0, 200)}` : "";
      // Check answers NOT_FOUND for a service the server does not know.
      return code === 5
        ? { ok: false, detail: `gRPC SERVICE_UNKNOWN (NOT_FOUND${why})` }
        : { ok: false, detail: `gRPC ${name}${why}` };
    }
    const serving = servingStatus(Buffer.concat(this.chunks));
    if (typeof serving === "string") return { ok: false, detail: serving };
    const name = SERVING_STATUS[serving] ?? `serving status ${serving}`;
    return { ok: serving === 1, detail: `gRPC ${name}` };
  }
}

/** The ServingStatus in one length-prefixed HealthCheckResponse, or what is wrong with it. */
export function servingStatus(frame: Buffer): number | string {
  if (frame.length < 5) return "gRPC response without a message";
  if (frame[0] !== 0) return "gRPC response compressed (not asked for)";
  const length = frame.readUInt32BE(1);
  if (frame.length !== 5 + length) return "gRPC response is not one whole message";
  const body = frame.subarray(5);
  // Proto3 leaves a zero (UNKNOWN) status out; unknown fields are skipped.
  let status = 0;
  let at = 0;
  while (at < body.length) {
    const tag = varint(body, at);
    if (tag === undefined) return "gRPC response is not a HealthCheckResponse";
    at = tag.next;
    const field = tag.value >>> 3;
    const wire = tag.value & 7;
    if (wire === 0) {
      const v = varint(body, at);
      if (v === undefined) return "gRPC response is not a HealthCheckResponse";
      at = v.next;
      if (field === 1) status = v.value;
    } else if (wire === 2) {
      const len = varint(body, at);
      if (len === undefined || len.next + len.value > body.length) {
        return "gRPC response is not a HealthCheckResponse";
      }
      at = len.next + len.value;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
    } else {
      return "gRPC response is not a HealthCheckResponse";
    }
  }
  return at === body.length ? status : "gRPC response is not a HealthCheckResponse";
}

/** A varint of up to 32 bits at `at`; undefined when truncated or longer. */
function varint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 5 && at + i < buf.length; i++) {
    const b = buf[at + i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return { value, next: at + i + 1 };
  }
  return undefined;
}

/** grpc-message is percent-encoded. */
function decodeMessage(m: string): string {
  try {
    return decodeURIComponent(m);
  } catch {
    return m;
  }
}
