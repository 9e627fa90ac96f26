// A small HTTP proxy in front of moto that injects AWS faults (throttling, 5xx, delays, dropped
// connections), can rewrite answers moto gets wrong, and records every call by operation, so
// tests can assert that no wrong or duplicate mutation happened.

import http from "node:http";
import type { AddressInfo } from "node:net";

/** What a rule's predicate sees of a request. */
export interface CallInfo {
  /** Operation from the JSON protocol's X-Amz-Target, e.g. "ListInstances", "DescribeTasks". */
  readonly operation: string;
  /** Raw JSON request body. */
  readonly body: string;
}

interface FaultMatch {
  /** Which operations; all when omitted. */
  readonly operations?: readonly string[];
  /** Finer selection, e.g. one instance ID in the body. */
  readonly match?: (call: CallInfo) => boolean;
  /** Chance of applying to a matching call, 0-1 (default 1). */
  readonly probability?: number;
  /** Apply to at most this many matching calls (default unlimited). */
  readonly count?: number;
}

export type Fault = FaultMatch &
  (
    | {
        /** HTTP 400 ThrottlingException, HTTP 500/503, or a dropped connection (ECONNRESET). */
        readonly kind: "throttle" | "500" | "503" | "reset";
      }
    | {
        /**
         * Accept the request, read it, and never answer nor reset the connection (held open
         * until the proxy closes): an endpoint that swallows calls. Recorded with status 0.
         */
        readonly kind: "blackhole";
      }
    | {
        /** Wait, then forward: the call still reaches moto even if the client gave up. */
        readonly kind: "delay";
        readonly delayMs: number;
      }
    | {
        /** Forward, then replace moto's successful JSON answer. */
        readonly kind: "rewrite";
        readonly rewrite: (response: unknown, request: unknown) => unknown;
      }
  );

export interface ProxiedCall {
  readonly operation: string;
  /** HTTP status the client got; 0 for a dropped connection. */
  readonly status: number;
  /** True when the proxy answered (or dropped) the call itself: moto never saw it. */
  readonly injected: boolean;
  readonly body: string;
  /** Epoch ms the proxy had the whole request: when the client sent it. */
  readonly receivedAt: number;
  /** Epoch ms the answer went back to the client. */
  readonly at: number;
  /** Time spent waiting on moto (0 when the proxy answered itself). */
  readonly upstreamMs: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  /** Every call, in order of completion. Clear with `calls.length = 0`. */
  readonly calls: ProxiedCall[];
  /** Requests received and not yet answered in full. */
  readonly inFlight: number;
  /** Requests a `blackhole` rule holds, never to be answered, whose client has not given up. */
  readonly held: number;
  /** Replaces the rules; the first applicable rule wins. */
  setFaults(faults: Fault | readonly Fault[]): void;
  /** Calls of one operation that reached moto and succeeded. */
  succeeded(operation: string): ProxiedCall[];
  /** Successful mutating calls (Register*, Deregister*, Update*, Stop*, ...) by operation. */
  mutations(): Record<string, number>;
  close(): Promise<void>;
}

/** Every DynamoDB operation the state store and the lease make (for faults on all of them). */
export const DYNAMO_OPS = [
  "TransactWriteItems",
  "UpdateItem",
  "GetItem",
  "Query",
  "DeleteItem",
  "PutItem",
];

const MUTATING = /^(Register|Deregister|Update|Create|Delete|Stop|Run|Start|Put|Tag|Untag)/;

const AWS_ERRORS = {
  throttle: { status: 400, type: "ThrottlingException", message: "Rate exceeded" },
  "500": { status: 500, type: "InternalFailure", message: "injected" },
  "503": { status: 503, type: "ServiceUnavailableException", message: "injected" },
} as const;

function operationOf(req: http.IncomingMessage): string {
  const target = req.headers["x-amz-target"];
  const value = Array.isArray(target) ? target[0] : target;
  return value ? value.slice(value.lastIndexOf(".") + 1) : `${req.method} ${req.url}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Makes DescribeTasks answer like real ECS: asked tasks that do not exist come back in
 * `failures` with reason MISSING (moto leaves them out altogether).
 */
export function ecsMissingTaskFailures(region = "us-east-1", account = "123456789012"): Fault {
  return {
    kind: "rewrite",
    operations: ["DescribeTasks"],
    rewrite(response, request) {
      const res = response as { tasks?: Array<{ taskArn?: string }>; failures?: unknown[] };
      const req = request as { cluster?: string; tasks?: string[] };
      const cluster = (req.cluster ?? "default").split("/").pop();
      const found = new Set((res.tasks ?? []).map((t) => t.taskArn?.split("/").pop()));
      const missing = (req.tasks ?? [])
        .map((t) => t.split("/").pop() ?? t)
        .filter((id) => !found.has(id))
        .map((id) => ({
          arn: `arn:aws:ecs:${region}:${account}:task/${cluster}/${id}`,
          reason: "MISSING",
        }));
      return { ...res, failures: [...(res.failures ?? []), ...missing] };
    },
  };
}

export async function startFaultProxy(targetEndpoint: string, seed = 1): Promise<FaultProxy> {
  const target = new URL(targetEndpoint);
  const calls: ProxiedCall[] = [];
  let faults: Array<{ rule: Fault; used: number }> = [];
  // Deterministic pseudo-random sequence, so a failing run can be replayed.
  let state = seed;
  const random = (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const pick = (call: CallInfo): Fault | undefined => {
    const hit = faults.find(
      ({ rule, used }) =>
        (!rule.operations || rule.operations.includes(call.operation)) &&
        (!rule.match || rule.match(call)) &&
        (rule.count === undefined || used < rule.count) &&
        random() < (rule.probability ?? 1),
    );
    if (hit) hit.used++;
    return hit?.rule;
  };

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    call: CallInfo & { readonly receivedAt: number },
    rewrite?: (response: unknown, request: unknown) => unknown,
  ): void => {
    const sent = Date.now();
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (up) => {
        const status = up.statusCode ?? 502;
        const at = Date.now();
        calls.push({ ...call, status, injected: false, at, upstreamMs: at - sent });
        if (!rewrite || status >= 300) {
          res.writeHead(status, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on("data", (c: Buffer) => chunks.push(c));
        up.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          const out = JSON.stringify(rewrite(parseJson(text), parseJson(call.body)));
          const headers = { ...up.headers };
          delete headers["x-amz-crc32"];
          headers["content-length"] = String(Buffer.byteLength(out));
          res.writeHead(status, headers);
          res.end(out);
        });
      },
    );
    upstream.on("error", (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    upstream.end(call.body);
  };

  let inFlight = 0;
  let held = 0;
  const server = http.createServer((req, res) => {
    inFlight++;
    res.once("close", () => inFlight--);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const call = {
        operation: operationOf(req),
        body: Buffer.concat(chunks).toString(),
        receivedAt: Date.now(),
      };
      const fault = pick(call);
      if (!fault) return forward(req, res, call);
      switch (fault.kind) {
        case "delay":
          setTimeout(() => forward(req, res, call), fault.delayMs);
          return;
        case "rewrite":
          return forward(req, res, call, fault.rewrite);
        case "reset":
          calls.push({ ...call, status: 0, injected: true, at: Date.now(), upstreamMs: 0 });
          req.socket.destroy();
          return;
        case "blackhole":
          calls.push({ ...call, status: 0, injected: true, at: Date.now(), upstreamMs: 0 });
          held++;
          res.once("close", () => held--);
          return;
        default: {
          const e = AWS_ERRORS[fault.kind];
          calls.push({ ...call, status: e.status, injected: true, at: Date.now(), upstreamMs: 0 });
          res.writeHead(e.status, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify({ __type: e.type, message: e.message }));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  const succeeded = (operation: string): ProxiedCall[] =>
    calls.filter((c) => c.operation === operation && !c.injected && c.status < 300);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    get inFlight() {
      return inFlight;
    },
    get held() {
      return held;
    },
    setFaults(next) {
      const list: readonly Fault[] = Array.isArray(next) ? next : [next as Fault];
      faults = list.map((rule) => ({ rule, used: 0 }));
    },
    succeeded,
    mutations() {
      const counts: Record<string, number> = {};
      for (const c of calls) {
        if (MUTATING.test(c.operation) && !c.injected && c.status < 300) {
          counts[c.operation] = (counts[c.operation] ?? 0) + 1;
        }
      }
      return counts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
