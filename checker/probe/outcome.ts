/** A probe's verdict before timing is attached. */
export interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
  /** The checker's own fault, not the target's (see ProbeResult.local). */
  readonly local?: boolean;
}

export interface Attempt {
  /** Final outcome: the first call wins, releases the I/O and resolves the probe. */
  done(o: Outcome): void;
  /** The verdict is known but I/O goes on (a body being drained): report this on the deadline. */
  decide(o: Outcome): void;
  /** Nothing decided yet: what the deadline adds to `timeout after Nms` (undefined: nothing). */
  note(missing: string | undefined): void;
}

/**
 * Runs one probe attempt with a hard deadline and abort support. `start` begins the I/O and
 * returns the cleanup that releases its socket; cleanup runs exactly once, on every path, and
 * the promise always resolves (a synchronous throw from `start` becomes a failed outcome, the
 * checker's own: `start` throws before any I/O, on arguments Node refuses).
 */
export function attempt(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (a: Attempt) => () => void,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    let decided: Outcome | undefined;
    let missing: string | undefined;
    let cleanup: (() => void) | undefined;
    let unlisten: (() => void) | undefined;
    const done = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unlisten?.();
      cleanup?.();
      resolve(o);
    };
    const onAbort = (): void => done({ ok: false, detail: "aborted" });
    const begun = performance.now();
    const timer = setTimeout(() => {
      const late = performance.now() - begun - timeoutMs;
      // Timers run before I/O in each turn of the event loop: an answer that arrived in time
      // but waits unread behind a busy checker is read in this turn's poll phase, before the
      // immediate. Only then is it a timeout.
      setImmediate(() => {
        if (settled) return;
        if (decided) return done(decided);
        done(deadlineOutcome(timeoutMs, late, missing));
      });
    }, timeoutMs);
    if (signal?.aborted) return onAbort();
    if (signal) unlisten = onAbortOf(signal, onAbort);
    try {
      cleanup = start({ done, decide: (o) => (decided ??= o), note: (m) => (missing = m) });
    } catch (err) {
      return done({ ok: false, detail: errorDetail(err), local: true });
    }
    // `start` may have finished synchronously, before its cleanup existed.
    if (settled) cleanup();
  });
}

/**
 * The verdict at the deadline. A deadline that fired well after its time means the checker's
 * own event loop was blocked meanwhile (its CPU saturated, a long GC): the target was not given
 * its time, so the failure is the checker's (local), which decides nothing about the target.
 */
export function deadlineOutcome(
  timeoutMs: number,
  lateMs: number,
  missing: string | undefined,
): Outcome {
  const detail = `timeout after ${timeoutMs}ms`;
  if (lateMs >= lateLimitMs(timeoutMs)) {
    return {
      ok: false,
      detail: `${detail}, not the target's: the checker was busy (deadline ${Math.round(lateMs)}ms late)`,
      local: true,
    };
  }
  return { ok: false, detail: missing ? `${detail}: ${missing}` : detail };
}

/**
 * How late a deadline may fire and still be the target's: a quarter of it, and 100 ms at least
 * (above a GC pause, so a loaded but working checker still blames a hung target).
 */
export function lateLimitMs(timeoutMs: number): number {
  return Math.max(100, timeoutMs / 4);
}

/** The probes waiting on each signal, behind one listener of its own. */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `fn` when `signal` aborts; returns what stops it. Every probe of a run shares one signal
 * and one 'abort' listener on it: EventTarget's own add/removeEventListener cost about 6 µs a
 * probe, 2-3 % of the checker's CPU at 20,000 probes a cycle.
 */
function onAbortOf(signal: AbortSignal, fn: () => void): () => void {
  let fns = waiting.get(signal);
  if (fns === undefined) {
    const all = new Set<() => void>();
    signal.addEventListener("abort", () => [...all].forEach((f) => f()), { once: true });
    waiting.set(signal, (fns = all));
  }
  const mine = fns;
  mine.add(fn);
  return () => void mine.delete(fn);
}

/** Error codes that mean this host failed (descriptors, buffers, local ports), not the target. */
const LOCAL_ERRNO = new Set([
  "EMFILE",
  "ENFILE",
  "ENOBUFS",
  "ENOMEM",
  "EADDRNOTAVAIL",
  "EADDRINUSE",
]);

/**
 * Whether a socket error code is the checker's own failure rather than the target's: resource
 * exhaustion on this host, or Node refusing its own arguments (`ERR_*`). The TLS layer's codes
 * (`ERR_SSL_*`, `ERR_TLS_*`, `ERR_OSSL_*`) and HTTP/2's (`ERR_HTTP2_*`: GOAWAY, RST_STREAM,
 * protocol errors) are excepted: they come of the target's handshake or answer.
 */
export function isLocalError(code: string | undefined): boolean {
  if (code === undefined) return false;
  if (LOCAL_ERRNO.has(code)) return true;
  return (
    code.startsWith("ERR_") &&
    !code.startsWith("ERR_SSL_") &&
    !code.startsWith("ERR_TLS_") &&
    !code.startsWith("ERR_OSSL_") &&
    !code.startsWith("ERR_HTTP2_")
  );
}

/** A failed outcome for a socket error, marked local when the error is the checker's own. */
export function errorOutcome(err: unknown): Outcome {
  const detail = errorDetail(err);
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return isLocalError(code) ? { ok: false, detail, local: true } : { ok: false, detail };
}

/** `ECONNREFUSED`-style code when there is one, else the message. */
export function errorDetail(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ?? err.message;
  }
  return String(err);
}
