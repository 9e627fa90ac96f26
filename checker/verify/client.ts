// `verify-client`: the client side of the `verify` experiment. Sends a steady stream of requests
// to the echo service's Service Connect alias and writes one JSON line a second (to stdout, which
// the awslogs driver ships to CloudWatch Logs): how many were sent, how many each task answered,
// and the errors by kind.

/** One second of the client's traffic, as it logs it. */
export interface TrafficLine {
  readonly kind: "verify-traffic";
  /** Epoch ms the second ended. */
  readonly at: number;
  readonly sent: number;
  /** Answers per echo task ID. */
  readonly counts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly errorKinds?: Readonly<Record<string, number>>;
}

export interface ClientOptions {
  readonly url: string;
  /** Requests a second. */
  readonly rate: number;
  readonly timeoutMs: number;
  readonly write: (line: TrafficLine) => void;
  readonly now?: () => number;
}

export interface Client {
  stop(): Promise<void>;
}

export function startClient(opts: ClientOptions): Client {
  const now = opts.now ?? Date.now;
  let counts: Record<string, number> = {};
  let kinds: Record<string, number> = {};
  let sent = 0;
  let errors = 0;
  const inFlight = new Set<Promise<void>>();
  const fail = (kind: string): void => {
    errors++;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  };
  const one = async (): Promise<void> => {
    sent++;
    try {
      const res = await fetch(opts.url, { signal: AbortSignal.timeout(opts.timeoutMs) });
      const text = await res.text();
      if (!res.ok) return fail(`HTTP ${res.status}`);
      const task = (JSON.parse(text) as { task?: unknown }).task;
      if (typeof task !== "string") return fail("no task in the answer");
      counts[task] = (counts[task] ?? 0) + 1;
    } catch (err) {
      fail(errorKind(err));
    }
  };
  const send = setInterval(
    () => {
      const p = one().finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    Math.max(1, Math.round(1000 / opts.rate)),
  );
  const flush = (): void => {
    const line: TrafficLine = {
      kind: "verify-traffic",
      at: now(),
      sent,
      counts,
      errors,
      ...(errors > 0 ? { errorKinds: kinds } : {}),
    };
    counts = {};
    kinds = {};
    sent = 0;
    errors = 0;
    opts.write(line);
  };
  const report = setInterval(flush, 1000);
  return {
    async stop() {
      clearInterval(send);
      clearInterval(report);
      await Promise.allSettled([...inFlight]);
      flush();
    },
  };
}

function errorKind(err: unknown): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return "timeout";
  }
  // fetch wraps the socket's error: `cause` (or the first of an AggregateError's) has the code.
  const cause = (err as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (typeof code === "string") return code;
  return err instanceof Error ? err.name : "error";
}
