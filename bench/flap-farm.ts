// The driver's handle on flap-farm-process.ts, and what the two say to each other.

import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import type { FlapSpec } from "./flap-plan";
import type { Answer } from "./judge";

export interface FlapCommand {
  /** Addresses of the flapping targets. */
  readonly targets: readonly string[];
  readonly seed: number;
  readonly spec: FlapSpec;
}

/** Answers by `ADDR:PORT`: epoch ms and CODES[answer], flattened, in order given. */
export type AnswerLog = Record<string, number[]>;

export const CODES = { fail: 0, pass: 1, hang: 2 } as const;

export interface FlapFarm {
  readonly port: number;
  /** Starts the flapping; resolves to its start (epoch ms, the farm's clock). */
  flap(cmd: FlapCommand): Promise<number>;
  /** Every answer given so far, by `ADDR:PORT`, in time order. */
  answers(): Promise<Map<string, Answer[]>>;
  requests(): Promise<number>;
  close(): void;
}

export async function startFlapFarm(): Promise<FlapFarm> {
  const child = spawn(process.execPath, [path.join(__dirname, "flap-farm-process.js")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  // One question at a time: answers come back in order on stdout.
  let queue = Promise.resolve("");
  const ask = (line: string): Promise<string> =>
    (queue = queue.then(async () => {
      if (line) child.stdin!.write(`${line}\n`);
      return String((await lines.next()).value);
    }));
  const port = Number(await ask(""));
  return {
    port,
    flap: async (cmd) => Number(await ask(`F${JSON.stringify(cmd)}`)),
    async answers() {
      const log = JSON.parse(await ask("A")) as AnswerLog;
      const out = new Map<string, Answer[]>();
      for (const [target, flat] of Object.entries(log)) {
        const list: Answer[] = [];
        for (let i = 0; i < flat.length; i += 2) {
          const code = flat[i + 1];
          list.push({
            at: flat[i]!,
            ok: code === CODES.pass,
            ...(code === CODES.hang ? { hung: true } : {}),
          });
        }
        out.set(target, list);
      }
      return out;
    },
    requests: async () => Number(await ask("?")),
    close: () => void child.stdin!.end(),
  };
}
