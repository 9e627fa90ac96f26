// The version, in one place: package.json's `version`, read at run time from the package root
// (two levels above the compiled dist/checker/; in the image /app/package.json). Both CLIs'
// --version, the checker's start-up line and /status, the image's label (components/image.ts)
// and the rollout's stack fingerprint all take it from here.

import { readFileSync } from "node:fs";
import path from "node:path";

export const PACKAGE_NAME = "cloudmap-health-checker";

/** The package root (package.json's directory): a checkout, the installed package or /app. */
export const PACKAGE_ROOT = path.resolve(__dirname, "..", "..");

let version: string | undefined;

/** package.json's `version`, read once; throws if package.json is missing or not ours. */
export function packageVersion(): string {
  return (version ??= versionAt(PACKAGE_ROOT));
}

/** The version in the package.json at `root`, which must be this package's. */
export function versionAt(root: string): string {
  const file = path.join(root, "package.json");
  let pkg: { name?: unknown; version?: unknown };
  try {
    pkg = JSON.parse(readFileSync(file, "utf8")) as typeof pkg;
  } catch (err) {
    throw new Error(`cannot read ${PACKAGE_NAME}'s version from ${file}: ${String(err)}`, {
      cause: err,
    });
  }
  if (pkg.name !== PACKAGE_NAME || typeof pkg.version !== "string" || pkg.version === "") {
    throw new Error(`${file} is not ${PACKAGE_NAME}'s package.json with a version`);
  }
  return pkg.version;
}
