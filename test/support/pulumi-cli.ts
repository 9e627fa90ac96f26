// Where the real Pulumi CLI is for the engine tests: CMHC_PULUMI_ROOT (what
// scripts/pulumi-cli.sh prints), else the directory that script builds into for the version
// of @pulumi/pulumi in node_modules, when a build is there.

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

/** The version the CLI must have: that of the SDK the rollout runs on. */
export function sdkVersion(): string {
  const pkg = require.resolve("@pulumi/pulumi/package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}

/** The cache directory scripts/pulumi-cli.sh builds the CLI of `version` into. */
export function cachedCliRoot(version = sdkVersion()): string {
  const cache = process.env["XDG_CACHE_HOME"] || path.join(homedir(), ".cache");
  return path.join(cache, "cloudmap-health-checker", `pulumi-v${version}`);
}

export type CliLookup =
  | { readonly root: string; readonly problem?: undefined }
  | { readonly root?: undefined; readonly problem: string };

/** A PulumiCommand root (holding bin/pulumi), or why there is none. */
export function findPulumiCli(): CliLookup {
  const given = process.env["CMHC_PULUMI_ROOT"];
  if (given) {
    return existsSync(path.join(given, "bin", "pulumi"))
      ? { root: given }
      : { problem: `CMHC_PULUMI_ROOT=${given} has no bin/pulumi` };
  }
  const cached = cachedCliRoot();
  if (existsSync(path.join(cached, "bin", "pulumi"))) return { root: cached };
  return {
    problem:
      `no Pulumi CLI v${sdkVersion()}: run scripts/pulumi-cli.sh (builds it once into ${cached}, ` +
      "a few minutes; needs Go), or set CMHC_PULUMI_ROOT to a directory holding bin/pulumi",
  };
}
