// A small HTTP proxy in front of moto that injects AWS faults (throttling, 5xx) and counts
// every call by operation, so tests can assert that no wrong or duplicate mutation happened.

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Fault {
  /** Which operations (e.g. "ListInstances", "DescribeTasks"); all when omitted. */
  readonly operations?: readonly string[];
  readonly kind: "throttle" | "500" | "503";
  /** Chance of failing a matching call, 0-1 (default 1). */
  readonly probability?: number;
  /** Fail at most this many matching calls (default unlimited). */
  readonly count?: number;
}

export interface ProxiedCall {
  readonly operation: string;
  readonly status: number;
  readonly injected: boolean;
  readonly body: string;
}

export interface FaultProxy {
  readonly endpoint: string;
  readonly calls: ProxiedCall[];
  setFaults(faults: readonly Fault[]): void;
  /** Calls of one operation that reached moto and succeeded. */
  succeeded(operation: string): ProxiedCall[];
  close(): Promise<void>;
}

/** The operation name from the JSON protocol's X-Amz-Target header. */
function operationOf(req: http.IncomingMessage): string {
  const target = req.headers["x-amz-target"];
  const value = Array.isArray(target) ? target[0] : target;
  return value ? value.slice(value.lastIndexOf(".") + 1) : `${req.method} ${req.url}`;
}

export async function startFaultProxy(targetEndpoint: string, seed = 1): Promise<FaultProxy> {
  const target = new URL(targetEndpoint);
  const calls: ProxiedCall[] = [];
  let faults: Array<Fault & { used: number }> = [];
  // Deterministic pseudo-random sequence, so a failing run can be replayed.
  let state = seed;
  const random = (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const operation = operationOf(req);
      const fault = faults.find(
        (f) =>
          (!f.operations || f.operations.includes(operation)) &&
          (f.count === undefined || f.used < f.count) &&
          random() < (f.probability ?? 1),
      );
      if (fault) {
        fault.used++;
        const status = fault.kind === "throttle" ? 400 : Number(fault.kind);
        calls.push({ operation, status, injected: true, body: body.toString() });
        const payload =
          fault.kind === "throttle"
            ? { __type: "ThrottlingException", message: "Rate exceeded" }
            : { __type: "ServiceUnavailableException", message: "injected" };
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(payload));
        return;
      }
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (up) => {
          calls.push({
            operation,
            status: up.statusCode ?? 0,
            injected: false,
            body: body.toString(),
          });
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    setFaults(next) {
      faults = next.map((f) => ({ ...f, used: 0 }));
    },
    succeeded(operation) {
      return calls.filter((c) => c.operation === operation && !c.injected && c.status < 300);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
