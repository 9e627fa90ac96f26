// The README's configuration reference must match the option schema the checker parses.

import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import { OPTIONS } from "../checker/config";
import { DIMENSION, METRICS, RECORDS } from "../checker/observability/metric-catalog";

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

  it("documents every CloudWatch metric with the records and dimensions that carry it", () => {
    const from = readme.indexOf("## CloudWatch metrics, dashboard and alarms");
    const section = readme.slice(from, readme.indexOf("\n## ", from + 1));
    // The records' table comes before the subsections (the alarms have their own).
    const table = section
      .slice(0, section.indexOf("\n### "))
      .split("\n")
      .filter((l) => l.startsWith("| `"));
    for (const [kind, spec] of Object.entries(RECORDS)) {
      const row = table.find((r) => r.startsWith(`| \`${kind}\``));
      assert.ok(row, `README has no row for the ${kind} record`);
      for (const name of spec.metrics) assert.ok(row.includes(`\`${name}\``), `${kind}: ${name}`);
      for (const d of spec.dimensionSets.flat())
        assert.ok(row.includes(`\`${d}\``), `${kind}: ${d}`);
    }
    assert.equal(
      table.length,
      Object.keys(RECORDS).length,
      "README documents a record the checker lacks",
    );
    for (const name of Object.keys(METRICS)) assert.ok(section.includes(`\`${name}\``), name);
    assert.ok(section.includes(`| filter emf = "action"`));
    assert.ok(Object.values(DIMENSION).every((d) => section.includes(`\`${d}\``)));
  });

  it("gives the test command that CI runs", () => {
    assert.match(readme, /npm ci && npm test/);
    assert.match(readFileSync(path.resolve(__dirname, "../../.ci/run"), "utf8"), /npm test/);
  });
});
