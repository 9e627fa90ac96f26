// Wires the option list into commander. Commander applies no defaults itself: parseConfig does,
// after the environment, so a variable can win over a default but never over a flag.

import { InvalidArgumentError, Option, type Command } from "commander"; // commander: the standard Node CLI parser
import { OPTIONS, type OptionSpec, type Settings } from "./schema";

const FLAGS: readonly string[] = [...OPTIONS.map((o) => o.flag), "--help"];

/**
 * Commander takes the word after a flag as its value, whatever it is: `--namespace --interval 5s`
 * would look up a namespace named "--interval". No value of ours is one of our flags.
 */
function notAFlag(flag: string) {
  return (value: string): string => {
    if (FLAGS.includes(value.split("=")[0]!)) {
      throw new InvalidArgumentError(`That is a flag: ${flag} has no value.`);
    }
    return value;
  };
}

/** One option of the list as a commander Option; `description` replaces the list's own. */
export function configOption(o: OptionSpec, description?: string): Option {
  const def = o.default === undefined ? "" : `, default ${o.default}`;
  return new Option(
    `${o.flag} <${o.valueName}>`,
    `${description ?? o.description} [env ${o.env}${def}]`,
  ).argParser(notAFlag(o.flag));
}

export function addConfigOptions(cmd: Command): Command {
  for (const o of OPTIONS) cmd.addOption(configOption(o));
  return cmd;
}

/** Commander's parsed options (camelCase of the flags) back to Settings keys. */
export function flagsFromCommander(opts: Record<string, unknown>): Settings {
  const out: Settings = {};
  for (const o of OPTIONS) {
    const value = opts[o.key];
    if (typeof value === "string") out[o.key] = value;
  }
  return out;
}
