// CloudMapHealthChecker: one checker for one Cloud Map namespace, on Fargate, least privilege.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { leaseTiming } from "../checker/cycle/lease-keeper";
import { STATE_TABLE_SCHEMA } from "../checker/state/table-schema";
import type { CloudMapHealthCheckerArgs } from "./args";
import { checkerEnvironment, nodeOptions } from "./checker-env";
import { taskRolePolicy } from "./iam";
import {
  ecsTasksAssumeRolePolicy,
  egressOnlySecurityGroup,
  executionRole,
} from "./shared-resources";
import { checkerImage } from "./image";
import { createMonitoring } from "./monitoring";

export { ecrRepositoryArn } from "./image";
import { withDefaults } from "./defaults";
import { monitoringOn, validateArgs } from "./validate";

export const TYPE_TOKEN = "cloudmap-health-checker:index:CloudMapHealthChecker";
const CONTAINER = "checker";

/**
 * A custom health checker for one AWS Cloud Map namespace (ECS Service Connect): a Fargate
 * service that probes every instance and takes failing ones out of rotation, with its task and
 * execution roles (least privilege), security group, log group, DynamoDB state table, and a
 * CloudWatch dashboard and alarms.
 */
export class CloudMapHealthChecker extends pulumi.ComponentResource {
  /** ARN of the checker's ECS service. */
  readonly serviceArn: pulumi.Output<string>;
  /** ARN of the checker task's IAM role. */
  readonly taskRoleArn: pulumi.Output<string>;
  /** ARN of the IAM role ECS starts the task with (logs, image pull). */
  readonly executionRoleArn: pulumi.Output<string>;
  /** ID of the checker's own (egress-only) security group. */
  readonly securityGroupId: pulumi.Output<string>;
  /** Name of the checker's CloudWatch log group. */
  readonly logGroupName: pulumi.Output<string>;
  /** ARN of the ECS cluster the checker runs in (the given one, or the new one). */
  readonly clusterArn: pulumi.Output<string>;
  /** Name of the DynamoDB state table (the given one, or the new one). */
  readonly stateTableName: pulumi.Output<string>;
  /** URI of the checker image the task runs. */
  readonly imageUri: pulumi.Output<string>;
  /** The CloudWatch dashboard's name, when there is one (`dashboard`). */
  readonly dashboardName: pulumi.Output<string | undefined>;
  /** The alarms' ARNs by alarm (degraded, noCycle, outOfRotation, replacementsHeld); empty without alarms. */
  readonly alarmArns: pulumi.Output<Record<string, string>>;

  constructor(
    name: string,
    args: CloudMapHealthCheckerArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(TYPE_TOKEN, name, {}, opts);
    // Defaults resolved once: validation and every resource below read the same values.
    const resolved = withDefaults(args);
    validateArgs(resolved);
    const statusPort = resolved.statusPort;
    const { env, intervalMs, replaces, readsTaskDefinitions } = checkerEnvironment(
      resolved,
      statusPort,
    );
    const tags = { "app:name": "cloudmap-health-checker", ...resolved.tags };
    const parent = { parent: this };

    const identity = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    const partition = aws.getPartitionOutput({}, parent);

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { retentionInDays: resolved.logRetentionInDays, tags },
      parent,
    );

    // State table: the checker's own schema definition, unless one is given.
    let stateTableName: pulumi.Output<string>;
    let stateTableArn: pulumi.Output<string>;
    if (resolved.stateTableName !== undefined) {
      stateTableName = pulumi.output(resolved.stateTableName);
      stateTableArn = pulumi.interpolate`arn:${partition.partition}:dynamodb:${region.region}:${identity.accountId}:table/${stateTableName}`;
    } else {
      const { partitionKey, sortKey, ttlAttribute, billingMode } = STATE_TABLE_SCHEMA;
      const table = new aws.dynamodb.Table(
        `${name}-state`,
        {
          billingMode,
          hashKey: partitionKey.name,
          rangeKey: sortKey.name,
          attributes: [
            { name: partitionKey.name, type: partitionKey.type },
            { name: sortKey.name, type: sortKey.type },
          ],
          ttl: { attributeName: ttlAttribute, enabled: true },
          serverSideEncryption: { enabled: true },
          tags,
        },
        parent,
      );
      stateTableName = table.name;
      stateTableArn = table.arn;
    }

    // Image: given, or built from checker/Dockerfile into a repository the component owns.
    const { imageUri, repositoryArn } = checkerImage(
      name,
      resolved,
      partition.partition,
      tags,
      parent,
    );

    // Both roles trust ECS tasks of the account and Region the stack deploys to, no others.
    const assumeRolePolicy = ecsTasksAssumeRolePolicy({
      partition: partition.partition,
      region: region.region,
      accountId: identity.accountId,
    });
    const execution = executionRole(
      name,
      {
        assumeRolePolicy,
        logGroupArn: logGroup.arn,
        repositoryArn,
        tags,
      },
      parent,
    );

    const taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy, tags }, parent);
    new aws.iam.RolePolicy(
      `${name}-task`,
      {
        role: taskRole.id,
        policy: pulumi
          .all([
            partition.partition,
            region.region,
            identity.accountId,
            resolved.namespaceId,
            pulumi.output(resolved.ecsClusterArns),
            stateTableArn,
          ])
          .apply(([p, r, accountId, namespaceId, clusterArns, tableArn]) =>
            JSON.stringify(
              taskRolePolicy({
                partition: p,
                region: r,
                accountId,
                namespaceId,
                clusterArns,
                stateTableArn: tableArn,
                replaces,
                readsTaskDefinitions,
              }),
            ),
          ),
      },
      parent,
    );

    // Egress only: the checker calls the tasks and AWS, nobody calls it but ECS's health check.
    const securityGroup = egressOnlySecurityGroup(
      name,
      {
        vpcId: resolved.vpcId,
        description: "cloudmap-health-checker: egress to the checked tasks and AWS APIs",
        tags,
      },
      parent,
    );
    (resolved.targetSecurityGroupIds ?? []).forEach((groupId, g) => {
      for (const port of resolved.targetPorts ?? []) {
        new aws.vpc.SecurityGroupIngressRule(
          `${name}-target-${g}-${port}`,
          {
            securityGroupId: groupId,
            referencedSecurityGroupId: securityGroup.id,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            description: `cloudmap-health-checker ${name}: health probes`,
            tags,
          },
          parent,
        );
      }
    });

    let clusterArn: pulumi.Output<string>;
    if (resolved.clusterArn !== undefined) {
      clusterArn = pulumi.output(resolved.clusterArn);
    } else {
      const cluster = new aws.ecs.Cluster(
        `${name}-cluster`,
        { settings: [{ name: "containerInsights", value: "disabled" }], tags },
        parent,
      );
      clusterArn = cluster.arn;
    }

    const environment = pulumi
      .all([resolved.namespaceId, stateTableName])
      .apply(([namespaceId, table]) =>
        Object.entries({
          ...env,
          CMHC_NAMESPACE: namespaceId,
          CMHC_STATE_TABLE: table,
          NODE_OPTIONS: nodeOptions(resolved.memory),
        })
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, value]) => ({ name: key, value })),
      );
    const containerDefinitions = pulumi
      .all([imageUri, environment, logGroup.name, region.region])
      .apply(([image, envList, logGroupName, awsRegion]) =>
        JSON.stringify([
          {
            name: CONTAINER,
            image,
            essential: true,
            command: ["run"],
            user: "1000:1000",
            readonlyRootFilesystem: true,
            environment: envList,
            portMappings: [{ containerPort: statusPort, protocol: "tcp" }],
            healthCheck: {
              command: ["CMD", "/nodejs/bin/node", "/app/dist/checker/healthcheck.js"],
              interval: 15,
              timeout: 5,
              retries: 3,
              startPeriod: 30,
            },
            // Time to finish the cycle and release the lease after SIGTERM.
            stopTimeout: 15,
            logConfiguration: {
              logDriver: "awslogs",
              options: {
                "awslogs-group": logGroupName,
                "awslogs-region": awsRegion,
                "awslogs-stream-prefix": "checker",
              },
            },
          },
        ]),
      );

    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: `${name}-cloudmap-health-checker`,
        cpu: String(resolved.cpu),
        memory: String(resolved.memory),
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        runtimePlatform: {
          cpuArchitecture: resolved.architecture,
          operatingSystemFamily: "LINUX",
        },
        executionRoleArn: execution.arn,
        taskRoleArn: taskRole.arn,
        containerDefinitions,
        tags,
      },
      parent,
    );

    const service = new aws.ecs.Service(
      `${name}-service`,
      {
        cluster: clusterArn,
        taskDefinition: taskDefinition.arn,
        desiredCount: resolved.desiredCount,
        launchType: "FARGATE",
        networkConfiguration: {
          subnets: resolved.subnetIds,
          securityGroups: pulumi
            .all([securityGroup.id, pulumi.output(resolved.securityGroupIds ?? [])])
            .apply(([own, extra]) => [own, ...extra]),
          assignPublicIp: resolved.assignPublicIp,
        },
        // Two checkers never overlap for long: stop the old one before starting the new.
        deploymentMinimumHealthyPercent: 0,
        deploymentMaximumPercent: 100,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        propagateTags: "SERVICE",
        enableEcsManagedTags: true,
        waitForSteadyState: false,
        tags,
      },
      parent,
    );

    // EMF metrics need no IAM: the log driver ships them and CloudWatch extracts them.
    const monitoring = createMonitoring(
      {
        name,
        namespaceId: resolved.namespaceId,
        intervalMs,
        region: region.region,
        logGroupName: logGroup.name,
        clusterArn,
        serviceName: service.name,
        ...monitoringOn(resolved),
        alarmTopicArn: resolved.alarmTopicArn,
        alarmActions: resolved.alarmActions,
        tags,
      },
      parent,
    );

    this.serviceArn = service.id;
    this.taskRoleArn = taskRole.arn;
    this.executionRoleArn = execution.arn;
    this.securityGroupId = securityGroup.id;
    this.logGroupName = logGroup.name;
    this.clusterArn = clusterArn;
    this.stateTableName = stateTableName;
    this.imageUri = imageUri;
    this.dashboardName = monitoring.dashboardName;
    this.alarmArns = monitoring.alarmArns;
    this.registerOutputs({
      serviceArn: this.serviceArn,
      taskRoleArn: this.taskRoleArn,
      executionRoleArn: this.executionRoleArn,
      securityGroupId: this.securityGroupId,
      logGroupName: this.logGroupName,
      clusterArn: this.clusterArn,
      stateTableName: this.stateTableName,
      imageUri: this.imageUri,
      dashboardName: this.dashboardName,
      alarmArns: this.alarmArns,
      leaseDurationMs: leaseTiming(intervalMs).durationMs,
    });
  }
}
