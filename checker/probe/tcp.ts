// TCP connect probe: healthy when a connection is established within the timeout.

import net from "node:net";
import type { CheckSpec } from "../domain/types";
import { attempt, type Outcome } from "./outcome";

export function tcpProbe(
  target: { host: string; port: number },
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return attempt(check.timeoutMs, signal, (done) => {
    const socket = net.connect({ host: target.host, port: target.port });
    socket.once("connect", () => done({ ok: true, detail: "TCP connected" }));
    socket.once("error", (err: NodeJS.ErrnoException) =>
      done({ ok: false, detail: err.code ?? err.message }),
    );
    return () => socket.destroy();
  });
}
