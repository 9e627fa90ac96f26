// Pure transforms of what the read step saw: each service's listing into the instances to
// consider (with where to probe them), those into the cycle's probes, and listings, ECS answers
// and probe results into the planner's observations.

import { serviceSettings, type CheckerConfig } from "../config";
import {
  instanceKey,
  type CheckSpec,
  type InstanceObservation,
  type InstanceRecord,
  type InstanceState,
  type ProbeResult,
  type ProbeTarget,
  type ServiceObservation,
  type ServicePolicy,
  type TaskLookup,
} from "../domain/types";
import type { TaskRef } from "../ports";
import { probeTarget } from "../probe/target";
import type { ServiceSnapshot } from "./reader";

/** ECS task IDs: 32 hex digits, or a UUID for tasks from older ECS accounts. */
const TASK_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** One service's instances this cycle, before ECS state and probes are in. */
export interface Listed {
  readonly snap: ServiceSnapshot;
  readonly check: CheckSpec;
  readonly policy: ServicePolicy;
  readonly instances: readonly ListedInstance[];
}

export interface ListedInstance {
  readonly key: string;
  readonly record: InstanceRecord;
  readonly registered: boolean;
  /** ECS cluster of its task: from the ECS service behind it, or classic `ECS_CLUSTER_NAME`. */
  readonly cluster: string | undefined;
  /** Its ID is an ECS task ID in a known cluster, so DescribeTasks can answer for it. */
  readonly ecsTask: boolean;
  readonly target: ProbeTarget;
}

/** One probe to make this cycle. */
export interface ProbeItem {
  readonly key: string;
  readonly service: string;
  /** Index in `listed` of its service, so a pass plans only what its results touch. */
  readonly listedAt: number;
  /** The configured check; `auto` until read/auto-checks.ts resolves it for this instance. */
  readonly check: CheckSpec;
  readonly policy: ServicePolicy;
  readonly target: ProbeTarget & { ok: true };
  readonly record: InstanceRecord;
}

/**
 * Every instance of a service to consider: those listed, plus those the checker took out itself
 * (`known` states no longer listed), with where to probe each. `keys` caches each listed record's
 * instance key while the reader keeps the record: the same key string every cycle a listing is
 * unchanged, so Map lookups on it hash it once and compare by identity.
 */
export function listService(
  snap: ServiceSnapshot,
  known: readonly InstanceState[],
  config: CheckerConfig,
  keys: WeakMap<InstanceRecord, string>,
): Listed {
  const { check, policy } = serviceSettings(config, snap.info.name);
  const entry = (record: InstanceRecord, registered: boolean, key: string): ListedInstance => {
    const cluster = snap.info.ecsService?.cluster ?? record.attributes["ECS_CLUSTER_NAME"];
    return {
      key,
      record,
      registered,
      cluster,
      ecsTask: cluster !== undefined && TASK_ID.test(record.instanceId),
      target: probeTarget(record.attributes, check),
    };
  };
  const listed = new Set<string>();
  const instances = snap.instances.map((record) => {
    listed.add(record.instanceId);
    let key = keys.get(record);
    if (key === undefined) keys.set(record, (key = instanceKey(snap.info.id, record.instanceId)));
    return entry(record, true, key);
  });
  for (const st of known) {
    if (listed.has(st.instanceId)) continue;
    const record = {
      serviceId: st.serviceId,
      instanceId: st.instanceId,
      attributes: st.attributes,
    };
    instances.push(entry(record, false, st.key));
  }
  return { snap, check, policy, instances };
}

/** The tasks DescribeTasks can answer for: instances whose ID is a task ID in a known cluster. */
export function taskRefs(listed: readonly Listed[]): TaskRef[] {
  const refs: TaskRef[] = [];
  for (const { instances } of listed) {
    for (const i of instances) {
      if (i.ecsTask) refs.push({ cluster: i.cluster!, taskId: i.record.instanceId });
    }
  }
  return refs;
}

/** Every well-formed instance whose task is not known to be going away. */
export function probeItems(
  listed: readonly Listed[],
  goingAway: (taskId: string) => boolean,
): ProbeItem[] {
  const items: ProbeItem[] = [];
  listed.forEach(({ snap, check, policy, instances }, listedAt) => {
    for (const i of instances) {
      if (!i.target.ok || (i.ecsTask && goingAway(i.record.instanceId))) continue;
      const service = snap.info.name;
      items.push({
        key: i.key,
        service,
        listedAt,
        check,
        policy,
        target: i.target,
        record: i.record,
      });
    }
  });
  return items;
}

/**
 * The item with another check. A literal with probeItems' keys in its order, so V8 gives both one
 * hidden class (the hot probe path stays monomorphic); a spread copy need not.
 */
export function withCheck(item: ProbeItem, check: CheckSpec): ProbeItem {
  const { key, service, listedAt, policy, target, record } = item;
  return { key, service, listedAt, check, policy, target, record };
}

/** The planner's input: each listed instance with its ECS task, custom status and probe. */
export function observe(
  listed: readonly Listed[],
  tasks: ReadonlyMap<string, TaskLookup>,
  probes: ReadonlyMap<string, ProbeResult>,
  now: number,
): ServiceObservation[] {
  return listed.map(({ snap, policy, instances }) => ({
    service: snap.info,
    policy,
    instances: instances.map((i): InstanceObservation => {
      let task: TaskLookup;
      if (i.cluster === undefined) task = { kind: "not-ecs" };
      else if (!i.ecsTask) task = { kind: "missing" };
      else task = tasks.get(i.record.instanceId) ?? { kind: "unavailable" };
      return {
        key: i.key,
        record: i.record,
        registered: i.registered,
        customStatus: snap.info.customHealth ? snap.statuses.get(i.record.instanceId) : undefined,
        task,
        probe: probes.get(i.key),
        problem: i.target.ok ? undefined : i.target.problem,
        observedAt: i.registered ? snap.listedAt : now,
      };
    }),
  }));
}

/** States by service ID, in one walk over them (rather than one walk per service). */
export function byService(states: Iterable<InstanceState>): Map<string, InstanceState[]> {
  const out = new Map<string, InstanceState[]>();
  for (const st of states) {
    const list = out.get(st.serviceId);
    if (list) list.push(st);
    else out.set(st.serviceId, [st]);
  }
  return out;
}

/** `IP:PORT` (or the IP) an instance is reached at, for reports. */
export function address(attributes: Readonly<Record<string, string>>): string | undefined {
  const ip = attributes["AWS_INSTANCE_IPV4"];
  const port = attributes["AWS_INSTANCE_PORT"];
  return ip ? (port ? `${ip}:${port}` : ip) : undefined;
}
