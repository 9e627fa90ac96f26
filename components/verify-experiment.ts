// VerifyExperiment: the temporary world of `verify`: an echo ECS service of 2 tasks with a
// Service Connect server config in the namespace, and a client service of 1 task with a client
// config, both running the checker's own image in its verify modes. No public IP, logs kept a
// day, an execution role that may write those logs and pull that image only, no task role.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkerImage } from "./image";
import {
  ecsTasksAssumeRolePolicy,
  egressOnlySecurityGroup,
  executionRole,
} from "./shared-resources";

export const VERIFY_TYPE_TOKEN = "cloudmap-health-checker:index:VerifyExperiment";
/** The echo port, in the task definition and the Service Connect alias. */
export const ECHO_PORT = 8080;

export interface VerifyExperimentArgs {
  /** Unique ID of this run: names the discovery name and tags every resource. */
  readonly experimentId: string;
  /** The Service Connect namespace (ARN or name, as ECS takes it). */
  readonly namespace: pulumi.Input<string>;
  readonly clusterArn: pulumi.Input<string>;
  readonly vpcId: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Extra security groups for both services (for example one that reaches ECR endpoints). @default none */
  readonly securityGroupIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** The checker image; built from checker/Dockerfile when not given. @default built */
  readonly image?: pulumi.Input<string>;
  /** @default "ARM64" */
  readonly architecture?: "ARM64" | "X86_64";
  /** Requests a second the client sends. @default 20 */
  readonly rate?: number;
}

export class VerifyExperiment extends pulumi.ComponentResource {
  readonly discoveryName: string;
  readonly logGroupName: pulumi.Output<string>;
  readonly echoServiceName: pulumi.Output<string>;
  readonly clientServiceName: pulumi.Output<string>;

  constructor(name: string, args: VerifyExperimentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(VERIFY_TYPE_TOKEN, name, {}, opts);
    const architecture = args.architecture ?? "ARM64";
    const rate = args.rate ?? 20;
    if (!/^[a-z0-9-]{1,40}$/.test(args.experimentId)) {
      throw new Error(`experimentId: expected 1-40 of a-z, 0-9 and -, got "${args.experimentId}"`);
    }
    if (!Number.isInteger(rate) || rate < 1 || rate > 1000) {
      throw new Error(`rate: expected an integer from 1 to 1000, got ${rate}`);
    }
    const parent = { parent: this };
    const tags = {
      "app:name": "cloudmap-health-checker-verify",
      "cmhc:experiment": args.experimentId,
    };
    this.discoveryName = `cmhc-verify-${args.experimentId}`;

    const identity = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    const partition = aws.getPartitionOutput({}, parent);

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { retentionInDays: 1, tags },
      parent,
    );
    const { imageUri, repositoryArn } = checkerImage(
      name,
      { image: args.image, architecture },
      partition.partition,
      tags,
      parent,
    );
    const execution = executionRole(
      name,
      {
        assumeRolePolicy: ecsTasksAssumeRolePolicy({
          partition: partition.partition,
          region: region.region,
          accountId: identity.accountId,
        }),
        logGroupArn: logGroup.arn,
        repositoryArn,
        tags,
      },
      parent,
    );

    // One group for both: the client reaches the echo port inside it, and both reach out.
    const securityGroup = egressOnlySecurityGroup(
      name,
      { vpcId: args.vpcId, description: "cloudmap-health-checker verify experiment", tags },
      parent,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-echo-in`,
      {
        securityGroupId: securityGroup.id,
        referencedSecurityGroupId: securityGroup.id,
        ipProtocol: "tcp",
        fromPort: ECHO_PORT,
        toPort: ECHO_PORT,
        description: "verify client to echo",
        tags,
      },
      parent,
    );

    const container = (command: string[], portMappings: unknown[]) =>
      pulumi.all([imageUri, logGroup.name, region.region]).apply(([image, group, awsRegion]) =>
        JSON.stringify([
          {
            name: "verify",
            image,
            essential: true,
            command,
            user: "1000:1000",
            readonlyRootFilesystem: true,
            portMappings,
            logConfiguration: {
              logDriver: "awslogs",
              options: {
                "awslogs-group": group,
                "awslogs-region": awsRegion,
                "awslogs-stream-prefix": command[0],
              },
            },
          },
        ]),
      );
    const taskDefinition = (role: string, containerDefinitions: pulumi.Output<string>) =>
      new aws.ecs.TaskDefinition(
        `${name}-${role}`,
        {
          family: `${this.discoveryName}-${role}`,
          cpu: "256",
          memory: "512",
          networkMode: "awsvpc",
          requiresCompatibilities: ["FARGATE"],
          runtimePlatform: { cpuArchitecture: architecture, operatingSystemFamily: "LINUX" },
          executionRoleArn: execution.arn,
          containerDefinitions,
          tags,
        },
        parent,
      );
    const echoTask = taskDefinition(
      "echo",
      container(
        ["verify-echo", "--port", String(ECHO_PORT)],
        [{ name: "echo", containerPort: ECHO_PORT, protocol: "tcp", appProtocol: "http" }],
      ),
    );
    const clientTask = taskDefinition(
      "client",
      container(
        [
          "verify-client",
          "--url",
          `http://${this.discoveryName}:${ECHO_PORT}/`,
          "--rate",
          String(rate),
        ],
        [],
      ),
    );

    const network = {
      subnets: args.subnetIds,
      securityGroups: pulumi
        .all([securityGroup.id, pulumi.output(args.securityGroupIds ?? [])])
        .apply(([own, extra]) => [own, ...extra]),
      assignPublicIp: false,
    };
    const echo = new aws.ecs.Service(
      `${name}-echo`,
      {
        name: `${this.discoveryName}-echo`,
        cluster: args.clusterArn,
        taskDefinition: echoTask.arn,
        desiredCount: 2,
        launchType: "FARGATE",
        networkConfiguration: network,
        serviceConnectConfiguration: {
          enabled: true,
          namespace: args.namespace,
          services: [
            {
              portName: "echo",
              discoveryName: this.discoveryName,
              clientAlias: [{ port: ECHO_PORT, dnsName: this.discoveryName }],
            },
          ],
        },
        waitForSteadyState: true,
        tags,
      },
      parent,
    );
    const client = new aws.ecs.Service(
      `${name}-client`,
      {
        name: `${this.discoveryName}-client`,
        cluster: args.clusterArn,
        taskDefinition: clientTask.arn,
        desiredCount: 1,
        launchType: "FARGATE",
        networkConfiguration: network,
        serviceConnectConfiguration: { enabled: true, namespace: args.namespace },
        waitForSteadyState: true,
        tags,
      },
      { parent: this, dependsOn: [echo] },
    );

    this.logGroupName = logGroup.name;
    this.echoServiceName = echo.name;
    this.clientServiceName = client.name;
    this.registerOutputs({
      discoveryName: this.discoveryName,
      logGroupName: this.logGroupName,
      echoServiceName: this.echoServiceName,
      clientServiceName: this.clientServiceName,
    });
  }
}
