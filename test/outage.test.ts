// The checker's own network failing at an arbitrary moment of a cycle, on a clock the test
// drives: the real cycle engine and planner, in-memory AWS, a simulated world of targets.

import { strict as assert } from "node:assert";
import { simChecker, type Answer } from "./support/sim-checker";

const INTERVAL = 1000;
const PHASES = 20;

/** Each phase of a cycle with each of `variants`. */
function everyPhase<T>(variants: readonly T[]): Array<[number, T]> {
  return Array.from({ length: PHASES }, (_, phase) =>
    variants.map((v): [number, T] => [phase, v]),
  ).flat();
}

describe("the checker's own network failing at any moment of a cycle", function () {
  this.timeout(300_000);

  // A namespace of three services, small (just above degraded-min-instances, where the first
  // probes of a cycle are too few to call it degraded) and larger.
  for (const perService of [2, 10]) {
    for (const threshold of [1, 2, 3]) {
      for (const mode of ["fail", "hang"] as const) {
        it(`removes nothing when every target starts to ${mode} at any of ${PHASES} moments of a cycle (3 x ${perService} instances, unhealthy threshold ${threshold})`, async () => {
          const removed: string[] = [];
          // Targets answering in 1 ms, and in 1-150 ms (which reorders the answers).
          for (const [phase, maxLatencyMs] of everyPhase([1, 150])) {
            let onset = Infinity;
            const sim = await simChecker({
              services: 3,
              perService,
              world: (_host, now): Answer => (now >= onset ? mode : "ok"),
              maxLatencyMs,
              settings: { unhealthyThreshold: String(threshold) },
            });
            // Warm up for a few cycles, then the outage starts at this phase of a cycle (+7 ms
            // so it never lines up with a probe's offset by construction).
            onset = sim.clock.now() + 4 * INTERVAL + (phase * INTERVAL) / PHASES + 7;
            await sim.advance(onset + (threshold + 4) * INTERVAL);
            assert.equal(sim.status.lastCycle?.degraded, true, `phase ${phase}: degraded`);
            await sim.stop();
            for (const m of sim.mutations)
              removed.push(`phase ${phase}: ${m.what} ${m.instanceId}`);
          }
          assert.deepEqual(removed, []);
        });
      }
    }
  }

  // Three services of ten, and one of ten (where few of the namespace's probes follow the last
  // one's failure within the cycle); the failing target moves through the spread with the phase.
  for (const [services, threshold] of [1, 2, 3].flatMap(
    (t) =>
      [
        [3, t],
        [1, t],
      ] as const,
  )) {
    it(`still removes a single failing target within interval x ${threshold} + 0.5 s, from any moment (${services} x 10 instances)`, async () => {
      const delays: number[] = [];
      const added: number[] = [];
      for (let phase = 0; phase < PHASES; phase++) {
        let onset = Infinity;
        let firstFailure: number | undefined;
        let bad = "";
        const sim = await simChecker({
          services,
          perService: 10,
          world: (host, now): Answer => {
            if (host !== bad || now < onset) return "ok";
            firstFailure ??= now;
            return "fail";
          },
          settings: { unhealthyThreshold: String(threshold) },
        });
        const target = (phase * 7) % (services * 10);
        bad = sim.hostOf(target);
        onset = sim.clock.now() + 4 * INTERVAL + (phase * INTERVAL) / PHASES + 7;
        await sim.advance(onset + (threshold + 2) * INTERVAL);
        await sim.stop();
        const out = sim.mutations.filter((m) => m.what === "deregister");
        assert.deepEqual(
          out.map((m) => m.instanceId),
          [sim.idOf(target)],
          `phase ${phase}: the failing target, and only it`,
        );
        delays.push(out[0]!.at - onset);
        // A probe's failure lands 1 ms after it starts; the threshold's last one decides.
        const lastFailure = firstFailure! + (threshold - 1) * INTERVAL;
        added.push(out[0]!.at - lastFailure);
      }
      const worst = Math.max(...delays);
      const bound = INTERVAL * threshold + 500;
      assert.ok(worst <= bound, `removed ${worst} ms after the onset at worst (bound ${bound})`);
      const mean = added.reduce((a, b) => a + b, 0) / added.length;
      console.log(
        `      ${services} x 10, threshold ${threshold}: onset to removal ${Math.min(...delays)}-${worst} ms; ` +
          `added after the deciding failure: mean ${mean.toFixed(0)} ms, max ${Math.max(...added)} ms`,
      );
    });
  }
});

/** A stable pseudo-random number in [0, 1) for (host, k). */
function unit(host: string, k: number): number {
  let h = (k * 2654435761) >>> 0;
  for (let c = 0; c < host.length; c++) h = Math.imul(h ^ host.charCodeAt(c), 16777619) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
  return (h ^ (h >>> 13)) / 2 ** 32;
}

/** A third of the targets flap between passing and failing (or hanging), on dwell times from a
 * fraction of a check to several thresholds' worth; the rest pass. */
function flapping(start: number, flappers: (host: string) => boolean) {
  const plans = new Map<string, Array<{ until: number; answer: Answer }>>();
  return (host: string, now: number): Answer => {
    if (!flappers(host)) return "ok";
    let plan = plans.get(host);
    if (plan === undefined) plans.set(host, (plan = []));
    let t = plan.at(-1)?.until ?? start;
    while (t <= now) {
      const k = plan.length;
      const failing = k % 2 === 1;
      t += 300 + Math.floor(unit(host, k) * 6000);
      const answer: Answer = failing ? (unit(host, k + 1000) < 0.25 ? "hang" : "fail") : "ok";
      plan.push({ until: t, answer });
    }
    return plan.find((p) => now < p.until)!.answer;
  };
}

describe("every action is true when it is sent", function () {
  this.timeout(120_000);

  for (const rate of [1, 5]) {
    it(`flapping targets behind a rate limit of ${rate}/s: no re-registration after a failure, no removal after a pass`, async () => {
      const wrong: string[] = [];
      let actions = 0;
      for (const threshold of [1, 2, 3]) {
        let world = (_h: string, _n: number): Answer => "ok";
        const sim = await simChecker({
          services: 3,
          perService: 10,
          world: (h, n) => world(h, n),
          maxLatencyMs: 50,
          settings: {
            unhealthyThreshold: String(threshold),
            healthyThreshold: "2",
            maxMutationsPerSecond: String(rate),
            maxUnhealthyPercent: "100",
          },
        });
        const start = sim.clock.now();
        world = flapping(start, (h) => Number(h.split(".").at(-1)) % 3 === 0);
        await sim.advance(start + 120_000);
        await sim.stop();
        wrong.push(...sim.wrong().map((w) => `threshold ${threshold}: ${w}`));
        actions += sim.mutations.length;
      }
      assert.ok(actions > 50, `the flapping made the checker act (${actions} actions)`);
      assert.deepEqual(wrong, []);
    });
  }
});

describe("the checker's own probe errors", () => {
  it("never count against a target: nothing removed, counted apart, and /healthz says why", async () => {
    let from = Infinity;
    const sim = await simChecker({
      services: 3,
      perService: 10,
      // From `from` on, a third of the probes fail inside the checker (no file descriptor).
      world: (host, now): Answer =>
        now >= from && Number(host.split(".").at(-1)) % 3 === 0 ? "local" : "ok",
      settings: { unhealthyThreshold: "1" },
    });
    from = sim.clock.now() + 2 * INTERVAL;
    await sim.advance(from + 5 * INTERVAL);
    assert.deepEqual(sim.mutations, [], "nothing removed");
    const health = sim.status.health(sim.clock.now());
    assert.equal(health.ok, false);
    assert.match(health.reason, /10 probes failed inside the checker last cycle \(EMFILE\)/);
    assert.equal(sim.status.lastCycle?.degraded, false, "not in the degraded share either");
    assert.equal(sim.status.lastCycle?.failed, 0);
    const metric = await sim.metrics.probeLocalErrors.get();
    const total = metric.values.reduce((a, v) => a + v.value, 0);
    assert.ok(total >= 40, `counted apart (${total})`);
    // Once the checker can probe again, /healthz recovers after one cycle.
    from = Infinity;
    await sim.advance(sim.clock.now() + 2 * INTERVAL);
    assert.deepEqual(sim.status.health(sim.clock.now()), { ok: true, reason: "ok" });
    await sim.stop();
  });
});
