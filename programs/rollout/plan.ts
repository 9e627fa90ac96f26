// The rollout planner: discovered namespaces + existing stacks + options -> what to do with each
// stack. Pure: tested scenario by scenario without I/O.

import { fingerprint, stackConfig, type StackSettings } from "./stack-config";
import type { DiscoveredNamespace, Target } from "./types";

export type { StackSettings } from "./stack-config";

export interface RolloutOptions {
  readonly stackPrefix: string;
  /** Only these namespaces (name or ID); all when undefined. */
  readonly namespaces: readonly string[] | undefined;
  readonly prune: boolean;
  readonly settings: StackSettings;
  /** Per-namespace settings keyed by namespace name or ID, over `settings`. */
  readonly perNamespace: Readonly<Record<string, StackSettings>>;
  /** Version of this tool (and so of the component): part of each stack's fingerprint. */
  readonly toolVersion: string;
}

export interface ExistingStack {
  readonly name: string;
  /** Fingerprint of the config it was last deployed with, when known (update or no-op). */
  readonly fingerprint?: string;
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
  /** Whether the stack exists now (destroying one that does not is a skip). */
  readonly exists: boolean;
  /** Fingerprint of `config` and the tool version, exported by the deployed stack. */
  readonly fingerprint: string | undefined;
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
  return `${prefix}-${accountId}-${region}-${safeName(namespace)}`;
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
  const names = stackNames(options.stackPrefix, input.discovered);
  // Every namespace that exists keeps its stack, whatever the filter.
  const keep = new Set([...names.values()].flatMap((n) => [n.name, n.plain]));
  const stacks: PlannedStack[] = [];

  const selected = input.discovered.filter((d) =>
    selects(options.namespaces, d.namespaceName, d.namespaceId),
  );
  for (const d of selected) {
    const { name, collides } = names.get(d)!;
    const roleArn = roleOf.get(`${d.accountId}/${d.region}`);
    const current = existing.get(name);
    const base = {
      name,
      accountId: d.accountId,
      region: d.region,
      namespaceId: d.namespaceId,
      namespaceName: d.namespaceName,
      roleArn,
      exists: current !== undefined,
    };
    if (d.problem !== undefined || d.placement === undefined) {
      stacks.push({
        ...base,
        action: "skip",
        fingerprint: undefined,
        config: {},
        reason: d.problem ?? "no placement found",
      });
      continue;
    }
    const settings = {
      ...options.settings,
      ...options.perNamespace[d.namespaceName],
      ...options.perNamespace[d.namespaceId],
    };
    const config = stackConfig(d, roleArn, settings);
    const print = fingerprint(config, options.toolVersion);
    const same = current?.fingerprint === print;
    // Without a pinned image the component builds one from source the fingerprint cannot see.
    const action: StackAction =
      current === undefined ? "create" : same && settings.image ? "no-op" : "update";
    const notes = [
      collides ? "another namespace here has the same name: its ID is in the stack name" : "",
      same && action === "update" ? "same config, but the image is built from source" : "",
    ].filter(Boolean);
    stacks.push({
      ...base,
      action,
      fingerprint: print,
      config,
      reason: notes.length > 0 ? notes.join("; ") : undefined,
    });
  }
  stacks.sort((a, b) => a.name.localeCompare(b.name));

  if (options.prune) {
    for (const s of [...input.existing].sort((a, b) => a.name.localeCompare(b.name))) {
      if (keep.has(s.name) || !s.name.startsWith(`${options.stackPrefix}-`)) continue;
      // Never prune in an account or Region whose discovery failed or was not asked for.
      const target = input.targets.find((t) =>
        s.name.startsWith(`${options.stackPrefix}-${t.accountId}-${t.region}-`),
      );
      if (!target) continue;
      // With a filter, only the stacks the filter names.
      const part = s.name.slice(
        `${options.stackPrefix}-${target.accountId}-${target.region}-`.length,
      );
      if (options.namespaces && !options.namespaces.some((f) => partNames(part, f))) continue;
      stacks.push({
        name: s.name,
        action: "destroy",
        accountId: target.accountId,
        region: target.region,
        namespaceId: undefined,
        namespaceName: undefined,
        roleArn: target.roleArn,
        exists: true,
        fingerprint: undefined,
        config: {},
        reason: "its namespace no longer exists (or no longer uses Service Connect)",
      });
    }
  }
  return { stacks };
}

function selects(filter: readonly string[] | undefined, name: string, id: string): boolean {
  return filter === undefined || filter.includes(name) || filter.includes(id);
}

/** Whether the namespace part of a stack name is that of namespace name or ID `f`. */
function partNames(part: string, f: string): boolean {
  if (part === safeName(f)) return true;
  // Names that collided carry the namespace ID.
  return /^ns-[0-9a-z]+$/.test(f)
    ? part.endsWith(`-${f}`)
    : new RegExp(`^${escape(safeName(f))}-ns-[0-9a-z]+$`).test(part);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function safeName(namespace: string): string {
  return namespace.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * Stack names of every discovered namespace. Namespaces that would share one (private DNS
 * namespaces of the same name in different VPCs) all get their namespace ID appended, so each
 * name stays deterministic and distinct; `plain` is the shared name, never pruned.
 */
function stackNames(
  prefix: string,
  discovered: readonly DiscoveredNamespace[],
): Map<DiscoveredNamespace, { name: string; plain: string; collides: boolean }> {
  const plain = (d: DiscoveredNamespace): string =>
    stackName(prefix, d.accountId, d.region, d.namespaceName);
  const count = new Map<string, number>();
  for (const d of discovered) count.set(plain(d), (count.get(plain(d)) ?? 0) + 1);
  return new Map(
    discovered.map((d) => {
      const collides = count.get(plain(d))! > 1;
      const name = collides ? `${plain(d)}-${d.namespaceId}` : plain(d);
      return [d, { name, plain: plain(d), collides }];
    }),
  );
}
