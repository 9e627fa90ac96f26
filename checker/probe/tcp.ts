// TCP connect probe: healthy when a connection is established within the timeout. The socket
// is closed at once; nothing is sent.

import net from "node:net";
import type { CheckSpec } from "../domain/types";
import { attempt, errorOutcome, type Outcome } from "./outcome";

export function tcpProbe(
  target: { host: string; port: number },
  check: CheckSpec,
  signal?: AbortSignal,
): Promise<Outcome> {
  return attempt(check.timeoutMs, signal, ({ done }) => {
    const socket = net.connect({ host: target.host, port: target.port });
    socket.once("connect", () => done({ ok: true, detail: "TCP connected" }));
    socket.on("error", (err) => done(errorOutcome(err)));
    return () => socket.destroy();
  });
}
