// `npm run bench`: a quick default (scale, reaction time, and flapping judged on ground truth);
// options for larger runs; `npm run bench:flap` for the flapping scenario alone. Never part of
// `npm test`.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { pointSdkAt, startMoto } from "../test/support/moto";
import { runFlap, type FlapResult } from "./flap";
import { runReaction, type ReactionResult } from "./reaction";
import { pinBench } from "./pin";
import { cycleChart, machine, markdown, reactionChart } from "./report";
import { runScale, type ScaleResult } from "./scale";

interface Options {
  sizes: string;
  failing: string;
  interval: string;
  cycles: string;
  reaction: string;
  events: string;
  stopEvents: string;
  replaceEvents: string;
  out: string;
  pin: boolean;
  concurrency: string;
  flap: string;
  flapInstances: string;
  flapServices: string;
  flapPercent: string;
  flapInterval: string;
  flapSeed: string;
}

async function main(o: Options): Promise<void> {
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const pinning = o.pin ? pinBench() : undefined;
  log(
    pinning
      ? `checker on CPU ${pinning.checker}; driver, moto and targets on CPU ${pinning.rest}`
      : "not pinned: the checker shares every core with moto and the targets",
  );
  // moto with DescribeTasks made linear (see moto_indexed.py): stock moto's takes seconds a call
  // at 20,000 tasks, which would bury the checker's own time.
  const moto = await startMoto({
    launcher: path.resolve(__dirname, "../../bench/moto_indexed.py"),
  });
  pointSdkAt(moto);
  const scale: ScaleResult[] = [];
  const reaction: ReactionResult[] = [];
  const flap: FlapResult[] = [];
  try {
    for (const size of o.sizes.split(",").filter(Boolean).map(Number)) {
      for (const failing of o.failing.split(",").map(Number)) {
        log(`scale: ${size} instances, ${failing} % failing, interval ${o.interval}s`);
        scale.push(
          await runScale(moto, {
            instances: size,
            intervalMs: Number(o.interval) * 1000,
            cycles: Number(o.cycles),
            failingPercent: failing,
            concurrency: o.concurrency,
            log,
          }),
        );
      }
    }
    for (const setting of o.reaction.split(",").filter(Boolean)) {
      const [interval, threshold] = setting.split("x").map(Number);
      log(`reaction: ${interval}s x ${threshold}`);
      reaction.push(
        await runReaction(moto, {
          intervalMs: interval! * 1000,
          threshold: threshold!,
          events: Number(o.events),
          stopEvents: Number(o.stopEvents),
          replaceEvents: Number(o.replaceEvents),
          log,
        }),
      );
    }
    if (Number(o.flap) > 0) {
      log(
        `flap: ${o.flapInstances} instances, ${o.flapPercent} % flapping, interval ${o.flapInterval}s, for ${o.flap}s`,
      );
      flap.push(
        await runFlap(moto, {
          instances: Number(o.flapInstances),
          services: Number(o.flapServices),
          flappingPercent: Number(o.flapPercent),
          intervalMs: Number(o.flapInterval) * 1000,
          windowMs: Number(o.flap) * 1000,
          seed: Number(o.flapSeed),
          log,
        }),
      );
    }
  } finally {
    await moto.stop();
  }
  const m = machine(pinning);
  const md = markdown(m, scale, reaction, flap);
  process.stdout.write(`${md}\n`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  mkdirSync(o.out, { recursive: true });
  const base = path.join(o.out, stamp);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, JSON.stringify({ machine: m, scale, reaction, flap }, null, 2));
  if (reaction.length > 0) writeFileSync(`${base}-reaction.svg`, await reactionChart(reaction));
  if (scale.length > 0) writeFileSync(`${base}-cycles.svg`, await cycleChart(scale));
  log(`results written to ${base}.{md,json} and SVG charts`);
  const wrong = flap.reduce((n, r) => n + r.wrongReRegistrations + r.wrongRemovals, 0);
  if (wrong > 0) {
    log(`flap: ${wrong} wrong actions against the ground truth`);
    process.exitCode = 1;
  }
}

new Command("bench")
  .description("cloudmap-health-checker benchmarks against moto and loopback targets")
  .option("--sizes <list>", "instance counts for the scale runs", "1000")
  .option("--failing <list>", "failing percentages for each scale run", "0,5")
  .option("--interval <seconds>", "checker interval for the scale runs", "5")
  .option("--cycles <n>", "measured cycles per scale run (after one warm-up cycle)", "4")
  .option("--reaction <list>", "interval x threshold settings, e.g. 1x2,5x3,10x3", "1x2")
  .option("--events <n>", "fail/recover events per reaction setting", "10")
  .option("--stop-events <n>", "task-stop events per reaction setting", "3")
  .option(
    "--replace-events <n>",
    "tasks failing for good per reaction setting (one ECS service each), replaced at the default replace-after",
    "5",
  )
  .option("--concurrency <n|auto>", "the checker's --concurrency in the scale runs", "auto")
  .option(
    "--flap <seconds>",
    "window of the flapping scenario judged on ground truth; 0 skips",
    "60",
  )
  .option("--flap-instances <n>", "instances in the flapping scenario", "2000")
  .option("--flap-services <n>", "Cloud Map services they are spread over", "4")
  .option("--flap-percent <n>", "share of them flapping", "10")
  .option("--flap-interval <seconds>", "the checker's interval there (else its defaults)", "2")
  .option("--flap-seed <n>", "seed of the flapping (same seed, same switches)", "1")
  .option("--no-pin", "let the checker share every core with moto and the targets")
  .option("--out <dir>", "where results go", path.resolve(__dirname, "../../bench/results"))
  .action((o: Options) =>
    main(o).catch((err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    }),
  )
  .parse();
