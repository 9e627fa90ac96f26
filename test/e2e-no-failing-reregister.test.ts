// A delayed re-registration must not put back a target that has failed again meanwhile.
// Real checker against moto through the fault proxy, real probes of loopback targets. The verdict
// is the ground-truth judge (support/judge.ts): a RegisterInstance that reached moto while the
// target's latest answer was a failure is wrong, however the cycles happened to be timed.

import { strict as assert } from "node:assert";
import { ListInstancesCommand } from "@aws-sdk/client-servicediscovery";
import { moto } from "./support/root-hooks";
import { makeChecker, type Harness } from "./support/checker-harness";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy";
import {
  callsOf,
  judgeRegistrations,
  reachedMoto,
  timeline,
  wrongRegistrations,
} from "./support/judge";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World, type WorldService } from "./support/world";

const UNHEALTHY = 3;
const HEALTHY = 2;
const SETTINGS = {
  interval: "1s",
  // Well above a loopback answer even on a loaded machine: a probe timing out would read as a
  // failure the target never gave (harmless to the judge, but it would slow the scenario).
  timeout: "400ms",
  unhealthyThreshold: String(UNHEALTHY),
  healthyThreshold: String(HEALTHY),
};
/** Bound on every wait for the checker: generous, since a slow machine only makes cycles late. */
const MAX_CYCLES = 15;

/** How AWS goes away and comes back in one test, and how the test knows the checker felt it. */
interface Outage {
  readonly what: string;
  start(): void;
  /** The checker has tried to put the target back and was stopped by the outage. */
  felt(): boolean;
  stop(): void;
}

describe("no re-registration of a target failing again (moto + fault proxy)", function () {
  // About 20 cycles a test in real time; nothing asserts on how long they take.
  this.timeout(180_000);
  let world: World;
  let targets: HttpTarget[];
  let proxy: FaultProxy;

  beforeEach(async () => {
    await moto().reset();
    world = await new World().init();
    targets = [];
    proxy = await startFaultProxy(moto().endpoint);
  });

  afterEach(async () => {
    await Promise.all(targets.map((t) => t.close()));
    await proxy.close();
  });

  async function fleet(
    service: WorldService,
    n: number,
  ): Promise<Array<{ taskId: string; target: HttpTarget }>> {
    const ids = await world.runTasks(service.ecsServiceName, n);
    const out = [];
    for (const [i, taskId] of ids.entries()) {
      const target = await startHttpTarget({ host: `127.0.40.${i + 1}` });
      targets.push(target);
      await world.registerTask(service, taskId, target);
      out.push({ taskId, target });
    }
    return out;
  }

  async function listed(serviceId: string): Promise<Set<string>> {
    const out = await world.sd.send(new ListInstancesCommand({ ServiceId: serviceId }));
    return new Set((out.Instances ?? []).map((i) => i.Id!));
  }

  /** Runs cycles until `done()`; false if it never held within `max` cycles. */
  async function cyclesUntil(
    h: Harness,
    done: () => boolean | Promise<boolean>,
    max = MAX_CYCLES,
  ): Promise<boolean> {
    for (let i = 0; i < max; i++) {
      await h.checker.runCycle();
      if (await done()) return true;
    }
    return false;
  }

  async function cycles(h: Harness, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await h.checker.runCycle();
  }

  /**
   * The defect's shape: a target is taken out, passes while an outage delays its return, fails
   * once more (fewer times than the unhealthy threshold), then AWS comes back while it keeps
   * failing; finally it passes again and must come back.
   */
  async function scenario(outage: (h: Harness, instanceId: string) => Outage): Promise<void> {
    const api = await world.serviceConnectService("api");
    const tasks = await fleet(api, 4);
    const h = await makeChecker({
      namespace: world.namespaceName,
      endpoint: proxy.endpoint,
      settings: SETTINGS,
    });
    const bad = tasks[3]!;
    const id = bad.taskId;
    // For failure messages: what the target answered, what reached the proxy, what the checker said.
    const story = (): string =>
      `${timeline(proxy.calls, id, bad.target.answers)}\nthe checker's log on it:\n` +
      h.logs
        .filter((l) => l["instanceId"] === id && /instance|held back/.test(l.msg))
        .map(
          (l) =>
            `  ${l.msg}: ${String(l["reason"] ?? `${String(l["rule"])} ${String(l["detail"])}`)}`,
        )
        .join("\n");
    const out = outage(h, id);

    await h.checker.runCycle();
    assert.equal((await listed(api.id)).size, 4);

    bad.target.mode = "fail";
    const removed = await cyclesUntil(h, () =>
      reachedMoto(proxy.calls, "DeregisterInstance", id).some((c) => c.status < 300),
    );
    assert.ok(removed, `the failing target was never deregistered:\n${story()}`);

    out.start();
    bad.target.mode = "ok";
    assert.ok(
      await cyclesUntil(h, () => out.felt()),
      `${out.what}: the checker never tried to put the passing target back:\n${story()}`,
    );

    // One failing cycle during the outage, so the target has failed fewer times than the
    // unhealthy threshold when AWS comes back (from the threshold on, its verdict is unhealthy
    // again and nothing would put it back: the window the defect needs).
    bad.target.mode = "fail";
    const answered = bad.target.answers.length;
    await h.checker.runCycle();
    const since = bad.target.answers.slice(answered);
    assert.ok(
      since.length > 0 && since.length < UNHEALTHY && since.every((a) => a.status === 500),
      `the checker probed the failing target ${since.length} time(s) during the outage ` +
        `(want 1 to ${UNHEALTHY - 1}):\n${story()}`,
    );

    out.stop();
    await cycles(h, UNHEALTHY + 2);

    bad.target.mode = "ok";
    const switched = Date.now();
    const back = await cyclesUntil(
      h,
      async () =>
        reachedMoto(proxy.calls, "RegisterInstance", id).some(
          (c) => c.receivedAt >= switched && c.status < 300,
        ) && (await listed(api.id)).has(id),
    );

    const wrong = wrongRegistrations(proxy.calls, id, bad.target.answers);
    assert.equal(
      wrong.length,
      0,
      `${wrong.length} RegisterInstance call(s) reached moto while the target's latest answer ` +
        `was a failure:\n${story()}`,
    );
    assert.ok(back, `the target passed again but was never put back:\n${story()}`);
    const last = judgeRegistrations(proxy.calls, id, bad.target.answers).at(-1)!;
    assert.ok(
      last.streak >= HEALTHY,
      `put back after ${last.streak} passing answer(s), want ${HEALTHY}:\n${story()}`,
    );
    assert.equal((await listed(api.id)).size, 4);
  }

  it("does not re-register a target that failed again while RegisterInstance was failing", async () => {
    await scenario((h, id) => ({
      what: "RegisterInstance answering 500",
      start: () => proxy.setFaults({ kind: "500", operations: ["RegisterInstance"] }),
      felt: () => callsOf(proxy.calls, "RegisterInstance", id).some((c) => c.injected),
      stop: () => proxy.setFaults([]),
    }));
  });

  it("does not re-register a target that failed again while ECS task state was unavailable", async () => {
    await scenario((h, id) => {
      let from = 0;
      return {
        what: "DescribeTasks and ListTasks answering 500",
        start: () => {
          from = h.logs.length;
          proxy.setFaults({ kind: "500", operations: ["DescribeTasks", "ListTasks"] });
        },
        felt: () =>
          h.logs
            .slice(from)
            .some(
              (l) =>
                l.msg === "action held back by a safety rule" &&
                l["rule"] === "task-not-running" &&
                l["instanceId"] === id,
            ),
        stop: () => proxy.setFaults([]),
      };
    });
  });
});
