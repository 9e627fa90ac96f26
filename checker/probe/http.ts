// HTTP(S) GET probe over a socket of its own: a fresh connection every time (`Connection:
// close`), since a pooled keep-alive socket could answer for a listener that has since died.
// It writes one fixed request and reads the status line and headers itself, rather than going
// through node:http's client: at 20,000 instances every 5 s that client's per-request cost
// (agent, parser, IncomingMessage) was most of the checker's CPU (see bench/core.ts).

import net from "node:net";
import tls from "node:tls";
import type { CheckSpec, StatusRange } from "../domain/types";
import { attempt, errorOutcome, type Outcome } from "./outcome";
import { isRequestPath } from "./request-path";

const USER_AGENT = "cloudmap-health-checker";
/** Body bytes read (and discarded) before hanging up: enough for any health page. */
const BODY_CAP = 64 * 1024;
/** Status line and headers together; a longer head fails the probe. */
const HEAD_CAP = 16 * 1024;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |\r|\n)/;
/**
 * The empty line that ends a head. Lines end in CRLF, or leniently (as llhttp) a bare LF.
 * Global, so a search resumes at `lastIndex` rather than rescanning what came before.
 */
const HEAD_END = /\n\r?\n/g;
/** Header lines (each after a LF; `headers` starts with the status line). */
const CONTENT_LENGTH = /\ncontent-length[ \t]*:[ \t]*(\d+)[ \t]*(?=[\r\n]|$)/i;
const CHUNKED = /\ntransfer-encoding[ \t]*:[^\r\n]*chunked/i;
/** Every plain-HTTP probe reads into this; each chunk is consumed before the next read lands. */
const READ_BUFFER = Buffer.allocUnsafe(16 * 1024);
const INVALID_PATH = "ERR_UNESCAPED_CHARACTERS: the check path is not a valid path";

export function httpProbe(
  target: { host: string; port: number },
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return attempt(check.timeoutMs, signal, ({ done, decide, note }) => {
    // Config refuses such a path at start-up; kept as a defence. Nothing was sent: local.
    if (!isRequestPath(check.path)) {
      done({ ok: false, detail: INVALID_PATH, local: true });
      return () => undefined;
    }
    const request =
      `GET ${check.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n` +
      `User-Agent: ${USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
    const response = new ResponseReader(check.expectedStatus);
    const onChunk = (chunk: Buffer): void => {
      const final = response.push(chunk);
      if (final) return done(final);
      if (response.decided) decide(response.decided);
      else note(response.missing());
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
    socket.on("error", (err) => done(response.decided ?? errorOutcome(err)));
    return () => socket.destroy();
  });
}

const NOT_HTTP: Outcome = { ok: false, detail: "not an HTTP/1.x response" };
const HEAD_TOO_LARGE: Outcome = {
  ok: false,
  detail: `response headers longer than ${HEAD_CAP} bytes`,
};
const CLOSED_EARLY: Outcome = { ok: false, detail: "connection closed before a response" };
/** What the deadline adds when a response began but its head never ended. */
const HEAD_INCOMPLETE = "response headers incomplete";

/**
 * Reads a response as it arrives. A verdict needs the whole head, status line and headers up
 * to the empty line: a status line alone may come from a target that dies or stalls mid-reply.
 * Then a bounded body is drained so the server sees an orderly exchange (Content-Length or
 * chunked framing, else until it closes). Only the head is kept; body bytes are counted and
 * dropped. Informational (1xx) responses before the final one are skipped, as node:http's
 * client does.
 */
class ResponseReader {
  /** Set once the final response's head is complete. */
  decided: Outcome | undefined;
  private head = "";
  /** Where the search for the head's end resumes: no empty line starts before it. */
  private scanned = 0;
  private inBody = false;
  private bodySeen = 0;
  private bodyLength: number | undefined;
  private chunked = false;
  /** The body's last bytes, after a CRLF: enough to see the chunk that ends it. */
  private tail = "\r\n";

  constructor(private readonly expected: readonly StatusRange[]) {}

  /** Feeds a chunk; returns the final outcome once the probe is done. */
  push(chunk: Buffer): Outcome | undefined {
    if (this.inBody) {
      const n = chunk.length;
      return this.body(n, this.chunked ? chunk.toString("latin1", Math.max(0, n - 7)) : "");
    }
    this.head += chunk.toString("latin1");
    for (;;) {
      const m = STATUS_LINE.exec(this.head);
      if (!m) {
        // A whole line that is no status line, or far too much of one.
        return this.head.includes("\n") || this.head.length > HEAD_CAP ? NOT_HTTP : undefined;
      }
      HEAD_END.lastIndex = this.scanned;
      const end = HEAD_END.exec(this.head);
      if (!end) {
        // The empty line may straddle this chunk and the next: rescan the last two characters.
        this.scanned = Math.max(0, this.head.length - 2);
        return this.head.length > HEAD_CAP ? HEAD_TOO_LARGE : undefined;
      }
      const code = Number(m[1]);
      const bodyStart = end.index + end[0].length;
      if (code >= 100 && code < 200 && code !== 101) {
        this.head = this.head.slice(bodyStart);
        this.scanned = 0;
        continue;
      }
      this.decide(code);
      this.frame(code, this.head.slice(0, end.index));
      // What followed the head in this chunk is the body's start; latin1 is a char a byte.
      const n = this.head.length - bodyStart;
      const last = this.chunked ? this.head.slice(Math.max(bodyStart, this.head.length - 7)) : "";
      this.head = "";
      this.inBody = true;
      return this.body(n, last);
    }
  }

  /** What the deadline should add: the head, if one began, never ended. */
  missing(): string | undefined {
    return this.decided === undefined && this.head !== "" ? HEAD_INCOMPLETE : undefined;
  }

  /** What to report when the server closes the connection. */
  atEnd(): Outcome {
    if (this.decided) return this.decided;
    if (this.head === "") return CLOSED_EARLY;
    const eol = this.head.search(/[\r\n]/);
    const line = this.head.slice(0, Math.min(eol < 0 ? this.head.length : eol, 100));
    return {
      ok: false,
      detail: `connection closed before the response headers ended (got ${JSON.stringify(line)})`,
    };
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

  /** Counts `n` body bytes; `last` holds their last few characters when the body is chunked. */
  private body(n: number, last: string): Outcome | undefined {
    this.bodySeen += n;
    if (this.chunked) this.tail = (this.tail + last).slice(-7);
    // The zero-length chunk that ends a chunked body (trailers are not expected of a probe).
    const finished =
      (this.bodyLength !== undefined && this.bodySeen >= this.bodyLength) ||
      (this.chunked && this.tail.endsWith("\r\n0\r\n\r\n")) ||
      this.bodySeen > BODY_CAP;
    return finished ? this.decided : undefined;
  }
}

function formatRanges(ranges: readonly StatusRange[]): string {
  return ranges.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`)).join(",");
}
