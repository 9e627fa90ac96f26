// End to end against moto: a target whose response stops before its headers end (closed after
// the status line, with or without its CRLF, or header lines trickled past the timeout) is a
// failing target. Its status line alone must never keep it in rotation.

import { strict as assert } from "node:assert";
import { ListInstancesCommand } from "@aws-sdk/client-servicediscovery";
import { moto } from "./support/root-hooks";
import { makeChecker } from "./support/checker-harness";
import { INCOMPLETE_RESPONSES, startRawTarget } from "./support/raw-target";
import { startHttpTarget } from "./support/targets";
import { World } from "./support/world";

/** FAST's probe timeout (test/support/checker-harness.ts). */
const TIMEOUT_MS = 150;

describe("checker end to end: incomplete HTTP responses", function () {
  this.timeout(60_000);
  let open: Array<{ close(): Promise<void> }> = [];

  beforeEach(async () => {
    await moto().reset();
    open = [];
  });

  afterEach(async () => {
    await Promise.all(open.map((t) => t.close()));
  });

  for (const behaviour of INCOMPLETE_RESPONSES) {
    it(`deregisters a target sending ${behaviour.name}, and only it`, async () => {
      const world = await new World().init();
      const api = await world.serviceConnectService("api");
      const [badTask, ...goodTasks] = await world.runTasks(api.ecsServiceName, 4);
      const bad = await startRawTarget("127.0.50.1", behaviour.script);
      open.push(bad);
      await world.registerTask(api, badTask!, bad);
      for (const [i, taskId] of goodTasks.entries()) {
        const good = await startHttpTarget({ host: `127.0.50.${i + 2}` });
        open.push(good);
        await world.registerTask(api, taskId, good);
      }
      const listed = async (): Promise<string[]> => {
        const out = await world.sd.send(new ListInstancesCommand({ ServiceId: api.id }));
        return (out.Instances ?? []).map((i) => i.Id!).sort();
      };
      const expected = behaviour.detail(TIMEOUT_MS);
      const h = await makeChecker({ namespace: world.namespaceName });

      // Threshold 2: the first failure leaves it in, each cycle reports why it failed.
      for (let cycle = 1; cycle <= 3; cycle++) {
        const report = await h.checker.runCycle();
        const seen = report.services[0]!.instances.find((i) => i.instanceId === badTask);
        assert.equal(seen?.probe?.ok, false, `cycle ${cycle}: ${seen?.probe?.detail}`);
        assert.equal(seen.probe.detail, expected, `cycle ${cycle}`);
        assert.equal(seen.probe.local, undefined, "the target's failure, not the checker's");
        for (const i of report.services[0]!.instances.filter((x) => x.instanceId !== badTask)) {
          assert.deepEqual([i.probe?.ok, i.probe?.detail], [true, "HTTP 200"], i.instanceId);
        }
        if (cycle === 1) assert.equal((await listed()).length, 4, "one failure is not enough");
      }

      assert.deepEqual(await listed(), [...goodTasks].sort(), "only the bad target left");
      const actions = h.status.recentActions;
      assert.deepEqual(
        actions.map((a) => [a.kind, a.instanceId]),
        [["deregister", badTask]],
        "one action, on the bad target",
      );
      assert.match(actions[0]!.reason, /2 consecutive failed checks/);
      assert.ok(actions[0]!.reason.includes(expected), actions[0]!.reason);
      const logged = h.logs.find((l) => l.msg === "deregister instance");
      assert.ok(logged, "the deregistration is logged");
      assert.equal(logged["instanceId"], badTask);
      assert.ok(String(logged["reason"]).includes(expected), String(logged["reason"]));
    });
  }
});
