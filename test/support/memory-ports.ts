// In-memory Cloud Map and ECS ports: a namespace of Service Connect services whose instances are
// RUNNING tasks, for checker tests that need no emulator and for the benchmark of the checker's
// own cost (bench/core.ts).

import type {
  CustomStatus,
  EcsServiceState,
  InstanceRecord,
  ServiceInfo,
  TaskDefinitionPorts,
  TaskInfo,
  TaskLookup,
} from "../../checker/domain/types";
import type { CloudMapPort, EcsPort, NamespaceInfo, TaskRef } from "../../checker/ports";

export const MEMORY_NAMESPACE: NamespaceInfo = {
  id: "ns-memory",
  name: "memory.local",
  httpName: "memory.local",
};
const ACCOUNT = "arn:aws:ecs:us-east-1:123456789012";

/** Task ID of instance `i`: 32 hex digits, as ECS gives. */
export const taskIdOf = (i: number): string => i.toString(16).padStart(32, "0");

export function runningTaskInfo(taskId: string, cluster: string, group: string): TaskInfo {
  return {
    taskArn: `${ACCOUNT}:task/${cluster}/${taskId}`,
    clusterArn: `${ACCOUNT}:cluster/${cluster}`,
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    healthStatus: "HEALTHY",
    startedAt: 0,
    group,
  };
}

export class MemoryCloudMap implements CloudMapPort {
  readonly services: ServiceInfo[] = [];
  readonly instances = new Map<string, InstanceRecord[]>();
  readonly mutations: string[] = [];
  private revision = 1;

  async resolveNamespace(): Promise<NamespaceInfo> {
    return MEMORY_NAMESPACE;
  }
  async listServices(): Promise<ServiceInfo[]> {
    return this.services;
  }
  async listInstances(serviceId: string): Promise<InstanceRecord[]> {
    return [...(this.instances.get(serviceId) ?? [])];
  }
  async discoverInstances(
    _namespace: string,
    service: { id: string },
  ): Promise<{ instances: InstanceRecord[]; revision: string }> {
    return { instances: await this.listInstances(service.id), revision: String(this.revision) };
  }
  async discoverRevision(): Promise<string> {
    return String(this.revision);
  }
  async getHealthStatuses(): Promise<Map<string, CustomStatus>> {
    return new Map();
  }
  async deregisterInstance(serviceId: string, instanceId: string): Promise<void> {
    this.mutations.push(`deregister ${instanceId}`);
    const list = this.instances.get(serviceId) ?? [];
    this.instances.set(
      serviceId,
      list.filter((i) => i.instanceId !== instanceId),
    );
    this.revision++;
  }
  async registerInstance(
    serviceId: string,
    instanceId: string,
    attributes: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.mutations.push(`register ${instanceId}`);
    this.instances.get(serviceId)?.push({ serviceId, instanceId, attributes });
    this.revision++;
  }
  async setCustomHealthStatus(
    _serviceId: string,
    instanceId: string,
    status: string,
  ): Promise<void> {
    this.mutations.push(`${status} ${instanceId}`);
  }
}

export class MemoryEcs implements EcsPort {
  readonly tasks = new Map<string, TaskInfo>();
  /** Awaited before DescribeTasks answers: lets a test hold ECS's answer back. */
  beforeDescribe: () => Promise<void> = async () => undefined;
  readonly stopped: string[] = [];
  /** Task definitions by ARN; tasks name one with `taskDefinitionArn`. */
  readonly taskDefinitions = new Map<string, TaskDefinitionPorts>();
  readonly describedTaskDefinitions: string[] = [];

  async describeTaskDefinition(arn: string): Promise<TaskDefinitionPorts> {
    this.describedTaskDefinitions.push(arn);
    const td = this.taskDefinitions.get(arn);
    if (!td)
      throw Object.assign(new Error(`Unable to describe task definition ${arn}`), {
        name: "ClientException",
      });
    return td;
  }

  async describeTasks(refs: readonly TaskRef[]): Promise<Map<string, TaskLookup>> {
    await this.beforeDescribe();
    const out = new Map<string, TaskLookup>();
    for (const r of refs) {
      const task = this.tasks.get(r.taskId);
      out.set(r.taskId, task ? { kind: "task", task } : { kind: "missing" });
    }
    return out;
  }
  async listGoingAway(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const [id, t] of this.tasks) if (t.desiredStatus === "STOPPED") out.add(id);
    return out;
  }
  async describeServices(_keys: readonly string[]): Promise<Map<string, EcsServiceState>> {
    return new Map();
  }
  async stopTask(_cluster: string, taskArn: string): Promise<void> {
    this.stopped.push(taskArn);
  }
}

/**
 * A namespace of `count` instances, `perService` to a Cloud Map service, each a RUNNING task of
 * the ECS service behind it, at `addressOf(i)`:`port`.
 */
export function memoryNamespace(opts: {
  count: number;
  port: number;
  addressOf: (i: number) => string;
  perService?: number;
  cluster?: string;
  /** Each service's tasks run a task definition whose port mapping has this appProtocol. */
  appProtocol?: "http" | "http2" | "grpc";
}): { cloudMap: MemoryCloudMap; ecs: MemoryEcs } {
  const perService = opts.perService ?? 1000;
  const cluster = opts.cluster ?? "memory";
  const cloudMap = new MemoryCloudMap();
  const ecs = new MemoryEcs();
  for (let s = 0; s * perService < opts.count; s++) {
    const id = `srv-${s}`;
    cloudMap.services.push({
      id,
      arn: `arn:aws:servicediscovery:us-east-1:123456789012:service/${id}`,
      name: `svc-${s}`,
      namespaceId: MEMORY_NAMESPACE.id,
      customHealth: false,
      ecsService: {
        arn: `${ACCOUNT}:service/${cluster}/svc-${s}`,
        cluster,
        serviceName: `svc-${s}`,
      },
    });
    const list: InstanceRecord[] = [];
    const taskDefinitionArn = opts.appProtocol && `${ACCOUNT}:task-definition/svc-${s}:1`;
    if (taskDefinitionArn) {
      ecs.taskDefinitions.set(taskDefinitionArn, {
        name: `svc-${s}:1`,
        portMappings: [
          { name: `svc-${s}`, containerPort: opts.port, appProtocol: opts.appProtocol },
        ],
      });
    }
    for (let i = s * perService; i < Math.min(opts.count, (s + 1) * perService); i++) {
      const taskId = taskIdOf(i);
      list.push({
        serviceId: id,
        instanceId: taskId,
        attributes: { AWS_INSTANCE_IPV4: opts.addressOf(i), AWS_INSTANCE_PORT: String(opts.port) },
      });
      const task = runningTaskInfo(taskId, cluster, `service:svc-${s}`);
      ecs.tasks.set(taskId, taskDefinitionArn ? { ...task, taskDefinitionArn } : task);
    }
    cloudMap.instances.set(id, list);
  }
  return { cloudMap, ecs };
}
