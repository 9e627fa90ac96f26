// npm runs this before `npm pack` and `npm publish`: a clean build (no compiled file of a source
// since removed), then the lockfile where the package can carry it. npm never packs a root
// package-lock.json, and the image build needs one to install the versions we tested, so it
// ships as dist/package-lock.json (components/image.ts passes it to checker/Dockerfile).
// `--lockfile-only` skips the build (the package test, which runs after one).

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

if (!process.argv.includes("--lockfile-only")) {
  rmSync(path.join(root, "dist"), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
}
mkdirSync(path.join(root, "dist"), { recursive: true });
copyFileSync(path.join(root, "package-lock.json"), path.join(root, "dist", "package-lock.json"));
