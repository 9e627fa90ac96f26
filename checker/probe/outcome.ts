/** A probe's verdict before timing is attached. */
export interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Runs one probe attempt with a hard deadline and abort support. `start` begins the I/O,
 * reports through `done`, and returns the cleanup that releases its socket; the first outcome
 * wins and cleanup runs exactly once, on every path.
 */
export function attempt(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (done: (o: Outcome) => void) => () => void,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const io: { cleanup?: () => void } = {};
    const done = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      io.cleanup?.();
      resolve(o);
    };
    const onAbort = (): void => done({ ok: false, detail: "aborted" });
    const timer = setTimeout(
      () => done({ ok: false, detail: `timeout after ${timeoutMs}ms` }),
      timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    io.cleanup = start(done);
    // `start` may have failed synchronously, before its cleanup existed.
    if (settled) io.cleanup();
  });
}
