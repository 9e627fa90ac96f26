// A whole checker (its real cycle engine and planner) on in-memory Cloud Map and ECS, probing a
// simulated world on a clock the test drives: what a target answers is a function of the host
// and the virtual time, so an outage can start at any moment of a cycle.

import { setMaxListeners } from "node:events";
import { parseConfig, type Settings } from "../../checker/config";
import type { CheckSpec, ProbeResult } from "../../checker/domain/types";
import { Checker } from "../../checker/cycle/checker";
import { runLoop } from "../../checker/cycle/run-loop";
import { createLogger } from "../../checker/observability/logger";
import { Metrics } from "../../checker/observability/metrics";
import { StatusBook } from "../../checker/observability/status";
import type { Prober } from "../../checker/ports";
import { LocalLease } from "../../checker/state/local-lease";
import { MemoryStateStore } from "../../checker/state/memory-store";
import { MEMORY_NAMESPACE, memoryNamespace, type MemoryCloudMap } from "./memory-ports";
import { VirtualClock } from "./virtual-clock";

/** What a target does to a probe that starts (or, for ok/fail, ends) at `now`. */
export type Answer = "ok" | "fail" | "hang" | "local";
export type World = (host: string, now: number) => Answer;

/**
 * Answers after 1-`maxLatencyMs` of virtual time (a stable pseudo-random share per probe), as
 * the world says then; a hang lasts to the timeout.
 */
export class WorldProber implements Prober {
  /** Every answer a target gave, in order: the ground truth of what the checker was told. */
  readonly answers = new Map<string, Array<{ at: number; seq: number; ok: boolean }>>();
  /** Orders answers and mutations as they happened, within one virtual millisecond too. */
  seq = 0;

  constructor(
    private readonly clock: VirtualClock,
    public world: World,
    private readonly maxLatencyMs = 1,
  ) {}

  private latency(host: string, start: number): number {
    let h = start >>> 0;
    for (let k = 0; k < host.length; k++) h = Math.imul(h ^ host.charCodeAt(k), 16777619) >>> 0;
    return 1 + (h % this.maxLatencyMs);
  }

  async probe(
    target: { readonly host: string },
    check: CheckSpec,
    signal?: AbortSignal,
  ): Promise<ProbeResult> {
    const start = this.clock.now();
    const result = (ok: boolean, detail: string): ProbeResult => {
      if (detail !== "aborted") {
        const log = this.answers.get(target.host) ?? [];
        log.push({ at: this.clock.now(), seq: this.seq++, ok });
        this.answers.set(target.host, log);
      }
      return { ok, detail, latencyMs: this.clock.now() - start, at: this.clock.now() };
    };
    const hang = async (): Promise<ProbeResult> => {
      await this.clock.sleep(start + check.timeoutMs - this.clock.now(), signal);
      return result(false, `timeout after ${check.timeoutMs}ms`);
    };
    const first = this.world(target.host, start);
    if (first === "hang") return hang();
    if (first === "local") {
      // The checker ran out of file descriptors: the target never heard of this probe.
      return { ok: false, detail: "EMFILE", latencyMs: 0, at: start, local: true };
    }
    await this.clock.sleep(this.latency(target.host, start), signal);
    if (signal?.aborted) return result(false, "aborted");
    const answer = this.world(target.host, this.clock.now());
    if (answer === "hang" || answer === "local") return hang();
    return answer === "ok" ? result(true, "HTTP 200") : result(false, "ECONNREFUSED");
  }
}

export interface SimChecker {
  readonly clock: VirtualClock;
  readonly cloudMap: MemoryCloudMap;
  readonly status: StatusBook;
  readonly metrics: Metrics;
  /** Cloud Map mutations with the virtual time each was made. */
  readonly mutations: Array<{ what: string; instanceId: string; at: number; seq: number }>;
  /** Host of instance `i`. */
  hostOf(i: number): string;
  /** Instance (task) ID of instance `i`. */
  idOf(i: number): string;
  /**
   * Mutations that contradicted the target's latest answer when they were made: a
   * re-registration after a failure, a deregistration after a pass.
   */
  wrong(): string[];
  /** Runs the checker's own loop until virtual time `until`. */
  advance(until: number): Promise<void>;
  /** Stops the loop and lets the cycle under way end. */
  stop(): Promise<void>;
}

export async function simChecker(opts: {
  services: number;
  perService: number;
  world: World;
  settings?: Settings;
  /** Targets answer within 1 ms to this (default 1). */
  maxLatencyMs?: number;
}): Promise<SimChecker> {
  const clock = new VirtualClock();
  const count = opts.services * opts.perService;
  const hostOf = (i: number): string => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  const { cloudMap, ecs } = memoryNamespace({
    count,
    port: 8080,
    perService: opts.perService,
    addressOf: hostOf,
  });
  const ids = [...cloudMap.instances.values()].flat().map((r) => r.instanceId);
  const config = parseConfig({
    flags: {
      namespace: MEMORY_NAMESPACE.name,
      interval: "1s",
      timeout: "200ms",
      startupGrace: "0s",
      listen: "127.0.0.1:0",
      ...opts.settings,
    },
    env: {},
  });
  const mutations: SimChecker["mutations"] = [];
  const dereg = cloudMap.deregisterInstance.bind(cloudMap);
  const reg = cloudMap.registerInstance.bind(cloudMap);
  cloudMap.deregisterInstance = async (s, i) => {
    mutations.push({ what: "deregister", instanceId: i, at: clock.now(), seq: prober.seq++ });
    return dereg(s, i);
  };
  cloudMap.registerInstance = async (s, i, a) => {
    mutations.push({ what: "register", instanceId: i, at: clock.now(), seq: prober.seq++ });
    return reg(s, i, a);
  };
  const metrics = new Metrics();
  const status = new StatusBook(config.intervalMs, clock.now());
  const logger = createLogger("silent", { write: () => undefined });
  const prober = new WorldProber(clock, opts.world, opts.maxLatencyMs);
  const deps = {
    config,
    cloudMap,
    ecs,
    prober,
    clock,
    store: new MemoryStateStore(),
    lease: new LocalLease("sim"),
    logger,
    metrics,
    status,
  };
  const checker = await Checker.create(deps);
  const stop = new AbortController();
  // Every virtual sleep of a cycle listens on the loop's signal.
  setMaxListeners(0, stop.signal);
  const loop = runLoop(checker, { ...deps, intervalMs: config.intervalMs }, stop.signal);
  return {
    clock,
    cloudMap,
    status,
    metrics,
    mutations,
    hostOf,
    idOf: (i) => ids[i]!,
    wrong: () =>
      mutations.flatMap((m) => {
        const log = prober.answers.get(hostOf(ids.indexOf(m.instanceId))) ?? [];
        const latest = log.filter((a) => a.seq < m.seq).at(-1);
        if (latest === undefined) return [];
        const bad = m.what === "register" ? !latest.ok : latest.ok;
        return bad
          ? [
              `${m.what} ${m.instanceId} at ${m.at}: its latest answer (${latest.at}) ${latest.ok ? "passed" : "failed"}`,
            ]
          : [];
      }),
    advance: (until) => clock.run(until),
    async stop(): Promise<void> {
      stop.abort();
      await clock.run(clock.now() + 10 * config.intervalMs);
      await loop;
    },
  };
}
