// The rollout planner: discovered namespaces + existing stacks + options -> what to do with each
// stack. Pure: tested scenario by scenario without I/O.

import type { CheckerSettings } from "../../components";
import { CONFIG_NAMESPACE } from "../stack";
import type { DiscoveredNamespace, Target } from "./types";

/** Settings for every stack (checker settings and image), or for one namespace. */
export type StackSettings = CheckerSettings & {
  readonly image?: string;
  readonly stateTableName?: string;
  readonly desiredCount?: number;
  readonly clusterArn?: string;
};

export interface RolloutOptions {
  readonly stackPrefix: string;
  /** Only these namespaces (name or ID); all when undefined. */
  readonly namespaces: readonly string[] | undefined;
  readonly prune: boolean;
  readonly settings: StackSettings;
  /** Per-namespace settings keyed by namespace name or ID, over `settings`. */
  readonly perNamespace: Readonly<Record<string, StackSettings>>;
}

export interface ExistingStack {
  readonly name: string;
  /** The stack's current config, when known (to tell update from no-op). */
  readonly config?: Readonly<Record<string, string>>;
}

export type StackAction = "create" | "update" | "no-op" | "destroy" | "skip";

export interface PlannedStack {
  readonly name: string;
  readonly action: StackAction;
  readonly accountId: string;
  readonly region: string;
  readonly namespaceId: string | undefined;
  readonly namespaceName: string | undefined;
  readonly roleArn: string | undefined;
  /** Full stack config (`namespace:key` -> value, JSON for structured values). */
  readonly config: Readonly<Record<string, string>>;
  readonly reason: string | undefined;
}

export interface RolloutPlan {
  readonly stacks: readonly PlannedStack[];
}

/** Deterministic: prefix, account, Region, namespace name (made safe for stack names). */
export function stackName(
  prefix: string,
  accountId: string,
  region: string,
  namespace: string,
): string {
  const safe = namespace.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "");
  return `${prefix}-${accountId}-${region}-${safe}`;
}

export function planRollout(input: {
  readonly discovered: readonly DiscoveredNamespace[];
  readonly existing: readonly ExistingStack[];
  /** Account x Region pairs discovered successfully: only their stacks may be pruned. */
  readonly targets: readonly Target[];
  readonly options: RolloutOptions;
}): RolloutPlan {
  const { options } = input;
  const existing = new Map(input.existing.map((s) => [s.name, s]));
  const roleOf = new Map(input.targets.map((t) => [`${t.accountId}/${t.region}`, t.roleArn]));
  const wanted = new Set<string>();
  const stacks: PlannedStack[] = [];

  const selected = input.discovered.filter(
    (d) =>
      options.namespaces === undefined ||
      options.namespaces.includes(d.namespaceName) ||
      options.namespaces.includes(d.namespaceId),
  );
  for (const d of [...selected].sort(byName(options.stackPrefix))) {
    const name = stackName(options.stackPrefix, d.accountId, d.region, d.namespaceName);
    wanted.add(name);
    const roleArn = roleOf.get(`${d.accountId}/${d.region}`);
    const base = {
      name,
      accountId: d.accountId,
      region: d.region,
      namespaceId: d.namespaceId,
      namespaceName: d.namespaceName,
      roleArn,
    };
    if (d.problem !== undefined || d.placement === undefined) {
      stacks.push({
        ...base,
        action: "skip",
        config: {},
        reason: d.problem ?? "no placement found",
      });
      continue;
    }
    const config = stackConfig(d, roleArn, {
      ...options.settings,
      ...options.perNamespace[d.namespaceName],
      ...options.perNamespace[d.namespaceId],
    });
    const current = existing.get(name);
    const action: StackAction =
      current === undefined
        ? "create"
        : current.config && sameConfig(current.config, config)
          ? "no-op"
          : "update";
    stacks.push({ ...base, action, config, reason: undefined });
  }

  if (options.prune) {
    for (const s of [...input.existing].sort((a, b) => a.name.localeCompare(b.name))) {
      if (wanted.has(s.name) || !s.name.startsWith(`${options.stackPrefix}-`)) continue;
      // Never prune in an account or Region whose discovery failed or was not asked for.
      const target = input.targets.find((t) =>
        s.name.startsWith(`${options.stackPrefix}-${t.accountId}-${t.region}-`),
      );
      if (!target) continue;
      stacks.push({
        name: s.name,
        action: "destroy",
        accountId: target.accountId,
        region: target.region,
        namespaceId: undefined,
        namespaceName: undefined,
        roleArn: target.roleArn,
        config: s.config ?? {},
        reason: "its namespace no longer exists (or no longer uses Service Connect)",
      });
    }
  }
  return { stacks };
}

function byName(prefix: string) {
  return (a: DiscoveredNamespace, b: DiscoveredNamespace): number =>
    stackName(prefix, a.accountId, a.region, a.namespaceName).localeCompare(
      stackName(prefix, b.accountId, b.region, b.namespaceName),
    );
}

/** The stack config the inline program reads (see programs/stack.ts), plus the account guard. */
export function stackConfig(
  d: DiscoveredNamespace,
  roleArn: string | undefined,
  settings: StackSettings,
): Record<string, string> {
  const p = d.placement!;
  const key = (k: string): string => `${CONFIG_NAMESPACE}:${k}`;
  const config: Record<string, string> = {
    "aws:region": d.region,
    // The provider refuses to touch any other account, whatever the credentials.
    "aws:allowedAccountIds": JSON.stringify([d.accountId]),
    [key("name")]: "checker",
    [key("namespaceId")]: d.namespaceId,
    [key("vpcId")]: p.vpcId,
    [key("subnetIds")]: JSON.stringify(p.subnetIds),
    [key("ecsClusterArns")]: JSON.stringify(p.clusterArns),
  };
  if (roleArn)
    config["aws:assumeRoles"] = JSON.stringify([
      { roleArn, sessionName: "cloudmap-health-checker-rollout" },
    ]);
  if (p.targetSecurityGroupIds.length > 0 && p.ports.length > 0) {
    config[key("targetSecurityGroupIds")] = JSON.stringify(p.targetSecurityGroupIds);
    config[key("targetPorts")] = JSON.stringify(p.ports);
  }
  for (const [k, v] of Object.entries(settings)) {
    if (v === undefined) continue;
    config[key(k)] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => a.localeCompare(b)));
}

function sameConfig(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
