// The version lives in package.json alone: both CLIs' --version, the checker's first log line
// and /status, and the image (its build args under Pulumi mocks, the Dockerfile's label) say it.

import { strict as assert } from "node:assert";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { StatusBook } from "../checker/observability/status";
import { packageVersion, PACKAGE_ROOT } from "../checker/version";
import { imageBuild, PACKED_LOCKFILE } from "../components/image-build";
import { runCli, startCli } from "./support/cli-process";
import { DOCKERFILE, contextCopies, dockerStages, ignoreRules } from "./support/dockerfile";
import { freePort } from "./support/moto";
import { childrenOf, installPulumiMocks, settle, valueOf } from "./support/pulumi-mocks";

installPulumiMocks();

const ROOT = path.resolve(__dirname, "../..");
const PKG = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  version: string;
};
const ROLLOUT_CLI = path.join(ROOT, "dist", "programs", "rollout", "cli.js");

describe("one version, from package.json", function () {
  this.timeout(60_000);

  it("is package.json's, read from the package root", () => {
    assert.match(PKG.version, /^\d+\.\d+\.\d+(?:-[\w.]+)?$/);
    assert.equal(PACKAGE_ROOT, ROOT);
    assert.equal(packageVersion(), PKG.version);
  });

  it("`cloudmap-health-checker --version` (and -V) prints it", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), PKG.version);
    }
  });

  it("`cloudmap-health-checker-rollout --version` prints it", async () => {
    const r = await runCli(["--version"], {}, 30_000, [ROLLOUT_CLI]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), PKG.version);
  });

  it("is in /status and in the checker's first log line", async () => {
    assert.equal((new StatusBook(1000, 0).toJSON(0) as { version: string }).version, PKG.version);

    // A namespace that is not there: `run` keeps looking and serves /status meanwhile.
    const listen = `127.0.0.1:${await freePort()}`;
    const run = startCli(
      [],
      {
        NODE_NO_WARNINGS: "1",
        CMHC_NAMESPACE: "no-such-namespace.version.local",
        CMHC_LISTEN: listen,
      },
      [path.join(ROOT, "dist", "checker", "cli.js"), "run"],
    );
    try {
      let body: { version?: string } | undefined;
      for (let i = 0; i < 100 && body === undefined; i++) {
        try {
          const res = await fetch(`http://${listen}/status`);
          body = (await res.json()) as { version?: string };
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(body?.version, PKG.version, run.output());
      const first = JSON.parse(run.output().split("\n")[0]!) as Record<string, unknown>;
      assert.equal(first["version"], PKG.version);
      assert.equal(first["node"], process.versions.node);
      assert.equal(first["msg"], `cloudmap-health-checker ${PKG.version} starting`);
    } finally {
      run.child.kill("SIGTERM");
      assert.equal(await run.exited, 0);
    }
  });

  describe("the image", () => {
    it("labels itself with the VERSION build arg, on Node 24, distroless", () => {
      const stages = dockerStages();
      assert.deepEqual(
        stages.map((s) => s.from),
        ["node:24-bookworm-slim", "gcr.io/distroless/nodejs24-debian12:nonroot"],
      );
      const runtime = stages[stages.length - 1]!;
      assert.ok(runtime.instructions.includes("ARG VERSION"), "VERSION declared in the last stage");
      assert.match(
        runtime.instructions.find((l) => l.startsWith("LABEL ")) ?? "",
        /org\.opencontainers\.image\.version="\$\{VERSION\}"/,
      );
      assert.ok(stages[0]!.instructions.includes("ARG LOCKFILE=package-lock.json"));
    });

    it("takes only what its .dockerignore lets in from the context", () => {
      const own = ignoreRules(`${DOCKERFILE}.dockerignore`);
      assert.equal(own[0], "*", "everything out, then what the image needs");
      assert.deepEqual(ignoreRules(path.join(ROOT, ".dockerignore")), own, "root file agrees");
      const allowed = own.filter((r) => r.startsWith("!")).map((r) => r.slice(1));
      for (const LOCKFILE of ["package-lock.json", PACKED_LOCKFILE]) {
        for (const stage of dockerStages()) {
          for (const c of contextCopies(stage, { LOCKFILE })) {
            assert.ok(allowed.includes(c.source), `${c.source} is let into the context`);
          }
        }
      }
    });

    it("is built from the package root with VERSION and the lockfile it finds there", () => {
      assert.deepEqual(imageBuild(), {
        context: ROOT,
        dockerfile: path.join(ROOT, "checker", "Dockerfile"),
        args: { VERSION: PKG.version, LOCKFILE: "package-lock.json" },
      });
      // An installed package: no root lockfile (npm never packs one), the packed copy instead.
      const installed = mkdtempSync(path.join(tmpdir(), "cmhc-installed-"));
      try {
        writeFileSync(
          path.join(installed, "package.json"),
          JSON.stringify({ name: "cloudmap-health-checker", version: "9.8.7" }),
        );
        mkdirSync(path.join(installed, "dist", "checker"), { recursive: true });
        writeFileSync(path.join(installed, "dist", "checker", "cli.js"), "");
        assert.throws(() => imageBuild(installed), /no package-lock\.json nor dist\/package-lock/);
        cpSync(path.join(ROOT, "package-lock.json"), path.join(installed, PACKED_LOCKFILE));
        assert.deepEqual(imageBuild(installed).args, {
          VERSION: "9.8.7",
          LOCKFILE: PACKED_LOCKFILE,
        });
      } finally {
        rmSync(installed, { recursive: true, force: true });
      }
    });

    it("the component passes them to awsx:ecr:Image", async () => {
      const lib = await import("../components");
      const checker = new lib.CloudMapHealthChecker("ver1", {
        namespaceId: "ns-abc123",
        vpcId: "vpc-1",
        subnetIds: ["subnet-a"],
        ecsClusterArns: ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod"],
      });
      await valueOf(checker.serviceArn);
      await settle();
      const images = childrenOf("ver1").filter((r) => r.type === "awsx:ecr:Image");
      assert.equal(images.length, 1);
      const inputs = images[0]!.inputs;
      assert.equal(inputs["context"], ROOT);
      assert.equal(inputs["dockerfile"], path.join(ROOT, "checker", "Dockerfile"));
      assert.deepEqual(inputs["args"], { VERSION: PKG.version, LOCKFILE: "package-lock.json" });
    });
  });
});
