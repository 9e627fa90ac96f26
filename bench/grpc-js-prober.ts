// The gRPC health probe as @grpc/grpc-js would make it, for the benchmark's comparison with the
// checker's own (checker/probe/grpc.ts): a client of its own per probe (a local subchannel pool,
// so no connection is shared), one unary Check, then closed.

import * as grpc from "@grpc/grpc-js";
import type { CheckSpec, ProbeResult } from "../checker/domain/types";
import type { Prober } from "../checker/ports";

const CHECK = "/grpc.health.v1.Health/Check";
const EMPTY = Buffer.alloc(0);

export class GrpcJsProber implements Prober {
  probe(target: { host: string; port: number }, check: CheckSpec): Promise<ProbeResult> {
    const start = performance.now();
    const client = new grpc.Client(
      `${target.host}:${target.port}`,
      grpc.credentials.createInsecure(),
      { "grpc.use_local_subchannel_pool": 1 },
    );
    return new Promise<ProbeResult>((resolve) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        CHECK,
        () => EMPTY,
        (b) => b,
        EMPTY,
        { deadline: Date.now() + check.timeoutMs },
        (err, res) => {
          client.close();
          // HealthCheckResponse { status = 1 (SERVING) } is the two bytes 08 01.
          const ok = err === null && res !== undefined && res[0] === 0x08 && res[1] === 1;
          resolve({
            ok,
            detail: err ? `gRPC ${err.code}` : ok ? "gRPC SERVING" : "gRPC not serving",
            latencyMs: performance.now() - start,
            at: Date.now(),
          });
        },
      );
    });
  }
}
