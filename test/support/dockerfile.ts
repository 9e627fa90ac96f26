// checker/Dockerfile read as the tests need it, without a Docker engine: its stages, what each
// copies from the build context, and the commands its RUN steps run (none uses the shell beyond
// `&&`), so the image-contract test repeats them rather than a copy of them.

import { readFileSync } from "node:fs";
import path from "node:path";

export const DOCKERFILE = path.resolve(__dirname, "../../../checker/Dockerfile");

export interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  /** Instructions after FROM, continuation lines joined, comments dropped. */
  readonly instructions: readonly string[];
}

/** The stages, in order. */
export function dockerStages(text = readFileSync(DOCKERFILE, "utf8")): Stage[] {
  const joined = text
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n")
    .replace(/\\\n/g, " ");
  const stages: Array<{ from: string; name: string | undefined; instructions: string[] }> = [];
  for (const raw of joined.split("\n")) {
    const line = raw.trim().replace(/\s+/g, " ");
    if (line === "") continue;
    const from = /^FROM (\S+)(?: AS (\S+))?$/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2], instructions: [] });
    else if (stages.length > 0) stages[stages.length - 1]!.instructions.push(line);
    else throw new Error(`instruction before FROM: ${line}`);
  }
  return stages;
}

/** ${NAME} and $NAME replaced from the build args. */
function expand(s: string, args: Readonly<Record<string, string>>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => {
    const v = args[a ?? b ?? ""];
    if (v === undefined) throw new Error(`build arg ${m} is not given`);
    return v;
  });
}

export interface ContextCopy {
  /** Path in the build context. */
  readonly source: string;
  /** Path under the stage's WORKDIR (every stage works in /app). */
  readonly target: string;
}

/** What a stage copies from the build context (not from another stage), args expanded. */
export function contextCopies(stage: Stage, args: Readonly<Record<string, string>>): ContextCopy[] {
  const copies: ContextCopy[] = [];
  for (const line of stage.instructions) {
    if (!/^COPY /.test(line) || /--from=/.test(line)) continue;
    const parts = line
      .split(" ")
      .slice(1)
      .filter((p) => !p.startsWith("--"));
    const target = parts.pop()!;
    for (const p of parts) {
      const source = expand(p, args);
      const t = target.endsWith("/")
        ? path.posix.join(target, path.posix.basename(source))
        : target;
      copies.push({ source, target: path.posix.normalize(t) });
    }
  }
  return copies;
}

/** The commands of a stage's RUN steps, each as argv (split on `&&` and spaces). */
export function runCommands(stage: Stage): string[][] {
  return stage.instructions
    .filter((l) => l.startsWith("RUN "))
    .flatMap((l) => l.slice(4).split("&&"))
    .map((c) => c.trim().split(" "));
}

/** The rules of a .dockerignore file, comments and blank lines dropped. */
export function ignoreRules(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}
