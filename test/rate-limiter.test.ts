import { strict as assert } from "node:assert";
import { RateLimiter } from "../checker/act/rate-limiter";
import type { Clock } from "../checker/ports";

/** A clock whose sleep advances time at once. */
function fakeClock(): Clock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

describe("mutation rate limiter", () => {
  it("allows a burst of one second's worth, then paces at the rate", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(2, clock);
    assert.equal(await limiter.take(), true);
    assert.equal(await limiter.take(), true);
    assert.equal(clock.t, 0);
    assert.equal(await limiter.take(), true);
    assert.equal(clock.t, 500, "the third waits half a second at 2/s");
  });

  it("gives up rather than wait past the cycle's deadline, so the rest is planned next cycle", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(1, clock);
    assert.equal(await limiter.take(undefined, 100), true);
    assert.equal(await limiter.take(undefined, 100), false);
    assert.equal(clock.t, 0, "no waiting when the token would come too late");
    assert.equal(await limiter.take(undefined, 5000), true);
    assert.equal(clock.t, 1000);
  });

  it("stops waiting when the loop is aborted", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(1, clock);
    await limiter.take();
    const ac = new AbortController();
    ac.abort();
    assert.equal(await limiter.take(ac.signal), false);
  });
});
