import { strict as assert } from "node:assert";
import type { EcsServiceState, TaskLookup } from "../checker/domain/types";
import {
  fullPassMs,
  REFRESH_CALLS_PER_SECOND,
  refreshPeriodMs,
  TaskStateCache,
} from "../checker/read/task-cache";
import type { Clock, EcsPort, TaskRef } from "../checker/ports";
import { runningTask, taskIn } from "./support/scenario";

/** An EcsPort that records what it was asked. */
class FakeEcs implements EcsPort {
  described: string[][] = [];
  goingAway: Set<string> | undefined = new Set();
  state = new Map<string, TaskLookup>();
  async describeTasks(refs: readonly TaskRef[]): Promise<Map<string, TaskLookup>> {
    this.described.push(refs.map((r) => r.taskId));
    return new Map(refs.map((r) => [r.taskId, this.state.get(r.taskId) ?? runningTask(r.taskId)]));
  }
  async listGoingAway(): Promise<Set<string> | undefined> {
    return this.goingAway;
  }
  async describeServices(): Promise<Map<string, EcsServiceState>> {
    return new Map();
  }
  async stopTask(): Promise<void> {}
  async describeTaskDefinition(): Promise<never> {
    throw new Error("not asked of the task cache");
  }
}

describe("task state cache", () => {
  const clock: Clock & { t: number } = { t: 0, now: () => clock.t, sleep: async () => undefined };
  const refs = ["a", "b", "c", "d"].map((taskId) => ({ cluster: "c1", taskId }));
  const steady = (): boolean => true;

  it("describes every task once, then only what changed or needs confirming", async () => {
    const ecs = new FakeEcs();
    const cache = new TaskStateCache(ecs, clock, 30_000);
    clock.t = 0;
    assert.equal((await cache.read(refs, steady)).size, 4);
    assert.deepEqual(ecs.described, [["a", "b", "c", "d"]]);

    clock.t = 5000;
    await cache.read(refs, steady);
    assert.equal(ecs.described.length, 1, "nothing to ask about steady running tasks");
    assert.equal(cache.skipped, 4);

    ecs.goingAway = new Set(["b"]);
    ecs.state.set("b", taskIn("DEACTIVATING", "STOPPED"));
    const out = await cache.read(refs, (id) => id !== "c");
    assert.deepEqual(ecs.described[1], ["b", "c"], "going away, and not healthy in our view");
    const b = out.get("b")!;
    assert.ok(b.kind === "task" && b.task.desiredStatus === "STOPPED");

    clock.t = 40_000;
    ecs.goingAway = new Set();
    await cache.read(refs, steady);
    assert.deepEqual(ecs.described[2], ["b"], "b is not RUNNING: needed to decide");
    assert.deepEqual(ecs.described[3], ["a", "c", "d"], "the rest are due for a refresh");
  });

  /**
   * A cache that has described a, b, c and d once; 40 s later, with ECS now calling a UNHEALTHY,
   * their refresh (the 4-task call) is answered only when released.
   */
  async function slowRefresh() {
    const ecs = new FakeEcs();
    const cache = new TaskStateCache(ecs, clock, 30_000);
    clock.t = 0;
    await cache.read(refs, steady);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const answer = ecs.describeTasks.bind(ecs);
    ecs.describeTasks = async (asked) => {
      const out = answer(asked); // recorded now, answered once released
      if (asked.length === 4) await gate;
      return out;
    };
    const t = taskIn("RUNNING");
    if (t.kind !== "task") throw new Error("unreachable");
    ecs.state.set("a", { kind: "task", task: { ...t.task, healthStatus: "UNHEALTHY" } });
    clock.t = 40_000;
    return { ecs, cache, release };
  }

  it("never makes a cycle wait for a slow refresh, nor asks for it twice meanwhile", async () => {
    const { ecs, cache, release } = await slowRefresh();
    const first = await cache.start(refs, steady);
    const looked = await first.lookups();
    assert.equal(looked.size, 4, "cached state answers while the refresh is out");
    const a = looked.get("a")!;
    assert.ok(a.kind === "task" && a.task.healthStatus !== "UNHEALTHY", "not arrived yet");
    clock.t = 45_000;
    const second = await cache.start(refs, steady);
    await second.lookups();
    assert.equal(ecs.described.length, 2, "tasks being refreshed are not asked again");
    release();
    await first.refreshed;
    clock.t = 50_000;
    const third = await cache.start(refs, steady);
    const after = (await third.lookups()).get("a")!;
    assert.ok(after.kind === "task" && after.task.healthStatus === "UNHEALTHY", "it has landed");
  });

  it("a refresh that lands while the cycle runs is seen by that cycle's later lookups", async () => {
    const { cache, release } = await slowRefresh();
    const read = await cache.start(refs, steady);
    const before = (await read.lookups()).get("a")!;
    assert.ok(before.kind === "task" && before.task.healthStatus !== "UNHEALTHY", "not yet");
    release();
    await read.refreshed;
    const after = (await read.lookups()).get("a")!;
    assert.ok(after.kind === "task" && after.task.healthStatus === "UNHEALTHY", "landed");
  });

  it("describes everything when the going-away list cannot be had", async () => {
    const ecs = new FakeEcs();
    const cache = new TaskStateCache(ecs, clock, 30_000);
    await cache.read(refs, steady);
    ecs.goingAway = undefined;
    await cache.read(refs, steady);
    assert.deepEqual(ecs.described[1], ["a", "b", "c", "d"]);
  });

  it("staggers refreshes instead of describing every task in the same cycle", async () => {
    const ecs = new FakeEcs();
    const cache = new TaskStateCache(ecs, clock, 30_000);
    const many = Array.from({ length: 400 }, (_, i) => ({ cluster: "c1", taskId: `t${i}` }));
    clock.t = 0;
    await cache.read(many, steady);
    clock.t = 20_000; // between half and all of the refresh period
    await cache.read(many, steady);
    const refreshed = ecs.described[1]?.length ?? 0;
    assert.ok(refreshed > 50 && refreshed < 350, `a share is refreshed (${refreshed} of 400)`);
  });

  it("refreshes steady tasks within about six intervals, 30 s at most", () => {
    assert.equal(fullPassMs(1000), 6000);
    assert.equal(fullPassMs(10_000), 30_000);
    assert.equal(fullPassMs(60_000), 60_000);
  });

  it("keeps the steady refresh within its share of the ECS budget however many tasks", async () => {
    assert.equal(refreshPeriodMs(30_000, 1000), 30_000, "small namespaces keep the base");
    for (const count of [5000, 20_000]) {
      const ecs = new FakeEcs();
      const cache = new TaskStateCache(ecs, clock, fullPassMs(5000));
      const many = Array.from({ length: count }, (_, i) => ({ cluster: "c1", taskId: `t${i}` }));
      // Five-second cycles for five minutes; the first period (everything new) is not counted.
      const warm = refreshPeriodMs(30_000, count);
      let calls = 0;
      const refreshed = new Set<string>();
      for (clock.t = 0; clock.t < warm + 300_000; clock.t += 5000) {
        ecs.described = [];
        await cache.read(many, steady);
        if (clock.t < warm) continue;
        for (const batch of ecs.described) {
          calls += Math.ceil(batch.length / 100);
          for (const id of batch) refreshed.add(id);
        }
      }
      const perSecond = calls / 300;
      assert.ok(
        perSecond <= REFRESH_CALLS_PER_SECOND * 1.05,
        `${count} tasks: ${perSecond.toFixed(2)} DescribeTasks/s`,
      );
      assert.equal(refreshed.size, count, `${count} tasks: every task refreshed`);
    }
  });
});
