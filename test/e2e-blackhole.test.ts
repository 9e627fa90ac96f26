// AWS endpoints that accept connections and never answer (nor reset them): the checker's loop
// keeps going within a bound, and once the endpoint answers again its next cycle completes and
// it acts as before. Real checker and run loop against moto through the fault proxy, real time;
// the figure (recovery to the next complete cycle) is printed, and only a generous bound derived
// from the call timeouts is asserted.

import { strict as assert } from "node:assert";
import { ListInstancesCommand } from "@aws-sdk/client-servicediscovery";
import { awsTimeouts } from "../checker/aws/timeouts";
import { runLoop } from "../checker/cycle/run-loop";
import { systemClock } from "../checker/clock";
import { makeChecker, type Harness } from "./support/checker-harness";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy";
import { moto } from "./support/root-hooks";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World, type WorldService } from "./support/world";

const INTERVAL_MS = 1000;
const T = awsTimeouts(INTERVAL_MS);
/** A cycle that was inside blackholed calls at recovery ends by then, and the next one too. */
const BOUND_MS = 4 * T.callMs + 3 * INTERVAL_MS;

const OUTAGES = [
  {
    what: "Cloud Map reads",
    operations: ["DiscoverInstancesRevision", "DiscoverInstances", "ListInstances", "ListServices"],
  },
  { what: "ECS reads", operations: ["DescribeTasks", "ListTasks", "DescribeServices"] },
];

async function until(what: string, ms: number, test: () => boolean | Promise<boolean>) {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("AWS calls that are never answered (moto + blackholing proxy)", function () {
  this.timeout(120_000);
  let proxy: FaultProxy;
  let targets: HttpTarget[] = [];
  let stop: AbortController | undefined;
  let loop: Promise<void> | undefined;

  beforeEach(async () => {
    await moto().reset();
    proxy = await startFaultProxy(moto().endpoint);
  });
  afterEach(async () => {
    stop?.abort();
    await loop;
    await Promise.all(targets.map((t) => t.close()));
    targets = [];
    await proxy.close();
  });

  async function setup(): Promise<{ h: Harness; world: World; api: WorldService; ids: string[] }> {
    const world = await new World().init("blackhole.local");
    const api = await world.serviceConnectService("api");
    const ids = await world.runTasks("api", 3);
    for (const [i, id] of ids.entries()) {
      const t = await startHttpTarget({ host: `127.0.80.${i + 1}` });
      targets.push(t);
      await world.registerTask(api, id, t);
    }
    const h = await makeChecker({
      namespace: "blackhole.local",
      endpoint: proxy.endpoint,
      settings: { interval: "1s", timeout: "300ms" },
    });
    stop = new AbortController();
    loop = runLoop(
      h.checker,
      {
        clock: systemClock,
        logger: h.logger,
        metrics: h.metrics,
        status: h.status,
        intervalMs: INTERVAL_MS,
      },
      stop.signal,
    );
    return { h, world, api, ids };
  }

  for (const outage of OUTAGES) {
    it(`${outage.what}: cycles go on, and the first after recovery completes within a bound`, async () => {
      const { h, world, api, ids } = await setup();
      const completed = (): number => h.status.lastCycleCompletedAt ?? 0;
      await until("two cycles", 20_000, () => completed() > 0);
      const before = proxy.mutations();

      proxy.setFaults({ kind: "blackhole", operations: outage.operations });
      const blackholedAt = Date.now();
      await until("a blackholed call", 10_000, () => proxy.held > 0);
      // The loop does not hang on them: cycles still complete while the endpoint swallows calls.
      await until(
        "a cycle completing inside the outage",
        BOUND_MS,
        () => completed() > blackholedAt + T.callMs,
      );
      await new Promise((r) => setTimeout(r, 2 * T.callMs));
      assert.deepEqual(proxy.mutations(), before, "nothing mutated while blind");

      proxy.setFaults([]);
      const recovered = Date.now();
      // The next cycle to start after recovery, and complete.
      const startedAfter = async (): Promise<boolean> =>
        h.status.lastCycle !== undefined && Date.parse(h.status.lastCycle.startedAt) >= recovered;
      await until("a cycle started after recovery to complete", BOUND_MS, startedAfter);
      const figure = completed() - recovered;
      console.log(
        `      ${outage.what} blackholed ${recovered - blackholedAt} ms: recovery to the next complete cycle ${figure} ms (bound ${BOUND_MS} ms; call timeout ${T.callMs} ms)`,
      );
      assert.ok(figure <= BOUND_MS);
      assert.equal(h.status.health(Date.now()).ok, true, h.status.health(Date.now()).reason);

      // And it acts as before: a failing target leaves, and comes back once it passes.
      const listed = async (): Promise<Set<string>> =>
        new Set(
          (
            (await world.sd.send(new ListInstancesCommand({ ServiceId: api.id }))).Instances ?? []
          ).map((i) => i.Id!),
        );
      targets[0]!.mode = "fail";
      await until("the failing target removed", 20_000, async () => !(await listed()).has(ids[0]!));
      targets[0]!.mode = "ok";
      await until("the recovered target back", 20_000, async () => (await listed()).has(ids[0]!));
    });
  }
});
