/** A probe's verdict before timing is attached. */
export interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
}

export interface Attempt {
  /** Final outcome: the first call wins, releases the I/O and resolves the probe. */
  done(o: Outcome): void;
  /** The verdict is known but I/O goes on (a body being drained): report this on the deadline. */
  decide(o: Outcome): void;
}

/**
 * Runs one probe attempt with a hard deadline and abort support. `start` begins the I/O and
 * returns the cleanup that releases its socket; cleanup runs exactly once, on every path, and
 * the promise always resolves (a synchronous throw from `start` becomes a failed outcome).
 */
export function attempt(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (a: Attempt) => () => void,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    let decided: Outcome | undefined;
    let cleanup: (() => void) | undefined;
    const done = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      cleanup?.();
      resolve(o);
    };
    const onAbort = (): void => done({ ok: false, detail: "aborted" });
    const timer = setTimeout(
      () => done(decided ?? { ok: false, detail: `timeout after ${timeoutMs}ms` }),
      timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      cleanup = start({ done, decide: (o) => (decided ??= o) });
    } catch (err) {
      return done({ ok: false, detail: errorDetail(err) });
    }
    // `start` may have finished synchronously, before its cleanup existed.
    if (settled) cleanup();
  });
}

/** `ECONNREFUSED`-style code when there is one, else the message. */
export function errorDetail(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ?? err.message;
  }
  return String(err);
}
