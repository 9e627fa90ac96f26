// `verify-echo`: the echo side of the `verify` experiment. Answers every request with its own
// ECS task ID, so the client can count which task each request reached.

import http from "node:http";
import type { AddressInfo } from "node:net";

/** The task's ID from the ECS task metadata endpoint (v4), as the last part of its ARN. */
export async function taskIdFromMetadata(
  uri: string | undefined,
  signal?: AbortSignal,
): Promise<string> {
  if (uri === undefined || uri === "") {
    throw new Error("ECS_CONTAINER_METADATA_URI_V4 is not set: verify-echo runs in an ECS task");
  }
  const res = await fetch(`${uri}/task`, { signal: signal ?? AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`task metadata ${uri}/task answered HTTP ${res.status}`);
  const body = (await res.json()) as { TaskARN?: unknown };
  if (typeof body.TaskARN !== "string" || body.TaskARN === "") {
    throw new Error(`task metadata ${uri}/task has no TaskARN`);
  }
  return body.TaskARN.slice(body.TaskARN.lastIndexOf("/") + 1);
}

export interface Echo {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `{"task": ID}` on every path. */
export async function startEcho(opts: {
  host: string;
  port: number;
  taskId: string;
}): Promise<Echo> {
  const body = JSON.stringify({ task: opts.taskId });
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
