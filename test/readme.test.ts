// The README's configuration reference must match the option schema the checker parses.

import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import { OPTIONS } from "../checker/config";

describe("README", () => {
  const readme = readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
  const rows = readme.split("\n").filter((l) => l.startsWith("| `--"));

  it("documents every option with its flag, variable and default", () => {
    for (const o of OPTIONS) {
      const row = rows.find((r) => r.includes(`\`${o.flag}\``));
      assert.ok(row, `README has no row for ${o.flag}`);
      assert.ok(row.includes(`\`${o.env}\``), `${o.flag}: README names another variable`);
      if (o.default !== undefined) {
        assert.ok(row.includes(`\`${o.default}\``), `${o.flag}: README gives another default`);
      }
    }
    assert.equal(rows.length, OPTIONS.length, "README documents an option the checker lacks");
  });

  it("gives the test command that CI runs", () => {
    assert.match(readme, /npm ci && npm test/);
    assert.match(readFileSync(path.resolve(__dirname, "../../.ci/run"), "utf8"), /npm test/);
  });
});
