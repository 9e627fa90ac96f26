// Real gRPC health servers on loopback: @grpc/grpc-js with the official grpc-health-check
// service, plaintext or TLS, with statuses the test sets per service name.

import * as grpc from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import { TEST_CERT, TEST_KEY } from "./test-cert";

export interface GrpcTarget {
  readonly host: string;
  readonly port: number;
  /** Sets a service's status; `""` is the server as a whole. */
  set(service: string, status: ServingStatus): void;
  close(): Promise<void>;
}

export async function startGrpcTarget(
  opts: { host?: string; tls?: boolean; statuses?: Record<string, ServingStatus> } = {},
): Promise<GrpcTarget> {
  const host = opts.host ?? "127.0.0.1";
  const health = new HealthImplementation(opts.statuses ?? { "": "SERVING" });
  const server = new grpc.Server();
  health.addToServer(server);
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [
        { private_key: Buffer.from(TEST_KEY), cert_chain: Buffer.from(TEST_CERT) },
      ])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    host,
    port,
    set: (service, status) => health.setStatus(service, status),
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams a test left open must not hold the shutdown.
        setTimeout(() => server.forceShutdown(), 200).unref();
      }),
  };
}
