import { strict as assert } from "node:assert";
import { StatusBook } from "../checker/observability/status";

describe("health endpoint logic", () => {
  const summary = (degraded: boolean) => ({
    startedAt: "",
    durationMs: 10,
    phases: { lease: 0, read: 1, ecs: 1, probe: 7, decide: 1, act: 0 },
    degraded,
    late: false,
    probed: 10,
    failed: degraded ? 10 : 0,
    actions: 0,
    holds: [],
    warnings: [],
  });

  it("is healthy while cycles complete on time", () => {
    const book = new StatusBook(10_000, 0);
    assert.equal(book.health(1000).ok, true, "starting");
    book.lastCycle = summary(false);
    book.lastCycleCompletedAt = 20_000;
    assert.equal(book.health(30_000).ok, true);
  });

  it("is unhealthy when the loop is stuck, before or after its first cycle", () => {
    const book = new StatusBook(10_000, 0);
    assert.match(book.health(40_000).reason, /stuck: no cycle completed/);
    book.lastCycle = summary(false);
    book.lastCycleCompletedAt = 50_000;
    assert.equal(book.health(84_000).ok, true);
    const h = book.health(86_000);
    assert.equal(h.ok, false);
    assert.match(h.reason, /stuck: last cycle completed 36000 ms ago/);
  });

  it("is unhealthy while the last cycle was degraded", () => {
    const book = new StatusBook(10_000, 0);
    book.lastCycle = summary(true);
    book.lastCycleCompletedAt = 1000;
    assert.match(book.health(2000).reason, /degraded/);
  });

  it("keeps only the most recent actions", () => {
    const book = new StatusBook(10_000, 0);
    for (let i = 0; i < 250; i++) {
      book.recordAction({
        at: "",
        kind: "deregister",
        service: "api",
        serviceId: "srv-api",
        instanceId: `i-${i}`,
        reason: "",
        dryRun: false,
        outcome: "ok",
      });
    }
    assert.equal(book.recentActions.length, 200);
    assert.equal(book.recentActions[0]!.instanceId, "i-50");
  });
});
