// How the checker's image is built (components/image.ts builds it; no Pulumi here, so tests and
// tools can ask without loading the SDKs). The build compiles nothing: its context is the
// package root, a checkout after `npm run build` or the package installed from npm alike, and
// it takes the compiled checker (dist/checker), package.json and a lockfile from there
// (checker/Dockerfile.dockerignore lets nothing else in).

import { existsSync } from "node:fs";
import * as path from "node:path";
import { PACKAGE_ROOT, packageVersion, versionAt } from "../checker/version";

/**
 * Where the published package keeps its lockfile: npm never packs a root package-lock.json, so
 * `npm pack` (prepack) copies it here, and the image installs the same dependency versions
 * from an installed package as from a checkout.
 */
export const PACKED_LOCKFILE = "dist/package-lock.json";

export interface ImageBuild {
  /** The build context: the package root. */
  readonly context: string;
  readonly dockerfile: string;
  /** VERSION (the image's org.opencontainers.image.version label), LOCKFILE (in the context). */
  readonly args: { readonly VERSION: string; readonly LOCKFILE: string };
}

/** How to build the image from the package at `root` (this package, wherever it is installed). */
export function imageBuild(root: string = PACKAGE_ROOT): ImageBuild {
  const lockfile = ["package-lock.json", PACKED_LOCKFILE].find((f) =>
    existsSync(path.join(root, f)),
  );
  if (lockfile === undefined) {
    throw new Error(
      `cannot build the checker's image from ${root}: no package-lock.json nor ${PACKED_LOCKFILE} ` +
        "(a checkout has the first; a package packed by `npm pack` the second). Set `image` instead.",
    );
  }
  if (!existsSync(path.join(root, "dist", "checker", "cli.js"))) {
    throw new Error(
      `cannot build the checker's image from ${root}: dist/checker is missing (run \`npm run build\`)`,
    );
  }
  return {
    context: root,
    dockerfile: path.join(root, "checker", "Dockerfile"),
    args: {
      VERSION: root === PACKAGE_ROOT ? packageVersion() : versionAt(root),
      LOCKFILE: lockfile,
    },
  };
}
