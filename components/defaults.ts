// The component's own defaults, resolved once: validation and the resources read the same values.

import { listen, optionSpec } from "../checker/config";
import type { CloudMapHealthCheckerArgs } from "./args";

/** The args with a default, and that default (each matches the `@default` in args.ts). */
export const ARG_DEFAULTS = {
  cpu: 256,
  memory: 512,
  architecture: "ARM64",
  logRetentionInDays: 30,
  assignPublicIp: false,
  desiredCount: 1,
  // The checker's own default listen port.
  statusPort: listen(optionSpec("listen").default!).port,
} as const satisfies Partial<Record<keyof CloudMapHealthCheckerArgs, unknown>>;

type Defaulted = keyof typeof ARG_DEFAULTS;

/** Args with every default of the component filled in. */
export type ResolvedArgs = Omit<CloudMapHealthCheckerArgs, Defaulted> & {
  readonly [K in Defaulted]-?: NonNullable<CloudMapHealthCheckerArgs[K]>;
};

export function withDefaults(args: CloudMapHealthCheckerArgs): ResolvedArgs {
  const out: Record<string, unknown> = { ...args };
  for (const [key, value] of Object.entries(ARG_DEFAULTS)) out[key] ??= value;
  return out as ResolvedArgs;
}
