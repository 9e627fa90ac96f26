// Ensures the project-local Python venv with the AWS emulator the tests run against.
// Silent no-op once installed; creates .venv on a fresh machine or CI (needs python3 >= 3.10).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MOTO = "5.2.5";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const venv = join(root, ".venv");
const marker = join(venv, ".moto-version");
const server = join(venv, "bin", "moto_server");
const python = join(venv, "bin", "python");

function readMarker() {
  try {
    return readFileSync(marker, "utf8").trim();
  } catch {
    return undefined;
  }
}

function fail(message) {
  console.error(`bootstrap-moto: ${message}`);
  process.exit(1);
}

/** Runs a command quietly; returns its stdout, or undefined if it cannot run or fails. */
function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

if (existsSync(server) && readMarker() === MOTO) process.exit(0);

const version = tryRun("python3", ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]);
if (version === undefined) fail("python3 not found; install Python >= 3.10 to run the tests");
const [major, minor] = version.split(".").map(Number);
if (major < 3 || (major === 3 && minor < 10)) {
  fail(`python3 is ${version}; moto ${MOTO} needs Python >= 3.10`);
}

console.error(`bootstrap-moto: installing moto[server]==${MOTO} into .venv (once)`);
// A venv copied from another machine, or made by an older Python, has a dead interpreter.
const usable =
  tryRun(python, ["-c", "import sys; assert sys.version_info >= (3, 10)"]) !== undefined;
try {
  execFileSync("python3", ["-m", "venv", ...(usable ? [] : ["--clear"]), venv], {
    stdio: "inherit",
  });
} catch {
  fail("`python3 -m venv` failed (on Debian/Ubuntu: apt-get install python3-venv)");
}
try {
  execFileSync(
    python,
    ["-m", "pip", "install", "--disable-pip-version-check", "-q", `moto[server]==${MOTO}`],
    { stdio: "inherit" },
  );
} catch {
  fail(`pip could not install moto[server]==${MOTO} (offline? see the output above)`);
}
if (!existsSync(server)) fail(`${server} missing after the install`);
writeFileSync(marker, `${MOTO}\n`);
