// The real Prober: HTTP, HTTPS or TCP by the check's protocol, timed.

import { performance } from "node:perf_hooks";
import type { CheckSpec, ProbeResult } from "../domain/types";
import type { Prober } from "../ports";
import { httpProbe } from "./http";
import { errorDetail, type Outcome } from "./outcome";
import { tcpProbe } from "./tcp";

export class NetProber implements Prober {
  constructor(private readonly clock: { now: () => number }) {}

  async probe(
    target: { readonly host: string; readonly port: number },
    check: CheckSpec,
    signal?: AbortSignal,
  ): Promise<ProbeResult> {
    const start = performance.now();
    let outcome: Outcome;
    try {
      outcome =
        check.protocol === "tcp"
          ? await tcpProbe(target, check, signal)
          : await httpProbe(target, check, signal);
    } catch (err) {
      // Defensive: a probe reports failures, it never throws into the cycle.
      outcome = { ok: false, detail: errorDetail(err) };
    }
    return {
      ok: outcome.ok,
      detail: outcome.detail,
      latencyMs: Math.round((performance.now() - start) * 10) / 10,
      at: this.clock.now(),
    };
  }
}
