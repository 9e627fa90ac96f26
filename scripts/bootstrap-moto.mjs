// Ensures the project-local Python venv with the AWS emulator the tests run against.
// Fast no-op once installed; creates .venv on a fresh machine or CI.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MOTO = "5.2.5";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const venv = join(root, ".venv");
const marker = join(venv, ".moto-version");
const server = join(venv, "bin", "moto_server");

if (existsSync(server) && existsSync(marker) && readFileSync(marker, "utf8").trim() === MOTO) {
  process.exit(0);
}

let version;
try {
  version = execFileSync("python3", ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    .toString()
    .trim();
} catch {
  console.error("bootstrap-moto: python3 not found; install Python >= 3.10 to run the tests");
  process.exit(1);
}
const [major, minor] = version.split(".").map(Number);
if (major < 3 || (major === 3 && minor < 10)) {
  console.error(`bootstrap-moto: Python ${version} found; moto ${MOTO} needs Python >= 3.10`);
  process.exit(1);
}

console.error(`bootstrap-moto: creating .venv with moto[server]==${MOTO} (once)`);
if (!existsSync(join(venv, "bin", "python"))) {
  execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
}
execFileSync(
  join(venv, "bin", "pip"),
  ["install", "--disable-pip-version-check", "-q", `moto[server]==${MOTO}`],
  { stdio: "inherit" },
);
writeFileSync(marker, `${MOTO}\n`);
