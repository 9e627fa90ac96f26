// HTTP(S) GET probe over a socket of its own: a fresh connection every time (`Connection:
// close`), since a pooled keep-alive socket could answer for a listener that has since died.
// It writes one fixed request and reads the status line and headers itself, rather than going
// through node:http's client: at 20,000 instances every 5 s that client's per-request cost
// (agent, parser, IncomingMessage) was most of the checker's CPU (see bench/core.ts).

import net from "node:net";
import tls from "node:tls";
import type { CheckSpec, StatusRange } from "../domain/types";
import { attempt, errorDetail, type Outcome } from "./outcome";

const USER_AGENT = "cloudmap-health-checker";
/** Body bytes read (and discarded) before hanging up: enough for any health page. */
const BODY_CAP = 64 * 1024;
/** Status line and headers together; a target that sends more is cut off. */
const HEAD_CAP = 16 * 1024;
/** What a request target may hold: visible ASCII, no spaces (RFC 9112 request-target). */
const PATH = /^\/[\x21-\x7e]*$/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |\r)/;
/** Header lines (each after a CRLF; `headers` starts with the status line). */
const CONTENT_LENGTH = /\r\ncontent-length[ \t]*:[ \t]*(\d+)[ \t]*(?=\r\n|$)/i;
const CHUNKED = /\r\ntransfer-encoding[ \t]*:[^\r\n]*chunked/i;
/** Every plain-HTTP probe reads into this; each chunk is consumed before the next read lands. */
const READ_BUFFER = Buffer.allocUnsafe(16 * 1024);

export function httpProbe(
  target: { host: string; port: number },
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return attempt(check.timeoutMs, signal, ({ done, decide }) => {
    if (!PATH.test(check.path)) {
      done({ ok: false, detail: "ERR_UNESCAPED_CHARACTERS: the check path is not a valid path" });
      return () => undefined;
    }
    const request =
      `GET ${check.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n` +
      `User-Agent: ${USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
    const response = new ResponseReader(check.expectedStatus);
    const onChunk = (chunk: Buffer): void => {
      const step = response.push(chunk);
      if (step.decided) decide(step.decided);
      if (step.final) done(step.final);
    };
    let socket: net.Socket;
    if (check.protocol === "https") {
      // Targets use self-signed certificates, as behind ELB health checks. No SNI for an IP.
      socket = tls.connect({
        host: target.host,
        port: target.port,
        rejectUnauthorized: false,
        ...(net.isIP(target.host) ? {} : { servername: target.host }),
      });
      // The handshake's last flight and the request are separate writes: no Nagle wait between.
      socket.setNoDelay(true);
      socket.once("secureConnect", () => socket.write(request));
      socket.on("data", onChunk);
    } else {
      // Reads land in one shared buffer, without the stream's per-chunk Buffer and events: the
      // reader copies what it keeps before the next read. One write needs no TCP_NODELAY.
      socket = net.connect({
        host: target.host,
        port: target.port,
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array) => {
            onChunk(Buffer.from(buf.buffer, buf.byteOffset, n));
            return true;
          },
        },
      });
      socket.once("connect", () => socket.write(request));
    }
    // The server closed: whatever we know by now is the answer.
    socket.on("end", () => done(response.atEnd()));
    socket.on("error", (err) => done(response.decided ?? { ok: false, detail: errorDetail(err) }));
    return () => socket.destroy();
  });
}

const NOT_HTTP: Outcome = { ok: false, detail: "not an HTTP/1.x response" };

/**
 * Reads a response as it arrives: the status line decides, then a bounded body is drained so
 * the server sees an orderly exchange (Content-Length or chunked framing, else until it
 * closes). Only the head is kept; body bytes are counted and dropped. Informational (1xx)
 * responses before the final one are skipped, as node:http's client does.
 */
class ResponseReader {
  decided: Outcome | undefined;
  private head = "";
  private inBody = false;
  private bodySeen = 0;
  private bodyLength: number | undefined;
  private chunked = false;
  /** The body's last bytes, after a CRLF: enough to see the chunk that ends it. */
  private tail = "\r\n";

  constructor(private readonly expected: readonly StatusRange[]) {}

  /** Feeds a chunk; `decided` once the status is known, `final` once the probe is done. */
  push(chunk: Buffer): { decided?: Outcome; final?: Outcome } {
    if (this.inBody) return this.body(chunk);
    this.head += chunk.toString("latin1");
    for (;;) {
      const m = STATUS_LINE.exec(this.head);
      if (!m) {
        // A whole line that is no status line, or far too much of one.
        return this.head.includes("\n") || this.head.length > HEAD_CAP ? { final: NOT_HTTP } : {};
      }
      const end = this.head.indexOf("\r\n\r\n");
      if (end < 0 && this.head.length > HEAD_CAP) {
        return this.decided ? { final: this.decided } : { final: NOT_HTTP };
      }
      const code = Number(m[1]);
      if (code >= 100 && code < 200 && code !== 101) {
        if (end < 0) return {};
        this.head = this.head.slice(end + 4);
        continue;
      }
      this.decide(code);
      if (end < 0) return { decided: this.decided! };
      this.frame(code, this.head.slice(0, end));
      const rest = Buffer.from(this.head.slice(end + 4), "latin1");
      this.head = "";
      this.inBody = true;
      return { decided: this.decided!, ...this.body(rest) };
    }
  }

  /** What to report when the server closes the connection. */
  atEnd(): Outcome {
    return this.decided ?? { ok: false, detail: "connection closed before a response" };
  }

  private decide(code: number): void {
    const ok = this.expected.some((r) => code >= r.min && code <= r.max);
    this.decided ??= {
      ok,
      detail: ok ? `HTTP ${code}` : `HTTP ${code} (expected ${formatRanges(this.expected)})`,
    };
  }

  private frame(code: number, headers: string): void {
    // No body can follow these.
    if (code === 204 || code === 304 || code === 101) {
      this.bodyLength = 0;
      return;
    }
    // Two searches over the head rather than a string per header line, per probe.
    const length = CONTENT_LENGTH.exec(headers);
    if (length) this.bodyLength = Number(length[1]);
    if (CHUNKED.test(headers)) this.chunked = true;
    if (this.chunked) this.bodyLength = undefined;
  }

  private body(chunk: Buffer): { final?: Outcome } {
    this.bodySeen += chunk.length;
    if (this.chunked) this.tail = (this.tail + chunk.toString("latin1")).slice(-7);
    // The zero-length chunk that ends a chunked body (trailers are not expected of a probe).
    const finished =
      (this.bodyLength !== undefined && this.bodySeen >= this.bodyLength) ||
      (this.chunked && this.tail.endsWith("\r\n0\r\n\r\n")) ||
      this.bodySeen > BODY_CAP;
    return finished ? { final: this.decided! } : {};
  }
}

function formatRanges(ranges: readonly StatusRange[]): string {
  return ranges.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`)).join(",");
}
