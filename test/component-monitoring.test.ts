// The component's CloudWatch dashboard and alarms under pulumi.runtime.setMocks: they name only
// metrics the checker writes (the shared catalog), follow the interval, notify only where told,
// and leave IAM as it was.

import { strict as assert } from "node:assert";
import {
  DIMENSION,
  isEmitted,
  METRIC_NAMESPACE,
  RECORD_KIND_FIELD,
} from "../checker/observability/metric-catalog";
import {
  ACCOUNT,
  childrenOf,
  installPulumiMocks,
  REGION,
  settle,
  valueOf,
  type MockResource,
} from "./support/pulumi-mocks";

installPulumiMocks();

type Components = typeof import("../components");
type Args = import("../components").CloudMapHealthCheckerArgs;

const NS_ID = "ns-mon4711";
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:checker-alarms`;
const PAGER = `arn:aws:sns:${REGION}:${ACCOUNT}:pager`;
const BASE: Args = {
  namespaceId: NS_ID,
  vpcId: "vpc-1",
  subnetIds: ["subnet-a"],
  ecsClusterArns: [CLUSTER],
  image: "public.ecr.aws/example/cloudmap-health-checker:1.0.0",
};
const ALARMS = ["degraded", "noCycle", "outOfRotation", "replacementsHeld"];
const ALARM_TYPE = "aws:cloudwatch/metricAlarm:MetricAlarm";
const DASHBOARD_TYPE = "aws:cloudwatch/dashboard:Dashboard";

interface Widget {
  type: string;
  properties: Record<string, unknown>;
}

/** A metric a dashboard names: in a `metrics` row, or a SEARCH expression's schema. */
interface Named {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  /** SEARCH only: the exact term it filters on. */
  term?: string;
}

const SEARCH = /^SEARCH\('\{([^}]*)\} MetricName="([^"]+)" "([^"]+)"', '(\w+)', (\d+)\)$/;

/** Every metric the body's metric widgets name; fails on a row it cannot read. */
function namedMetrics(widgets: Widget[]): Named[] {
  const out: Named[] = [];
  for (const w of widgets.filter((x) => x.type === "metric")) {
    for (const row of w.properties["metrics"] as unknown[][]) {
      const head = row[0];
      if (typeof head === "object" && head !== null) {
        const expression = String((head as { expression?: unknown }).expression);
        // Arithmetic on the widget's own rows (by id) names no metric of its own.
        const ids = (w.properties["metrics"] as unknown[][]).flatMap((r) => {
          const o = r[r.length - 1] as { id?: unknown } | undefined;
          return typeof o === "object" && o !== null && typeof o.id === "string" ? [o.id] : [];
        });
        const math = /^([a-z]\w*) \/ (\d+)$/.exec(expression);
        if (math) {
          assert.ok(ids.includes(math[1]!), `${expression}: no row with id ${math[1]}`);
          continue;
        }
        const m = SEARCH.exec(expression);
        assert.ok(m, `unreadable expression ${expression}`);
        const [namespace, ...dims] = m[1]!.split(",");
        out.push({
          namespace: namespace!,
          name: m[2]!,
          dimensions: Object.fromEntries(dims.map((d) => [d, "*"])),
          term: m[3]!,
        });
        continue;
      }
      const [namespace, name, ...rest] = row;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < rest.length && typeof rest[i] === "string"; i += 2) {
        dimensions[String(rest[i])] = String(rest[i + 1]);
      }
      assert.notEqual(namespace, ".", "no shorthand rows: each names its metric in full");
      out.push({ namespace: String(namespace), name: String(name), dimensions });
    }
  }
  return out;
}

/** Each metric named is the checker's (as emitted, on this namespace) or the checker's tasks. */
function assertOnlyEmitted(widgets: Widget[], own: { cluster: string; service: string }): void {
  for (const m of namedMetrics(widgets)) {
    const where = `${m.namespace} ${m.name} ${JSON.stringify(m.dimensions)}`;
    if (m.namespace === METRIC_NAMESPACE) {
      assert.ok(isEmitted(m.name, Object.keys(m.dimensions)), `not emitted: ${where}`);
      if (m.term !== undefined) assert.equal(m.term, NS_ID, `${where}: this namespace only`);
      else assert.equal(m.dimensions[DIMENSION.namespace], NS_ID, `${where}: this namespace`);
    } else {
      assert.equal(m.namespace, "ECS/ContainerInsights", where);
      assert.ok(["RunningTaskCount", "DesiredTaskCount"].includes(m.name), where);
      assert.deepEqual(m.dimensions, { ClusterName: own.cluster, ServiceName: own.service }, where);
    }
  }
}

describe("CloudMapHealthChecker dashboard and alarms (mocks)", function () {
  this.timeout(30_000);
  let lib: Components;
  let counter = 0;

  before(async () => {
    lib = await import("../components");
  });

  async function make(extra: Partial<Args> = {}) {
    const name = `mon${++counter}`;
    const checker = new lib.CloudMapHealthChecker(name, { ...BASE, ...extra });
    await valueOf(checker.serviceArn);
    await valueOf(checker.alarmArns);
    await settle();
    const children = childrenOf(name);
    const ofType = (type: string): MockResource[] => children.filter((r) => r.type === type);
    const alarm = (key: string): MockResource => {
      const found = ofType(ALARM_TYPE).filter((r) => r.name === `${name}-alarm-${key}`);
      assert.equal(found.length, 1, `one ${key} alarm`);
      return found[0]!;
    };
    const widgets = (): Widget[] => {
      const dashboards = ofType(DASHBOARD_TYPE);
      assert.equal(dashboards.length, 1, "one dashboard");
      return (JSON.parse(String(dashboards[0]!.inputs["dashboardBody"])) as { widgets: Widget[] })
        .widgets;
    };
    const policy = (suffix: string): string =>
      // The component's own name is in its resources' ARNs: compare the rest.
      String(
        children.find(
          (r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === `${name}-${suffix}`,
        )!.inputs["policy"],
      ).replaceAll(name, "NAME");
    return { name, checker, children, ofType, alarm, widgets, policy };
  }

  it("dashboard: names only metrics the checker emits, on this namespace, and the checker's own tasks", async () => {
    const c = await make();
    const widgets = c.widgets();
    const own = { cluster: `${c.name}-cluster`, service: `${c.name}-service` };
    assertOnlyEmitted(widgets, own);

    const named = namedMetrics(widgets);
    const names = new Set(named.map((m) => m.name));
    for (const shown of [
      "InstancesInRotation",
      "InstancesOutOfRotation",
      "Deregistrations",
      "Registrations",
      "MarkedUnhealthy",
      "MarkedHealthy",
      "TasksStopped",
      "HeldActions",
      "CycleDuration",
      "Degraded",
      "Cycles",
      "ProbeFailures",
      "ProbeLocalErrors",
      "StateStoreErrors",
      "RunningTaskCount",
      "DesiredTaskCount",
    ]) {
      assert.ok(names.has(shown), `the dashboard shows ${shown}`);
    }
    const bySearch = named.filter((m) => m.term !== undefined).map((m) => [m.name, m.dimensions]);
    assert.deepEqual(bySearch, [
      ["InstancesInRotation", { [DIMENSION.namespace]: "*", Service: "*" }],
      ["InstancesOutOfRotation", { [DIMENSION.namespace]: "*", Service: "*" }],
      ["HeldActions", { [DIMENSION.namespace]: "*", Rule: "*" }],
    ]);
    for (const w of widgets.filter((x) => x.type !== "alarm")) {
      assert.equal(w.properties["region"], REGION);
    }

    // The check itself catches a metric the checker does not write, or another namespace's.
    const tampered = (row: unknown[]): Widget[] => [
      ...widgets,
      { type: "metric", properties: { metrics: [row] } },
    ];
    assert.throws(() =>
      assertOnlyEmitted(tampered([METRIC_NAMESPACE, "Nope", DIMENSION.namespace, NS_ID]), own),
    );
    assert.throws(() =>
      assertOnlyEmitted(
        tampered([METRIC_NAMESPACE, "HeldActions", DIMENSION.namespace, NS_ID, "Service", "api"]),
        own,
      ),
    );
    assert.throws(() =>
      assertOnlyEmitted(
        tampered([METRIC_NAMESPACE, "Cycles", DIMENSION.namespace, "ns-other"]),
        own,
      ),
    );
    assert.throws(() =>
      assertOnlyEmitted(tampered(["AWS/ECS", "CPUUtilization", "ClusterName", own.cluster]), own),
    );
  });

  it("dashboard: cycle time against the interval, alarm states, and the last actions from the logs", async () => {
    const c = await make({ interval: "2m", clusterArn: CLUSTER });
    const widgets = c.widgets();
    const metricWidgets = widgets.filter((w) => w.type === "metric");
    const duration = metricWidgets.find((w) => String(w.properties["title"]).includes("duration"))!;
    assert.deepEqual(duration.properties["annotations"], {
      horizontal: [{ label: "interval", value: 120_000 }],
    });
    const stats = (duration.properties["metrics"] as unknown[][]).map(
      (row) => (row.at(-1) as { stat: string }).stat,
    );
    assert.deepEqual(stats.sort(), ["Average", "Maximum"]);
    // Graphs of the checker's metrics use the alarms' period: whole minutes covering a cycle.
    for (const w of metricWidgets)
      assert.equal(w.properties["period"], 120, String(w.properties["title"]));
    const tasks = metricWidgets.find((w) => String(w.properties["title"]).includes("tasks"))!;
    assert.match(String(tasks.properties["title"]), /Container Insights/);
    assertOnlyEmitted(widgets, { cluster: "prod", service: `${c.name}-service` });

    const alarmWidget = widgets.filter((w) => w.type === "alarm");
    assert.equal(alarmWidget.length, 1);
    const arns = await valueOf(c.checker.alarmArns);
    assert.deepEqual(
      alarmWidget[0]!.properties["alarms"],
      ALARMS.map((k) => arns[k]),
    );

    const logs = widgets.filter((w) => w.type === "log");
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.properties["region"], REGION);
    assert.equal(
      logs[0]!.properties["query"],
      `SOURCE '${c.name}-logs' | fields @timestamp, Service, kind, status, instanceId, outcome, reason | filter ${RECORD_KIND_FIELD} = "action" | sort @timestamp desc | limit 50`,
    );
    assert.equal(RECORD_KIND_FIELD, "emf");
  });

  // Interval -> period P (whole minutes), and per alarm: threshold and evaluation periods.
  const EXPECTED: Record<
    string,
    { period: number; degraded: [number, number]; noCycle: number; outOfRotation: number }
  > = {
    // 6 cycles a minute: 3 degraded in one minute; 1 minute without a cycle is 6 intervals.
    "10s": { period: 60, degraded: [3, 1], noCycle: 1, outOfRotation: 15 },
    "7s": { period: 60, degraded: [3, 1], noCycle: 1, outOfRotation: 15 },
    // 2 cycles a minute: 2 degraded in each of 2 minutes; 3 intervals are 90 s: 2 minutes.
    "30s": { period: 60, degraded: [2, 2], noCycle: 2, outOfRotation: 15 },
    "90s": { period: 120, degraded: [1, 3], noCycle: 3, outOfRotation: 8 },
    "2m": { period: 120, degraded: [1, 3], noCycle: 3, outOfRotation: 8 },
    "5m": { period: 300, degraded: [1, 3], noCycle: 3, outOfRotation: 3 },
  };

  for (const [interval, want] of Object.entries(EXPECTED)) {
    it(`alarms follow the interval: ${interval}`, async () => {
      const c = await make({ interval });
      assert.equal(c.ofType(ALARM_TYPE).length, 4);
      const expect: Record<string, Record<string, unknown>> = {
        degraded: {
          metricName: "Degraded",
          statistic: "Sum",
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: want.degraded[0],
          evaluationPeriods: want.degraded[1],
          datapointsToAlarm: want.degraded[1],
          treatMissingData: "notBreaching",
        },
        noCycle: {
          metricName: "Cycles",
          statistic: "Sum",
          comparisonOperator: "LessThanThreshold",
          threshold: 1,
          evaluationPeriods: want.noCycle,
          datapointsToAlarm: want.noCycle,
          treatMissingData: "breaching",
        },
        outOfRotation: {
          metricName: "InstancesOutOfRotation",
          statistic: "Minimum",
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
          evaluationPeriods: want.outOfRotation,
          datapointsToAlarm: want.outOfRotation,
          treatMissingData: "notBreaching",
        },
        replacementsHeld: {
          metricName: "ReplacementsHeld",
          statistic: "Maximum",
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: "notBreaching",
        },
      };
      for (const key of ALARMS) {
        const inputs = c.alarm(key).inputs;
        const got = Object.fromEntries(Object.keys(expect[key]!).map((k) => [k, inputs[k]]));
        assert.deepEqual(got, expect[key], `${interval} ${key}`);
        assert.equal(inputs["period"], want.period, `${interval} ${key} period`);
        assert.equal(inputs["namespace"], METRIC_NAMESPACE);
        const dimensions = inputs["dimensions"] as Record<string, string>;
        assert.deepEqual(dimensions, { [DIMENSION.namespace]: NS_ID });
        assert.ok(
          isEmitted(String(inputs["metricName"]), Object.keys(dimensions)),
          `${key} watches a metric the checker writes`,
        );
        assert.equal(inputs["name"], `cmhc-${c.name}-${NS_ID}-${key}`);
        assert.match(String(inputs["alarmDescription"]), new RegExp(NS_ID));
        assert.match(String(inputs["alarmDescription"]), /\/status|log group/);
        assert.equal(
          (inputs["tags"] as Record<string, string>)["app:name"],
          "cloudmap-health-checker",
        );
      }
    });
  }

  it("notifies only where told: a topic both ways, other actions on alarm only", async () => {
    const actions = async (extra: Partial<Args>) => {
      const c = await make(extra);
      return ALARMS.map((k) => {
        const inputs = c.alarm(k).inputs;
        return [inputs["alarmActions"] ?? [], inputs["okActions"] ?? []];
      });
    };
    for (const got of await actions({})) assert.deepEqual(got, [[], []], "none given: none");
    for (const got of await actions({ alarmTopicArn: TOPIC }))
      assert.deepEqual(got, [[TOPIC], [TOPIC]]);
    for (const got of await actions({ alarmActions: [PAGER] }))
      assert.deepEqual(got, [[PAGER], []]);
    for (const got of await actions({ alarmTopicArn: TOPIC, alarmActions: [PAGER] }))
      assert.deepEqual(got, [[TOPIC, PAGER], [TOPIC]]);
  });

  it("creates no alarms, no dashboard, or neither, as asked, and none without metrics", async () => {
    const noAlarms = await make({ alarms: false });
    assert.equal(noAlarms.ofType(ALARM_TYPE).length, 0);
    assert.equal(noAlarms.widgets().filter((w) => w.type === "alarm").length, 0);
    assert.deepEqual(await valueOf(noAlarms.checker.alarmArns), {});
    assert.ok(await valueOf(noAlarms.checker.dashboardName));

    const noDashboard = await make({ dashboard: false });
    assert.equal(noDashboard.ofType(DASHBOARD_TYPE).length, 0);
    assert.equal(await valueOf(noDashboard.checker.dashboardName), undefined);
    assert.equal(noDashboard.ofType(ALARM_TYPE).length, 4);

    const off = await make({ metricsFormat: "off" });
    assert.equal(off.ofType(ALARM_TYPE).length, 0);
    assert.equal(off.ofType(DASHBOARD_TYPE).length, 0);
    assert.deepEqual(await valueOf(off.checker.alarmArns), {});
    const emf = await make({ metricsFormat: "emf" });
    assert.equal(emf.ofType(ALARM_TYPE).length, 4);
    assert.equal(emf.ofType(DASHBOARD_TYPE).length, 1);
  });

  it("refuses monitoring that would watch nothing or notify nobody, naming the args", () => {
    const attempt = (args: Partial<Args>): string => {
      try {
        new lib.CloudMapHealthChecker(`monbad${++counter}`, { ...BASE, ...args });
      } catch (err) {
        return (err as Error).message;
      }
      return assert.fail("expected the constructor to throw");
    };
    assert.match(
      attempt({ metricsFormat: "off", alarms: true }),
      /`alarms` needs the checker's metrics, and `metricsFormat` is "off"/,
    );
    assert.match(
      attempt({ metricsFormat: "off", dashboard: true }),
      /`dashboard` needs the checker's metrics, and `metricsFormat` is "off"/,
    );
    assert.match(
      attempt({ alarms: false, alarmTopicArn: TOPIC }),
      /`alarmTopicArn` is given, but `alarms` is false/,
    );
    assert.match(
      attempt({ alarms: false, alarmActions: [PAGER] }),
      /`alarmActions` is given, but `alarms` is false/,
    );
    assert.match(
      attempt({ metricsFormat: "off", alarmTopicArn: TOPIC }),
      /`alarmTopicArn` is given, but `metricsFormat` "off" creates no alarm/,
    );
  });

  it("leaves IAM unchanged: EMF needs no grant, and the roles get no CloudWatch action", async () => {
    const on = await make({ alarmTopicArn: TOPIC });
    const off = await make({ alarms: false, dashboard: false });
    const noMetrics = await make({ metricsFormat: "off" });
    assert.equal(on.ofType(ALARM_TYPE).length, 4, "monitoring is on in the first");
    for (const role of ["task", "execution"]) {
      assert.equal(on.policy(role), off.policy(role), `${role} policy`);
      assert.equal(on.policy(role), noMetrics.policy(role), `${role} policy`);
      const statements = (JSON.parse(on.policy(role)) as { Statement: Array<{ Action: unknown }> })
        .Statement;
      const actions = statements.flatMap((s) => ([] as string[]).concat(s.Action as string));
      assert.ok(actions.length > 0);
      assert.deepEqual(
        actions.filter((a) => a.startsWith("cloudwatch:")),
        [],
        `${role}: no cloudwatch action`,
      );
    }
    const roles = (c: typeof on) => c.ofType("aws:iam/role:Role").length;
    assert.equal(roles(on), roles(off));
  });

  it("outputs the dashboard's name and every alarm's ARN", async () => {
    const c = await make();
    assert.equal(await valueOf(c.checker.dashboardName), `cmhc-${c.name}-${NS_ID}`);
    assert.equal(c.ofType(DASHBOARD_TYPE)[0]!.inputs["dashboardName"], `cmhc-${c.name}-${NS_ID}`);
    const arns = await valueOf(c.checker.alarmArns);
    assert.deepEqual(Object.keys(arns).sort(), [...ALARMS].sort());
    for (const key of ALARMS) {
      assert.equal(arns[key], `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:${c.name}-alarm-${key}`);
    }
  });
});
