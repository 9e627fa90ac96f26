// The image's contract, without a Docker engine: lay out /app from the build context as the
// Dockerfile's COPY steps say (with the build args the component passes), run its RUN steps
// (production dependencies only, Pulumi SDKs dropped), then run the checker from there.

import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { imageBuild } from "../components/image-build";
import { checkHealth } from "../checker/healthcheck";
import { runCli, startCli } from "./support/cli-process";
import { contextCopies, dockerStages, runCommands } from "./support/dockerfile";
import { freePort } from "./support/moto";
import { moto } from "./support/root-hooks";
import { startHttpTarget, type HttpTarget } from "./support/targets";
import { World } from "./support/world";

const ROOT = path.resolve(__dirname, "../..");

describe("container image contract", function () {
  this.timeout(300_000);
  let app: string;
  let cli: string;
  const targets: HttpTarget[] = [];

  before(() => {
    app = mkdtempSync(path.join(tmpdir(), "cmhc-image-"));
    const build = imageBuild(ROOT);
    const [deps, runtime] = dockerStages();
    const copy = (stage: NonNullable<typeof deps>): void => {
      for (const c of contextCopies(stage, build.args)) {
        cpSync(path.join(build.context, c.source), path.join(app, c.target), { recursive: true });
      }
    };
    // The deps stage, then the runtime stage's own copies over it (its node_modules is the
    // deps stage's), as the image is put together.
    copy(deps!);
    for (const [cmd, ...args] of runCommands(deps!)) {
      execFileSync(cmd!, args, {
        cwd: app,
        stdio: "ignore",
        env: { ...process.env, npm_config_prefer_offline: "true" },
      });
    }
    copy(runtime!);
    cli = path.join(app, "dist", "checker", "cli.js");
  });
  after(async () => {
    await Promise.all(targets.map((t) => t.close()));
    rmSync(app, { recursive: true, force: true });
  });

  it("builds in stages, runs as non-root, stops on SIGTERM, ships no shell entrypoint", () => {
    const dockerfile = readFileSync(path.join(ROOT, "checker", "Dockerfile"), "utf8");
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, "multi-stage");
    assert.match(dockerfile, /npm install --omit=dev --ignore-scripts/);
    assert.match(dockerfile, /^USER 1000:1000$/m);
    assert.match(dockerfile, /^STOPSIGNAL SIGTERM$/m);
    assert.match(
      dockerfile,
      /^ENTRYPOINT \["\/nodejs\/bin\/node", "\/app\/dist\/checker\/cli\.js"\]$/m,
    );
    assert.match(dockerfile, /distroless/);
  });

  it("carries no development dependency and no Pulumi SDK, nor what only Pulumi needs", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    for (const dev of Object.keys(pkg.devDependencies)) {
      assert.equal(
        existsSync(path.join(app, "node_modules", dev)),
        false,
        `${dev} is a dev dependency`,
      );
    }
    assert.equal(existsSync(path.join(app, "node_modules", "@pulumi")), false);
    assert.equal(
      existsSync(path.join(app, "node_modules", "@grpc")),
      false,
      "Pulumi's gRPC stack is gone",
    );
  });

  it("answers --help from the installed tree", async () => {
    const r = await runCli(["--help"], {}, 20_000, [cli]);
    assert.equal(r.code, 0, r.stderr);
    for (const cmd of ["run", "once", "init-state"])
      assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
  });

  it("runs a cycle against the emulator from the installed tree, and its health check works", async () => {
    await moto().reset();
    const world = await new World().init("image.local");
    const svc = await world.serviceConnectService("api");
    for (const [i, id] of (await world.runTasks("api", 2)).entries()) {
      const t = await startHttpTarget({ host: `127.0.90.${i + 1}` });
      targets.push(t);
      await world.registerTask(svc, id, t);
    }
    const once = await runCli(
      ["once", "--namespace", "image.local", "--interval", "1s", "--timeout", "300ms"],
      { NODE_NO_WARNINGS: "1" },
      30_000,
      [cli],
    );
    assert.equal(once.code, 0, once.stderr);
    const report = JSON.parse(once.stdout) as { services: Array<{ instances: unknown[] }> };
    assert.equal(report.services[0]!.instances.length, 2);

    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const run = startCli(
      [],
      { NODE_NO_WARNINGS: "1", CMHC_NAMESPACE: "image.local", CMHC_LISTEN: listen },
      [cli, "run"],
    );
    try {
      let healthy = false;
      for (let i = 0; i < 50 && !healthy; i++) {
        healthy = await checkHealth(listen, 1000);
        if (!healthy) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(healthy, true, run.output());
      const script = await runCli([], { CMHC_LISTEN: listen }, 10_000, [
        path.join(app, "dist", "checker", "healthcheck.js"),
      ]);
      assert.equal(script.code, 0, "the container health check command passes");
    } finally {
      run.child.kill("SIGTERM");
      assert.equal(await run.exited, 0);
    }
    assert.equal(await checkHealth(listen, 1000), false, "nothing listens any more");
  });
});
