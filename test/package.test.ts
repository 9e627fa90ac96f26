// What `npm pack` publishes (runs after the build, as every test does): the compiled component,
// checker and CLIs with their declarations, the Dockerfile and what the image build needs; no
// tests, benchmarks, demo, sources or development files. Then the packed tarball installed into
// a fresh project: its main, its bins and its image build context work from there.

import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { contextCopies, dockerStages } from "./support/dockerfile";

const ROOT = path.resolve(__dirname, "../..");

interface Manifest {
  name: string;
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  files: string[];
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
  private?: boolean;
}

const PKG = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Manifest;

/** Runs npm (the one the tests run beside). */
function npm(args: string[], cwd: string): string {
  return execFileSync("npm", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
}

const normal = (p: string): string => p.replace(/^\.\//, "");

describe("npm package", function () {
  this.timeout(180_000);
  let files: Set<string>;
  let size: number;

  before(() => {
    // prepack's last step (the build before it is the test run's own): the packed lockfile.
    execFileSync(process.execPath, [path.join(ROOT, "scripts", "prepack.mjs"), "--lockfile-only"]);
    const [report] = JSON.parse(
      npm(["pack", "--dry-run", "--json", "--ignore-scripts"], ROOT),
    ) as Array<{ files: Array<{ path: string }>; size: number }>;
    files = new Set(report!.files.map((f) => f.path));
    size = report!.size;
  });

  it("is publishable: not private, prepack builds clean and packs the lockfile", () => {
    assert.equal(PKG.private, undefined);
    assert.equal(PKG.scripts["prepack"], "node scripts/prepack.mjs");
    const prepack = readFileSync(path.join(ROOT, "scripts", "prepack.mjs"), "utf8");
    assert.match(prepack, /rmSync\(path\.join\(root, "dist"\)/);
    assert.match(prepack, /typescript\/bin\/tsc/);
    assert.match(prepack, /"dist", "package-lock\.json"/);
  });

  it("holds the component, the CLIs, the Dockerfile and the documents", () => {
    for (const f of [
      "package.json",
      "README.md",
      "CHANGELOG.md",
      "dist/components/index.js",
      "dist/components/index.d.ts",
      "dist/checker/cli.js",
      "dist/checker/healthcheck.js",
      "dist/programs/rollout/cli.js",
      "checker/Dockerfile",
      "checker/Dockerfile.dockerignore",
      "dist/package-lock.json",
    ]) {
      assert.ok(files.has(f), `${f} is packed`);
    }
    assert.ok(files.has("LICENSE"), "LICENSE is packed");
    // Other languages add the component from the git repository (`pulumi package add`), whose
    // analyzer reads the TypeScript sources: the npm package ships none, so not the plugin file.
    assert.ok(!files.has("PulumiPlugin.yaml"), "PulumiPlugin.yaml is not packed");
  });

  it("holds no tests, benchmarks, demo, sources, source maps or development files", () => {
    const banned = [
      /^test\//,
      /^dist\/test\//,
      /^bench\//,
      /^dist\/bench\//,
      /results\//,
      /^dist\/programs\/demo\//,
      /^(?:checker|components|programs|scripts)\/.*\.(?:ts|mjs|js)$/,
      /(?<!\.d)\.ts$/,
      /\.map$/,
      /(?:^|\/)\.venv\//,
      /(?:^|\/)node_modules\//,
      /^\.ci\//,
      /^scripts\//,
      /^\.(?:mocharc|prettierrc|prettierignore|gitignore|dockerignore)/,
      /^(?:tsconfig\.json|eslint\.config\.mjs|Pulumi\.yaml|package-lock\.json)$/,
    ];
    for (const f of files) {
      const rule = banned.find((r) => r.test(f));
      assert.equal(rule, undefined, `${f} is packed (matches ${String(rule)})`);
    }
  });

  it("packs every bin, exports and types target, and bins start with a node shebang", () => {
    const targets = [
      PKG.main,
      PKG.types,
      ...Object.values(PKG.bin),
      ...Object.values(PKG.exports).flatMap((e) =>
        typeof e === "string" ? [e] : Object.values(e),
      ),
    ].map(normal);
    for (const t of targets) assert.ok(files.has(t), `${t} is packed`);
    for (const bin of Object.values(PKG.bin)) {
      const first = readFileSync(path.join(ROOT, bin), "utf8").split("\n")[0];
      assert.equal(first, "#!/usr/bin/env node", `${bin} shebang`);
    }
  });

  it("needs at run time nothing it does not pack or depend on", () => {
    const builtins = new Set(builtinModules);
    const deps = new Set(Object.keys(PKG.dependencies));
    for (const f of files) {
      const js = f.endsWith(".js");
      if (!js && !f.endsWith(".d.ts")) continue;
      const text = readFileSync(path.join(ROOT, f), "utf8");
      const specs = js
        ? [...text.matchAll(/(?<![.\w$])require\("([^"]+)"\)/g)].map((m) => m[1]!)
        : [...text.matchAll(/(?:from |import\()"([^"]+)"/g)].map((m) => m[1]!);
      for (const spec of specs) {
        if (spec.startsWith(".")) {
          const base = path.posix.join(path.posix.dirname(f), spec);
          const candidates = js
            ? [base, `${base}.js`, `${base}/index.js`]
            : [`${base}.d.ts`, `${base}/index.d.ts`, base];
          assert.ok(
            candidates.some((c) => files.has(c)),
            `${f} needs ${spec}, which is not packed`,
          );
        } else {
          const name = spec.startsWith("@")
            ? spec.split("/").slice(0, 2).join("/")
            : spec.split("/")[0]!;
          assert.ok(
            spec.startsWith("node:") || builtins.has(name) || deps.has(name),
            `${f} needs ${spec}, which is no dependency`,
          );
        }
      }
    }
  });

  it("is small", () => {
    assert.ok(size < 1_000_000, `${size} bytes packed`);
  });

  describe("installed from the packed tarball", () => {
    let tmp: string;
    let project: string;
    let installed: string;
    const node = (code: string, input: "commonjs" | "module" = "commonjs"): string =>
      execFileSync(process.execPath, ["--input-type", input, "-e", code], {
        cwd: project,
        encoding: "utf8",
      }).trim();

    before(() => {
      tmp = mkdtempSync(path.join(tmpdir(), "cmhc-pack-"));
      const [packed] = JSON.parse(
        npm(["pack", "--json", "--ignore-scripts", "--pack-destination", tmp], ROOT),
      ) as Array<{ filename: string }>;
      project = path.join(tmp, "consumer");
      mkdirSync(project);
      writeFileSync(
        path.join(project, "package.json"),
        JSON.stringify({ name: "consumer", version: "1.0.0", private: true }),
      );
      // From npm's cache where it can (the repository's own install filled it), else the
      // registry: about 20 s the first time.
      npm(
        [
          "install",
          path.join(tmp, packed!.filename),
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          "--ignore-scripts",
        ],
        project,
      );
      installed = path.join(project, "node_modules", PKG.name);
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    it("exports the component to require and import, and its package.json", () => {
      assert.equal(
        node(`console.log(typeof require("${PKG.name}").CloudMapHealthChecker)`),
        "function",
      );
      assert.equal(
        node(
          `import { CloudMapHealthChecker } from "${PKG.name}"; console.log(typeof CloudMapHealthChecker)`,
          "module",
        ),
        "function",
      );
      assert.equal(node(`console.log(require("${PKG.name}/package.json").version)`), PKG.version);
      assert.match(
        node(
          `try { require("${PKG.name}/dist/checker/version"); } catch (e) { console.log(e.code) }`,
        ),
        /ERR_PACKAGE_PATH_NOT_EXPORTED/,
      );
    });

    it("installs both bins, runnable by their shebang", () => {
      // The shebang's `env node` finds the Node running these tests first on PATH.
      const bin = path.join(tmp, "bin");
      mkdirSync(bin);
      symlinkSync(process.execPath, path.join(bin, "node"));
      const run = (name: string, arg: string): string =>
        execFileSync(path.join(project, "node_modules", ".bin", name), [arg], {
          encoding: "utf8",
          env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env["PATH"] ?? ""}` },
        });
      assert.equal(run("cloudmap-health-checker", "--version").trim(), PKG.version);
      for (const name of Object.keys(PKG.bin)) assert.match(run(name, "--help"), /Usage:/, name);
    });

    it("builds its image from itself: context, Dockerfile, lockfile and version all there", () => {
      const build = JSON.parse(
        node(
          `console.log(JSON.stringify(require(${JSON.stringify(path.join(installed, "dist", "components", "image-build.js"))}).imageBuild()))`,
        ),
      ) as { context: string; dockerfile: string; args: Record<string, string> };
      assert.equal(build.context, installed);
      assert.equal(build.dockerfile, path.join(installed, "checker", "Dockerfile"));
      assert.deepEqual(build.args, { VERSION: PKG.version, LOCKFILE: "dist/package-lock.json" });
      const dockerfile = readFileSync(build.dockerfile, "utf8");
      for (const stage of dockerStages(dockerfile)) {
        for (const c of contextCopies(stage, build.args)) {
          assert.ok(existsSync(path.join(installed, c.source)), `${c.source} is in the package`);
        }
      }
      const lock = JSON.parse(
        readFileSync(path.join(installed, "dist", "package-lock.json"), "utf8"),
      ) as {
        version: string;
      };
      assert.equal(lock.version, PKG.version, "the packed lockfile is this version's");
    });
  });
});
