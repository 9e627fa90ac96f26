// A probe's check as the config would make it (path /health, 2xx-3xx, the server as a whole),
// for tests and benches that probe directly.

import type { CheckSpec, ProbeProtocol } from "../../checker/domain/types";

export function checkSpec(
  protocol: CheckSpec["protocol"] | ProbeProtocol,
  timeoutMs: number,
  more: Partial<CheckSpec> = {},
): CheckSpec {
  return {
    protocol,
    path: "/health",
    port: undefined,
    expectedStatus: [{ min: 200, max: 399 }],
    timeoutMs,
    grpcService: "",
    ...more,
  };
}
