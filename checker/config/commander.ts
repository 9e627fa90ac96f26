// Wires the option list into commander. Commander applies no defaults itself: parseConfig does,
// after the environment, so a variable can win over a default but never over a flag.

import { Option, type Command } from "commander"; // commander: the standard Node CLI parser
import { OPTIONS, type Settings } from "./schema";

export function addConfigOptions(cmd: Command): Command {
  for (const o of OPTIONS) {
    const def = o.default === undefined ? "" : `, default ${o.default}`;
    cmd.addOption(
      new Option(`${o.flag} <${o.valueName}>`, `${o.description} [env ${o.env}${def}]`),
    );
  }
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
