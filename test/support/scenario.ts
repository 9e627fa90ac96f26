// Builders for planner scenarios: a tiny in-memory world stepped cycle by cycle, no I/O.

import { applyAction, foldPlan } from "../../checker/plan/apply";
import { plan, type PlanInput } from "../../checker/plan/planner";
import { ProbeLog } from "../../checker/state/probe-log";
import type { StormBook } from "../../checker/plan/replace-storm";
import {
  instanceKey,
  type CustomStatus,
  type EcsServiceState,
  type InstanceState,
  type Plan,
  type ServiceInfo,
  type ServicePolicy,
  type TaskLookup,
} from "../../checker/domain/types";

export const POLICY: ServicePolicy = {
  unhealthyThreshold: 3,
  healthyThreshold: 2,
  startupGraceMs: 0,
  maxUnhealthyPercent: 50,
  action: "auto",
  replaceAfterMs: undefined,
};

export function service(name: string, customHealth = false): ServiceInfo {
  return {
    id: `srv-${name}`,
    arn: `arn:aws:servicediscovery:us-east-1:123456789012:service/srv-${name}`,
    name,
    namespaceId: "ns-test",
    customHealth,
    ecsService: {
      arn: `arn:aws:ecs:us-east-1:123456789012:service/c1/${name}`,
      cluster: "c1",
      serviceName: name,
    },
  };
}

export function runningTask(
  id: string,
  extra: Partial<{ health: string; startedAt: number; group: string | undefined }> = {},
): TaskLookup {
  return {
    kind: "task",
    task: {
      taskArn: `arn:aws:ecs:us-east-1:123456789012:task/c1/${id}`,
      clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/c1",
      lastStatus: "RUNNING",
      desiredStatus: "RUNNING",
      healthStatus: extra.health,
      startedAt: extra.startedAt ?? 0,
      group: "group" in extra ? extra.group : "service:x",
    },
  };
}

export function taskIn(lastStatus: string, desiredStatus = "RUNNING"): TaskLookup {
  const t = runningTask("t");
  if (t.kind !== "task") throw new Error("unreachable");
  return { kind: "task", task: { ...t.task, lastStatus, desiredStatus } };
}

/** One instance in the world: what Cloud Map, ECS and the probe say about it. */
export interface SimInstance {
  id: string;
  probeOk: boolean | undefined;
  /** The probe failed inside the checker (a request it cannot send): says nothing of the target. */
  probeLocal?: boolean;
  task: TaskLookup;
  problem?: string;
  /** Present in Cloud Map. Updated by applied actions (deregister/register). */
  registered: boolean;
  customStatus?: CustomStatus;
}

export interface SimService {
  info: ServiceInfo;
  policy: ServicePolicy;
  instances: SimInstance[];
}

/**
 * Steps the planner like the loop does: observe the world, plan, apply every action to both
 * the world (as Cloud Map would) and the state, as a successful executor would.
 */
export class Sim {
  now = 1_000_000;
  state = new Map<string, InstanceState>();
  settleMs = 0;
  global = {
    degradedFailPercent: 80,
    degradedMinInstances: 5,
    replaceCooldownMs: 300_000,
    maxReplacementsPerCycle: 1,
  };
  /** When false, actions "fail": neither world nor state changes (like a failed AWS call). */
  actionsSucceed = true;
  /** DescribeServices as the planner sees it, by `CLUSTER/SERVICE`. */
  ecsServices = new Map<string, EcsServiceState>();
  lastReplacement = new Map<string, number>();
  /** The namespace's probe results over time, as the cycle engine keeps them. */
  history = new ProbeLog(600_000);
  /** Failed replacements per ECS service, as the cycle engine keeps them. */
  storms: StormBook = new Map();
  /** Like an ECS service: a stopped task's successor, added to its Cloud Map service. */
  replaceWith: ((stopped: SimInstance, now: number) => SimInstance) | undefined;

  constructor(public services: SimService[]) {}

  input(): PlanInput {
    return {
      now: this.now,
      state: this.state,
      global: this.global,
      settleMs: this.settleMs,
      ecsServices: this.ecsServices,
      lastReplacement: this.lastReplacement,
      history: this.history,
      storms: { book: this.storms, intervalMs: 1000 },
      services: this.services.map((s) => ({
        service: s.info,
        policy: s.policy,
        instances: s.instances
          .filter((i) => i.registered || this.state.has(instanceKey(s.info.id, i.id)))
          .map((i) => ({
            key: instanceKey(s.info.id, i.id),
            record: { serviceId: s.info.id, instanceId: i.id, attributes: attrs(i.id) },
            registered: i.registered,
            customStatus: s.info.customHealth ? (i.customStatus ?? "HEALTHY") : undefined,
            task: i.task,
            probe:
              i.probeOk === undefined
                ? undefined
                : i.probeLocal === true
                  ? {
                      ok: false,
                      detail: "ERR_UNESCAPED_CHARACTERS",
                      latencyMs: 0,
                      at: this.now,
                      local: true,
                    }
                  : {
                      ok: i.probeOk,
                      detail: i.probeOk ? "HTTP 200" : "HTTP 500",
                      latencyMs: 1,
                      at: this.now,
                    },
            problem: i.problem,
            observedAt: this.now,
          })),
      })),
    };
  }

  step(): Plan {
    const input = this.input();
    // The cycle engine records each result as it lands, before the plan that folds it.
    for (const s of input.services) {
      for (const o of s.instances) {
        if (o.probe !== undefined && o.probe.local !== true && o.problem === undefined) {
          this.history.record(o.probe.at, o.probe.ok);
        }
      }
    }
    const p = plan(input);
    foldPlan(this.state, p);
    if (p.storms !== undefined) this.storms = p.storms;
    for (const a of p.actions) {
      if (!this.actionsSucceed && !a.dryRun) continue;
      const prev = this.state.get(a.key);
      if (prev) this.state.set(a.key, applyAction(prev, a, this.now));
      // Like the executor: a would-be replacement starts the cooldown too.
      if (a.kind === "stop-task") this.lastReplacement.set(a.ecsService, this.now);
      if (a.dryRun) continue;
      const inst = this.find(a.serviceId, a.instanceId);
      if (a.kind === "deregister") inst.registered = false;
      if (a.kind === "register") inst.registered = true;
      if (a.kind === "set-status") inst.customStatus = a.status;
      if (a.kind === "stop-task") {
        inst.task = taskIn("DEACTIVATING", "STOPPED");
        const successor = this.replaceWith?.(inst, this.now);
        if (successor !== undefined) this.serviceOf(a.serviceId).instances.push(successor);
      }
    }
    this.now += 1000;
    return p;
  }

  /** Run n cycles and return every plan. */
  steps(n: number): Plan[] {
    return Array.from({ length: n }, () => this.step());
  }

  serviceOf(serviceId: string): SimService {
    const s = this.services.find((x) => x.info.id === serviceId);
    if (s === undefined) throw new Error(`no service ${serviceId}`);
    return s;
  }

  find(serviceId: string, instanceId: string): SimInstance {
    for (const s of this.services) {
      if (s.info.id !== serviceId) continue;
      const i = s.instances.find((x) => x.id === instanceId);
      if (i) return i;
    }
    throw new Error(`no instance ${serviceId}/${instanceId}`);
  }
}

export function attrs(id: string): Record<string, string> {
  return {
    AWS_INSTANCE_IPV4: "10.0.0.1",
    AWS_INSTANCE_PORT: "8080",
    AvailabilityZone: "us-east-1a",
    DeploymentId: `ecs-svc/${id}`,
  };
}

export function healthyInstances(n: number, prefix = "t"): SimInstance[] {
  return Array.from({ length: n }, (_, k) => ({
    id: `${prefix}${k}`,
    probeOk: true,
    task: runningTask(`${prefix}${k}`),
    registered: true,
  }));
}
