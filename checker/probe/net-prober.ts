// The real Prober: HTTP/1.1, HTTP/2, gRPC health or TCP by the check's protocol, timed.

import { performance } from "node:perf_hooks";
import type { CheckSpec, ProbeResult } from "../domain/types";
import type { Prober } from "../ports";
import { grpcProbe } from "./grpc";
import { httpProbe } from "./http";
import { http2Probe } from "./http2";
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
      outcome = await probeBy(target, check, signal);
    } catch (err) {
      // Defensive: a probe reports failures, it never throws into the cycle. A throw is a
      // fault of the checker's, which says nothing of the target.
      outcome = { ok: false, detail: errorDetail(err), local: true };
    }
    const latencyMs = Math.round((performance.now() - start) * 10) / 10;
    const at = this.clock.now();
    // `local` only when set, so the usual result keeps its four properties.
    return outcome.local === true
      ? { ok: outcome.ok, detail: outcome.detail, latencyMs, at, local: true }
      : { ok: outcome.ok, detail: outcome.detail, latencyMs, at };
  }
}

function probeBy(
  target: { readonly host: string; readonly port: number },
  check: CheckSpec,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  switch (check.protocol) {
    case "http":
    case "https":
      return httpProbe(target, check, signal);
    case "http2":
    case "http2s":
      return http2Probe(target, check, signal);
    case "grpc":
    case "grpcs":
      return grpcProbe(target, check, signal);
    case "tcp":
      return tcpProbe(target, check, signal);
    case "auto":
      // The read step resolves `auto` before probing; reaching here is the checker's own fault.
      return Promise.resolve({ ok: false, detail: "check protocol not resolved", local: true });
  }
}
