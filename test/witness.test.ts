// Witness probes: a few passing targets probed at once, so a removal on one failure need not
// wait for the rest of the spread to tell a failing target from a failing network.

import { strict as assert } from "node:assert";
import type { InstanceState, ProbeResult } from "../checker/domain/types";
import { Witnesses } from "../checker/cycle/witness";
import type { ProbeItem } from "../checker/read/listing";

function world(n: number) {
  const items = Array.from(
    { length: n },
    (_, k) => ({ key: `srv/i${k}`, service: "api", listedAt: 0 }) as unknown as ProbeItem,
  );
  const state = new Map<string, InstanceState>(
    items.map((i) => [
      i.key,
      { key: i.key, verdict: "healthy", inRotation: true, consecutiveFailures: 0 } as InstanceState,
    ]),
  );
  const probed: string[] = [];
  const heard: string[] = [];
  const landed: number[][] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const w = new Witnesses({
    items,
    state,
    budget: 4,
    probe: async (item) => {
      probed.push(item.key);
      await gate;
      return { ok: true, detail: "HTTP 200", latencyMs: 1, at: 0 } as ProbeResult;
    },
    heard: (item) => void heard.push(item.key),
    landed: (s) => void landed.push([...s]),
  });
  const hold = (): void => {
    gate = new Promise((r) => (release = r));
  };
  return { w, state, probed, heard, landed, hold, release: () => release() };
}

describe("witness probes", () => {
  it("probes as many passing targets as are missing, then plans the waiting services again", async () => {
    const t = world(10);
    t.w.request(3, [2]);
    await t.w.idle();
    assert.deepEqual(t.probed, ["srv/i0", "srv/i1", "srv/i2"]);
    assert.deepEqual(t.heard, t.probed);
    assert.deepEqual(t.landed, [[2]]);
  });

  it("never witnesses with a target that is failing, out of rotation or unhealthy", async () => {
    const t = world(6);
    const set = (k: number, patch: Partial<InstanceState>) =>
      t.state.set(`srv/i${k}`, { ...t.state.get(`srv/i${k}`)!, ...patch });
    set(0, { consecutiveFailures: 1 });
    set(1, { inRotation: false });
    set(2, { verdict: "unhealthy" });
    t.w.request(3, [0]);
    await t.w.idle();
    assert.deepEqual(t.probed, ["srv/i3", "srv/i4", "srv/i5"]);
  });

  it("runs one batch at a time, moves on through the targets, and stops at the cycle's budget", async () => {
    const t = world(10);
    t.hold();
    t.w.request(2, [0]);
    t.w.request(2, [1]); // while the first is in flight: nothing more
    assert.equal(t.w.busy, true);
    assert.deepEqual(t.probed, ["srv/i0", "srv/i1"]);
    t.release();
    await t.w.idle();
    t.w.request(5, [1]); // two left of the budget of four
    await t.w.idle();
    assert.deepEqual(t.probed, ["srv/i0", "srv/i1", "srv/i2", "srv/i3"]);
    t.w.request(1, [1]);
    await t.w.idle();
    assert.equal(t.probed.length, 4, "budget spent");
    assert.deepEqual(t.landed, [[0], [1]]);
  });
});
