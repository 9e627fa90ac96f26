// Builds a Service Connect-like world in moto: a cluster, tasks started by "services"
// (RunTask with group service:NAME, since moto's services launch none), and Cloud Map
// services shaped the way ECS Service Connect creates them.

import {
  CreateClusterCommand,
  CreateServiceCommand as CreateEcsServiceCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ECSClient,
} from "@aws-sdk/client-ecs";
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetOperationCommand,
  ListNamespacesCommand,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import {
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { buildAwsClients } from "../../checker/aws/clients";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";

export interface WorldService {
  readonly id: string;
  readonly name: string;
  readonly ecsServiceName: string;
}

export class World {
  readonly sd: ServiceDiscoveryClient;
  readonly ecs: ECSClient;
  namespaceId = "";
  namespaceName = "";
  /** Task definition ARNs by family, registered on first use. */
  private readonly taskDefinitions = new Map<string, string>();
  private network = { subnets: [] as string[], securityGroups: [] as string[] };

  constructor(readonly cluster = "c1") {
    const clients = buildAwsClients({ maxAttempts: 2 });
    this.sd = clients.serviceDiscovery;
    this.ecs = clients.ecs;
  }

  async init(namespaceName = "internal"): Promise<this> {
    await this.createCluster(this.cluster);
    // moto's RunTask checks that the subnet and group exist: use the default VPC's.
    const ec2 = new EC2Client({ maxAttempts: 2 });
    const vpcs = await ec2.send(
      new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }),
    );
    const vpc = [{ Name: "vpc-id", Values: [vpcs.Vpcs![0]!.VpcId!] }];
    const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: vpc }));
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [...vpc, { Name: "group-name", Values: ["default"] }],
      }),
    );
    ec2.destroy();
    this.network = {
      subnets: [subnets.Subnets![0]!.SubnetId!],
      securityGroups: [groups.SecurityGroups![0]!.GroupId!],
    };
    const op = await this.sd.send(new CreateHttpNamespaceCommand({ Name: namespaceName }));
    await this.sd.send(new GetOperationCommand({ OperationId: op.OperationId! }));
    const list = await this.sd.send(new ListNamespacesCommand({}));
    const ns = list.Namespaces!.find((n) => n.Name === namespaceName)!;
    this.namespaceId = ns.Id!;
    this.namespaceName = namespaceName;
    return this;
  }

  /**
   * The task definition an ECS service's tasks run: family `app-NAME`, one container whose port
   * mapping is named as the Cloud Map service (Service Connect's portName) with `appProtocol`
   * (default http, so `--check-protocol auto` probes HTTP); `null`: a mapping without one.
   */
  async useTaskDefinition(
    ecsServiceName: string,
    mapping: { name?: string; appProtocol?: "http" | "http2" | "grpc" | null } = {},
  ): Promise<string> {
    const family = `app-${ecsServiceName}`;
    const appProtocol = mapping.appProtocol === undefined ? "http" : mapping.appProtocol;
    const td = await this.ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          {
            name: "app",
            image: "app:latest",
            essential: true,
            cpu: 256,
            memory: 512,
            portMappings: [
              {
                containerPort: 8080,
                name: mapping.name ?? ecsServiceName,
                ...(appProtocol === null ? {} : { appProtocol }),
              },
            ],
          },
        ],
      }),
    );
    const arn = td.taskDefinition!.taskDefinitionArn!;
    this.taskDefinitions.set(family, arn);
    return arn;
  }

  private async taskDefinitionOf(ecsServiceName: string): Promise<string> {
    return (
      this.taskDefinitions.get(`app-${ecsServiceName}`) ??
      (await this.useTaskDefinition(ecsServiceName))
    );
  }

  /** A Cloud Map service as Service Connect creates it (no health config, ECS-managed). */
  serviceConnectService(name: string, ecsServiceName = name): Promise<WorldService> {
    return this.createService(name, ecsServiceName, false);
  }

  /** A service created with a custom health config, whose status the checker sets. */
  customHealthService(name: string, ecsServiceName = name): Promise<WorldService> {
    return this.createService(name, ecsServiceName, true);
  }

  private async createService(
    name: string,
    ecsServiceName: string,
    customHealth: boolean,
  ): Promise<WorldService> {
    const out = await this.sd.send(
      new CreateServiceCommand({
        Name: name,
        NamespaceId: this.namespaceId,
        Type: "HTTP",
        Description: `Managed by arn:aws:ecs:${REGION}:${ACCOUNT}:service/${this.cluster}/${ecsServiceName}`,
        ...(customHealth
          ? { HealthCheckCustomConfig: { FailureThreshold: 1 } }
          : { Tags: [{ Key: "AmazonECSManaged", Value: "true" }] }),
      }),
    );
    return { id: out.Service!.Id!, name, ecsServiceName };
  }

  async createCluster(name: string): Promise<void> {
    await this.ecs.send(new CreateClusterCommand({ clusterName: name }));
  }

  /** Starts `count` tasks for an ECS service in this world's cluster; returns their task IDs. */
  runTasks(ecsServiceName: string, count: number): Promise<string[]> {
    return this.runServiceTasks(this.cluster, ecsServiceName, count);
  }

  /**
   * Starts tasks the way an ECS service would (moto's services launch none): group
   * `service:NAME`, startedBy `ecs-svc/...`. RunTask starts at most 10 a call.
   */
  async runServiceTasks(cluster: string, ecsServiceName: string, count: number): Promise<string[]> {
    const taskDefinition = await this.taskDefinitionOf(ecsServiceName);
    const ids: string[] = [];
    for (let left = count; left > 0; left -= 10) {
      const out = await this.ecs.send(
        new RunTaskCommand({
          cluster,
          taskDefinition,
          launchType: "FARGATE",
          count: Math.min(10, left),
          group: `service:${ecsServiceName}`,
          startedBy: `ecs-svc/${ecsServiceName}`,
          networkConfiguration: {
            awsvpcConfiguration: { ...this.network },
          },
        }),
      );
      for (const t of out.tasks ?? []) ids.push(t.taskArn!.split("/").pop()!);
    }
    return ids;
  }

  /**
   * Tasks started by hand (no ECS service): what the replace action must never stop. Their
   * port mapping is named `portName` (the Cloud Map service they are registered in).
   */
  async runStandaloneTasks(count: number, portName: string): Promise<string[]> {
    const out = await this.ecs.send(
      new RunTaskCommand({
        cluster: this.cluster,
        taskDefinition: await this.taskDefinitionOf(portName),
        launchType: "FARGATE",
        count,
        networkConfiguration: { awsvpcConfiguration: { ...this.network } },
      }),
    );
    return (out.tasks ?? []).map((t) => t.taskArn!.split("/").pop()!);
  }

  /**
   * An ECS service record, for DescribeServices. moto reports MOTO_ECS_SERVICE_RUNNING (3 in
   * tests) as its runningCount: desiredCount 3 is a steady service, more is one short of tasks.
   */
  async createEcsService(name: string, desiredCount: number): Promise<void> {
    await this.ecs.send(
      new CreateEcsServiceCommand({
        cluster: this.cluster,
        serviceName: name,
        taskDefinition: await this.taskDefinitionOf(name),
        desiredCount,
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { ...this.network } },
      }),
    );
  }

  /** Registers a task the way Service Connect does: instance ID = task ID, ECS's attributes. */
  async registerTask(
    service: WorldService,
    taskId: string,
    target: { host: string; port: number },
    extra: Record<string, string> = {},
  ): Promise<Record<string, string>> {
    const attributes = {
      AWS_INSTANCE_IPV4: target.host,
      AWS_INSTANCE_PORT: String(target.port),
      AvailabilityZone: "us-east-1a",
      DeploymentId: `ecs-svc/${service.ecsServiceName}-deployment`,
      IdleTimeoutInSeconds: "300",
      PerRequestTimeoutInSeconds: "15",
      ...extra,
    };
    await this.registerRaw(service.id, taskId, attributes);
    return attributes;
  }

  async registerRaw(
    serviceId: string,
    instanceId: string,
    attributes: Record<string, string>,
  ): Promise<void> {
    await this.sd.send(
      new RegisterInstanceCommand({
        ServiceId: serviceId,
        InstanceId: instanceId,
        Attributes: attributes,
      }),
    );
  }

  /** StopTask: moto marks the task STOPPED (lastStatus and desiredStatus) at once. */
  async stopTask(taskId: string, cluster = this.cluster): Promise<void> {
    await this.ecs.send(new StopTaskCommand({ cluster, task: taskId, reason: "test" }));
  }
}
