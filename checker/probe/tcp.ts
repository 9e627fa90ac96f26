// TCP connect probe: healthy when a connection is established within the timeout.

import net from "node:net";
import type { CheckSpec } from "../domain/types";
import type { Outcome } from "./outcome";

export function tcpProbe(
  target: { host: string; port: number },
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const socket = net.connect({ host: target.host, port: target.port });
    const done = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(
      () => done({ ok: false, detail: `timeout after ${check.timeoutMs}ms` }),
      check.timeoutMs,
    );
    const onAbort = (): void => done({ ok: false, detail: "aborted" });
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => done({ ok: true, detail: "TCP connected" }));
    socket.once("error", (err: NodeJS.ErrnoException) =>
      done({ ok: false, detail: err.code ?? err.message }),
    );
  });
}
