// Results as a Markdown table and SVG charts (rendered by Vega, headless).

import os from "node:os";
import type { Pinning } from "./pin";
import type { Example, FlapResult } from "./flap";
import type { ReactionResult } from "./reaction";
import { PHASES } from "../checker/cycle/phases";
import type { ScaleResult } from "./scale";

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly node: string;
  readonly memoryGiB: number;
  /** CPUs of the checker and of everything else, when the run was pinned. */
  readonly pinning: Pinning | undefined;
}

export function machine(pinning: Pinning | undefined): Machine {
  return {
    pinning,
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "unknown",
    node: process.version,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : "-");
/** `Op n, Op n` in operation order. */
const byOperation = (perOp: Readonly<Record<string, number>>): string =>
  Object.entries(perOp)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, n]) => `${op} ${n}`)
    .join(", ");
/** A histogram bucket's bound in ms, as "≤ N ms". */
const ms = (s: number): string => (Number.isFinite(s) ? `≤ ${Math.round(s * 1000)} ms` : "-");

export function markdown(
  m: Machine,
  scale: readonly ScaleResult[],
  reaction: readonly ReactionResult[],
  flap: readonly FlapResult[] = [],
): string {
  const out = [
    `# cloudmap-health-checker benchmark`,
    "",
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}. AWS is moto (an emulator,`,
    "much slower than AWS at scale): its share of each cycle is shown apart from the checker's own time.",
    "moto's DescribeTasks is patched for the run to find tasks through an index instead of a substring",
    "scan of every task, and to keep each task's serialised answer until the task changes (same answers;",
    "bench/moto_indexed.py): unpatched, it takes seconds a call at 20,000 tasks, and its serialising kept",
    "the core the targets share busy.",
    m.pinning
      ? `The checker ran on a core of its own (CPU ${m.pinning.checker}); the driver, moto and the targets on CPU ${m.pinning.rest}. On loopback, part of the targets' kernel work (their side of each connect) runs on the checker's core.`
      : "The checker shared every core with moto and the targets (not pinned).",
    "",
  ];
  if (scale.length > 0) {
    out.push(
      "## Scale",
      "",
      "| instances | failing | interval | cycles | cycle p50 / max | late | probes/s | checker CPU | peak RSS | removals (false) | emulator time / cycle | AWS calls / cycle |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    );
    for (const r of scale) {
      const calls = byOperation(r.awsCallsPerCycle);
      out.push(
        `| ${r.instances} | ${r.failingPercent} % | ${r.intervalS} s | ${r.cycles} | ${f(r.cycleP50S, 2)} / ${f(r.cycleMaxS, 2)} s | ${r.lateCycles} | ${f(r.probesPerSecond, 0)} | ${f(r.cpuPercent)} % | ${f(r.peakRssMiB)} MiB | ${r.removals}/${r.expectedRemovals} (${r.falseRemovals}) | ${f(r.emulatorMsPerCycle, 0)} ms | ${calls} |`,
      );
    }
    out.push(
      "",
      "AWS calls are counted at the endpoint (a counting proxy in front of moto) and by the checker's own",
      "`cmhc_aws_calls_total` (every attempt, any outcome), over the same window:",
      "",
      "| instances | failing | calls in the window | checker metrics less endpoint |",
      "| ---: | ---: | ---: | --- |",
    );
    for (const r of scale) {
      const d = Object.entries(r.awsCallsMetricsLessEndpoint).filter(([, n]) => n !== 0);
      out.push(
        `| ${r.instances} | ${r.failingPercent} % | ${r.awsCallsInWindow} | ${d.length === 0 ? "0 (they agree)" : d.map(([op, n]) => `${op} ${n > 0 ? "+" : ""}${n}`).join(", ")} |`,
      );
    }
    out.push(
      "",
      "Where a cycle's time goes (mean ms, as the checker measures it): lease, read (Cloud Map), ecs (ListTasks before probing,",
      "DescribeTasks the decisions wait for) and act (mutations) wait on AWS; probe (the spread, with the decisions made as",
      "probes land) and decide (planning, status) are the checker's own.",
      "",
      `| instances | failing | concurrency | ${PHASES.join(" | ")} | probe time p50 / p99 | CPU busy (steal) | emulator ms / call |`,
      `| ---: | ---: | ---: | ${PHASES.map(() => "---:").join(" | ")} | ---: | --- | --- |`,
    );
    for (const r of scale) {
      out.push(
        `| ${r.instances} | ${r.failingPercent} % | ${r.concurrency} | ${PHASES.map((p) => f(r.phasesMs[p], 0)).join(" | ")} | ${ms(r.probeP50S)} / ${ms(r.probeP99S)} | ${r.cpus.map((c, i) => `${i}: ${f(c.busyPercent, 0)} % (${f(c.stealPercent, 0)})`).join(", ")} | ${byOperation(r.emulatorMsPerCall)} |`,
      );
    }
    out.push("");
  }
  if (reaction.length > 0) {
    out.push(
      "## Reaction time",
      "",
      "From the moment a target starts failing (or its task is stopped) to the Cloud Map call (or the ECS StopTask), measured at the endpoint.",
      "",
      "| interval x threshold | event | n | p50 | p95 | max | p95 over interval x threshold |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of reaction) {
      const setting = `${r.intervalS} s x ${r.threshold}`;
      const rows: Array<[string, ReactionResult["removal"], number]> = [
        ["failing -> deregistered", r.removal, r.theoreticalS],
        ["recovered -> re-registered", r.recovery, r.theoreticalS],
        ["task stopped -> deregistered", r.stopped, r.intervalS],
        ["failing for good -> deregistered", r.replaceRemoval, r.theoreticalS],
        [
          `failing for good -> StopTask (replace-after auto: ${r.replaceAfterS} s)`,
          r.replaced,
          r.theoreticalS + r.replaceAfterS,
        ],
      ];
      for (const [event, d, floor] of rows) {
        if (d.n === 0) continue;
        out.push(
          `| ${setting} | ${event} | ${d.n} | ${f(d.p50S, 2)} s | ${f(d.p95S, 2)} s | ${f(d.maxS, 2)} s | ${f(d.p95S - floor, 2)} s |`,
        );
      }
    }
    out.push("");
  }
  if (flap.length > 0) out.push(...flapSection(flap));
  return out.join("\n");
}

function flapSection(flap: readonly FlapResult[]): string[] {
  const out = [
    "## Flapping, judged against ground truth",
    "",
    "A share of the targets switch between HTTP 200, 500 and hanging at seeded random times, each spell",
    "around threshold x interval long; the checker runs with its defaults but for the interval, the timeout",
    "(below it) and no start-up grace. The targets record every answer they give; a re-registration (or",
    "HEALTHY) is wrong when the target's latest answer before the call reached the endpoint failed, a",
    "removal (or UNHEALTHY) when it passed. Premature: the right way round, but fewer than threshold",
    "answers in a row said so (a decision on older answers that happens to agree).",
    "",
    "| instances | flapping | interval (timeout) | window | switches (hangs) | cycles (late) | removals | re-registrations | **wrong: re-registered while failing** | **wrong: removed while passing** | premature | AWS calls |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of flap) {
    out.push(
      `| ${r.instances} over ${r.services} | ${r.flapping} (${r.flappingPercent} %) | ${r.intervalS} s (${r.timeoutS} s) | ${r.windowS} s | ${r.switches} (${r.hangs}) | ${r.cycles} (${r.lateCycles}) | ${r.removals} | ${r.reRegistrations} | ${r.wrongReRegistrations} | ${r.wrongRemovals} | ${r.premature} | ${r.awsCallsTotal}: ${byOperation(r.awsCalls)} |`,
    );
  }
  out.push("");
  for (const r of flap) {
    const d = r.actionDelay;
    const w = r.wrongSinceAnswer;
    const show = (list: readonly Example[]): string =>
      list.map((e) => `${e.operation} ${e.instanceId} (${e.target}): ${e.recent}`).join("; ");
    out.push(
      `Seed ${r.seed}, thresholds ${r.unhealthyThreshold}/${r.healthyThreshold}, ${r.maxMutationsPerSecond} mutations a second; ${r.answers} answers judged against; ${r.unjudged} mutations unjudged; checker CPU ${f(r.cpuPercent)} %, peak RSS ${f(r.peakRssMiB)} MiB; ${f(r.runS, 0)} s in all (set-up ${f(r.setupS, 0)} s).`,
      `Right actions, from the answer that reached the threshold to the call: p50 ${f(d.p50S, 2)} s, p95 ${f(d.p95S, 2)} s, max ${f(d.maxS, 2)} s (n ${d.n}).`,
      w.n === 0
        ? "No wrong action."
        : `Wrong actions, from the contradicting answer to the call: p50 ${f(w.p50S, 2)} s, p95 ${f(w.p95S, 2)} s, max ${f(w.maxS, 2)} s. The first, with the target's last answers (p passed, f failed, h hung) and seconds before the call: ${show(r.wrongExamples)}.`,
      ...(r.prematureExamples.length > 0 ? [`Premature: ${show(r.prematureExamples)}.`] : []),
      "",
    );
  }
  return out;
}

type VegaModule = typeof import("vega");

async function render(spec: object): Promise<string> {
  const vega: VegaModule = await import("vega"); // vega: declarative charts rendered to SVG headless
  return new vega.View(vega.parse(spec as never), { renderer: "none" }).toSVG();
}

function barChart(
  title: string,
  values: Array<{ label: string; series: string; value: number }>,
): object {
  return {
    $schema: "https://vega.github.io/schema/vega/v5.json",
    title,
    width: 560,
    height: 260,
    padding: 10,
    data: [{ name: "t", values }],
    scales: [
      {
        name: "x",
        type: "band",
        domain: { data: "t", field: "label" },
        range: "width",
        padding: 0.2,
      },
      {
        name: "y",
        type: "linear",
        domain: { data: "t", field: "value" },
        nice: true,
        zero: true,
        range: "height",
      },
      { name: "c", type: "ordinal", domain: { data: "t", field: "series" }, range: "category" },
      {
        name: "xi",
        type: "band",
        domain: { data: "t", field: "series" },
        range: [0, { signal: "bandwidth('x')" }],
      },
    ],
    axes: [
      { orient: "bottom", scale: "x", labelAngle: 0 },
      { orient: "left", scale: "y", title: "seconds" },
    ],
    legends: [{ fill: "c", orient: "top-left" }],
    marks: [
      {
        type: "group",
        from: { facet: { data: "t", name: "f", groupby: "label" } },
        encode: { enter: { x: { scale: "x", field: "label" } } },
        marks: [
          {
            type: "rect",
            from: { data: "f" },
            encode: {
              enter: {
                x: { scale: "xi", field: "series" },
                width: { scale: "xi", band: 1 },
                y: { scale: "y", field: "value" },
                y2: { scale: "y", value: 0 },
                fill: { scale: "c", field: "series" },
              },
            },
          },
        ],
      },
    ],
  };
}

export async function reactionChart(reaction: readonly ReactionResult[]): Promise<string> {
  const values = reaction.flatMap((r) => {
    const label = `${r.intervalS}s x ${r.threshold}`;
    return [
      { label, series: "interval x threshold", value: r.theoreticalS },
      { label, series: "removal p50", value: r.removal.p50S },
      { label, series: "removal p95", value: r.removal.p95S },
      { label, series: "recovery p95", value: r.recovery.p95S },
    ];
  });
  return render(barChart("Reaction time", values));
}

export async function cycleChart(scale: readonly ScaleResult[]): Promise<string> {
  const values = scale.flatMap((r) => [
    {
      label: `${r.instances} (${r.failingPercent}% failing)`,
      series: "interval",
      value: r.intervalS,
    },
    {
      label: `${r.instances} (${r.failingPercent}% failing)`,
      series: "cycle p50",
      value: r.cycleP50S,
    },
    {
      label: `${r.instances} (${r.failingPercent}% failing)`,
      series: "cycle max",
      value: r.cycleMaxS,
    },
  ]);
  return render(barChart("Cycle time by instance count", values));
}
