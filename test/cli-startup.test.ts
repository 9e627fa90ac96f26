// Start-up mistakes a user makes, each refused with exit code 2 and the setting to fix named;
// and a namespace that does not exist yet, which `run` waits for in the open.

import { strict as assert } from "node:assert";
import net from "node:net";
import { freePort } from "./support/moto";
import { moto } from "./support/root-hooks";
import { runCli, startCli } from "./support/cli-process";
import { World } from "./support/world";
import { retryDelayMs } from "../checker/startup";
import { editDistance, unknownVariables } from "../checker/config";

const QUIET = { NODE_NO_WARNINGS: "1" };

async function occupiedPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function until(what: string, test: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("CLI start-up errors", function () {
  this.timeout(30_000);

  describe("usage", () => {
    it("refuses an unknown flag, naming it", async () => {
      const r = await runCli(["run", "--namespace", "ns-x", "--intervall", "5s"], QUIET);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown option '--intervall'/);
      assert.match(r.stderr, /--interval/, "commander suggests the flag meant");
    });

    it("refuses an unknown subcommand, naming it", async () => {
      const r = await runCli(["rnu", "--namespace", "ns-x"], QUIET);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown command 'rnu'/);
    });

    it("refuses a flag without a value, at the end or followed by another flag", async () => {
      const last = await runCli(["once", "--namespace"], QUIET);
      assert.equal(last.code, 2);
      assert.match(last.stderr, /--namespace <id-or-name>' argument missing/);
      const before = await runCli(["once", "--namespace", "--interval", "5s"], QUIET);
      assert.equal(before.code, 2);
      assert.match(before.stderr, /That is a flag: --namespace has no value/);
    });

    it("still answers --help with exit code 0", async () => {
      const r = await runCli(["run", "--help"], QUIET);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--namespace <id-or-name>/);
    });
  });

  describe("--listen", () => {
    it("refuses an address already in use, naming --listen / CMHC_LISTEN", async () => {
      const taken = await occupiedPort();
      try {
        const r = await runCli(["run", "--namespace", "ns-x"], {
          ...QUIET,
          CMHC_LISTEN: `127.0.0.1:${taken.port}`,
        });
        assert.equal(r.code, 2, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(`--listen / CMHC_LISTEN: 127.0.0.1:${taken.port} is already in use`),
        );
      } finally {
        await taken.close();
      }
    });

    it("refuses an address that is not this host's", async () => {
      // 192.0.2.0/24 is TEST-NET-1: never assigned to a host.
      const r = await runCli(["run", "--namespace", "ns-x", "--listen", "192.0.2.7:9000"], QUIET);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--listen \/ CMHC_LISTEN: 192.0.2.7 is not an address of this host/);
    });
  });

  describe("init-state", () => {
    for (const name of ["a", "bad name!"]) {
      it(`refuses the table name ${JSON.stringify(name)} that run would refuse`, async () => {
        const flag = await runCli(["init-state", "--state-table", name], QUIET);
        assert.equal(flag.code, 2);
        assert.match(flag.stderr, /--state-table \/ CMHC_STATE_TABLE: expected a DynamoDB table/);
        const env = await runCli(["init-state"], { ...QUIET, CMHC_STATE_TABLE: name });
        assert.equal(env.code, 2);
        assert.match(env.stderr, /CMHC_STATE_TABLE/);
        const run = await runCli(["once", "--namespace", "ns-x", "--state-table", name], QUIET);
        assert.equal(run.code, 2, "the same parser as run");
      });
    }

    it("requires a table, naming the flag and the variable", async () => {
      const r = await runCli(["init-state"], { ...QUIET, CMHC_STATE_TABLE: "" });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--state-table \/ CMHC_STATE_TABLE: required/);
    });
  });

  describe("misspelled variables", () => {
    it("finds CMHC_* variables that are no setting, with the closest setting", () => {
      const env = { CMHC_INTERVALL: "5s", CMHC_INTERVAL: "1s", HOME: "/root", cmhc_timeot: "1s" };
      assert.deepEqual(unknownVariables(env), [
        { name: "CMHC_INTERVALL", closest: "CMHC_INTERVAL" },
        { name: "cmhc_timeot", closest: "CMHC_TIMEOUT" },
      ]);
      assert.equal(editDistance("kitten", "sitting"), 3);
    });

    it("warns at start about CMHC_INTERVALL, naming CMHC_INTERVAL", async () => {
      const r = await runCli(["once"], { ...QUIET, CMHC_NAMESPACE: "", CMHC_INTERVALL: "5s" });
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /CMHC_INTERVALL is not a setting of the checker and is ignored; did you mean CMHC_INTERVAL\?/,
      );
    });
  });

  describe("namespace lookup back-off", () => {
    it("doubles from 1 s to a minute, drawn from the upper half of each step", () => {
      assert.deepEqual(
        [1, 2, 3, 7, 8, 30].map((a) => retryDelayMs(a, () => 0)),
        [500, 1000, 2000, 30_000, 30_000, 30_000],
      );
      assert.deepEqual(
        [1, 2, 3, 7, 8, 30].map((a) => retryDelayMs(a, () => 0.999999)),
        [1000, 2000, 4000, 60_000, 60_000, 60_000],
      );
    });
  });

  describe("a namespace that does not exist (moto)", () => {
    beforeEach(async () => moto().reset());

    it("`once` exits 2, naming the namespace given and the setting", async () => {
      const r = await runCli(["once", "--namespace", "no-such-namespace"], QUIET);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /--namespace \/ CMHC_NAMESPACE: no Cloud Map namespace named "no-such-namespace" in Region/,
      );
      assert.equal(r.stdout, "");
    });

    it("`run` warns with the name and a hint, answers 503 'namespace not found', and starts once it exists", async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const cli = startCli(["run", "--namespace", "late.local"], {
        ...QUIET,
        CMHC_INTERVAL: "500ms",
        CMHC_TIMEOUT: "200ms",
        CMHC_LISTEN: `127.0.0.1:${port}`,
        CMHC_TIMEOT: "1s",
      });
      try {
        const warnings = (): Array<{ level: string; namespace?: string; msg: string }> =>
          cli
            .output()
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as { level: string; namespace?: string; msg: string })
            .filter((l) => l.level === "warn" && l.namespace === "late.local");
        await until("the warning", async () => warnings().length > 0).catch((e: Error) => {
          throw new Error(`${e.message}\n${cli.output()}`);
        });
        const warning = warnings()[0]!;
        assert.match(warning.msg, /no Cloud Map namespace named "late.local"/);
        assert.match(warning.msg, /the checker keeps looking/);
        assert.match(warning.msg, /--namespace \/ CMHC_NAMESPACE/);
        assert.match(cli.output(), /"variable":"CMHC_TIMEOT","closest":"CMHC_TIMEOUT"/);
        const health = await fetch(`${base}/healthz`);
        assert.equal(health.status, 503);
        assert.match(await health.text(), /namespace not found: "late.local"/);

        // Infrastructure code creates it later: the checker finds it and its cycles begin.
        await new World().init("late.local");
        await until("/healthz 200", async () => (await fetch(`${base}/healthz`)).status === 200);
        const status = (await (await fetch(`${base}/status?instances=false`)).json()) as {
          namespace?: { name: string };
        };
        assert.equal(status.namespace?.name, "late.local");
      } finally {
        cli.child.kill("SIGTERM");
        assert.equal(await cli.exited, 0);
      }
    });
  });
});
