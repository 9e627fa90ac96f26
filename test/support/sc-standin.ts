// A test-only stand-in for the Service Connect proxy in front of the verify client: it routes
// each request to one of the echo tasks in its view. `lag`: the view is Cloud Map's instance list
// as it was `lagMs` ago (the unknown we measure). `ignore`: the view never reads Cloud Map. In
// both, a task ECS says is stopped leaves at once (ECS drains what it stops).

import http from "node:http";
import type { AddressInfo } from "node:net";
import { DescribeTasksCommand, type ECSClient } from "@aws-sdk/client-ecs";
import {
  ListInstancesCommand,
  type ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";

export interface StandinTask {
  readonly taskId: string;
  readonly port: number;
}

export interface ScStandin {
  readonly port: number;
  /** Requests routed per task ID. */
  readonly routed: Map<string, number>;
  close(): Promise<void>;
}

export async function startScStandin(opts: {
  readonly mode: "lag" | "ignore";
  readonly lagMs: number;
  readonly sd: ServiceDiscoveryClient;
  readonly ecs: ECSClient;
  readonly cluster: string;
  readonly serviceId: string;
  readonly tasks: readonly StandinTask[];
  readonly refreshMs?: number;
}): Promise<ScStandin> {
  const byId = new Map(opts.tasks.map((t) => [t.taskId, t]));
  const snapshots: Array<{ at: number; ids: string[] }> = [];
  let stopped = new Set<string>();
  let view: StandinTask[] = [];
  const routed = new Map<string, number>();
  let next = 0;
  let closed = false;

  const refresh = async (): Promise<void> => {
    const out = await opts.ecs.send(
      new DescribeTasksCommand({ cluster: opts.cluster, tasks: [...byId.keys()] }),
    );
    stopped = new Set(
      (out.tasks ?? [])
        .filter((t) => t.lastStatus === "STOPPED" || t.desiredStatus === "STOPPED")
        .map((t) => t.taskArn!.slice(t.taskArn!.lastIndexOf("/") + 1)),
    );
    let ids = [...byId.keys()];
    if (opts.mode === "lag") {
      const listed = await opts.sd.send(new ListInstancesCommand({ ServiceId: opts.serviceId }));
      snapshots.push({ at: Date.now(), ids: (listed.Instances ?? []).map((i) => i.Id!) });
      const due = Date.now() - opts.lagMs;
      while (snapshots.length > 1 && snapshots[1]!.at <= due) snapshots.shift();
      // The newest listing at least lagMs old; before there is one, every task (as at start).
      if (snapshots[0]!.at <= due) ids = snapshots[0]!.ids;
    }
    view = ids.filter((id) => !stopped.has(id)).flatMap((id) => byId.get(id) ?? []);
  };
  await refresh();
  const loop = (async () => {
    while (!closed) {
      await new Promise((r) => setTimeout(r, opts.refreshMs ?? 100));
      await refresh().catch(() => undefined);
    }
  })();

  const server = http.createServer((req, res) => {
    req.resume();
    const target = view.length === 0 ? undefined : view[next++ % view.length];
    if (target === undefined) {
      res.writeHead(503).end("no healthy upstream");
      return;
    }
    routed.set(target.taskId, (routed.get(target.taskId) ?? 0) + 1);
    const up = http.get({ host: "127.0.0.1", port: target.port, path: req.url }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.writeHead(502).end("upstream error"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    routed,
    async close() {
      closed = true;
      await loop;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
