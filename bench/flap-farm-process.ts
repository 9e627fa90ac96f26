// The flap bench's targets in a process of their own: they switch as flap-plan.ts says, and
// record every answer they give (the ground truth of what the checker was told). Prints its
// port on the first line of stdout, then one line for each question asked on stdin.

import { createInterface } from "node:readline";
import { startFarm } from "./farm";
import { CODES, type AnswerLog, type FlapCommand } from "./flap-farm";
import { flapPlan } from "./flap-plan";

const answers: AnswerLog = {};
const hanging = new Set<string>();
const timers: NodeJS.Timeout[] = [];

void startFarm(0, {
  hanging,
  onAnswer: (target, at, answer) => void (answers[target] ??= []).push(at, CODES[answer]),
}).then((farm) => {
  process.stdout.write(`${farm.port}\n`);
  const reply = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
  // `F{json}` starts flapping (replies with its start, epoch ms); `A` replies with the answer log.
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.startsWith("F")) {
      const cmd = JSON.parse(line.slice(1)) as FlapCommand;
      const start = Date.now();
      for (const [address, switches] of flapPlan(cmd.targets, cmd.seed, cmd.spec)) {
        for (const s of switches) {
          const apply = (): void => {
            if (s.mode === "fail") farm.failing.add(address);
            else farm.failing.delete(address);
            if (s.mode === "hang") hanging.add(address);
            else hanging.delete(address);
          };
          timers.push(setTimeout(apply, start + s.atMs - Date.now()));
        }
      }
      reply(start);
    } else if (line === "A") reply(answers);
    else if (line === "?") reply(farm.requests);
  });
  process.stdin.on("end", () => {
    for (const t of timers) clearTimeout(t);
    void farm.close().then(() => process.exit(0));
  });
});
