// Least-privilege policy documents for the checker's roles: only the actions the checker
// calls, scoped to this account and Region, the given clusters and the state table.

import type { PolicyDocument } from "@pulumi/aws/iam";

export interface TaskPolicyInput {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly namespaceId: string;
  readonly clusterArns: readonly string[];
  readonly stateTableArn: string;
  /** Replacement is on: allow StopTask and DescribeServices on the given clusters. */
  readonly replaces: boolean;
  /** `--check-protocol auto` somewhere: allow DescribeTaskDefinition. */
  readonly readsTaskDefinitions: boolean;
}

/** Cluster ARN -> ARN pattern of its tasks (`.../task/CLUSTER/*`). */
export function tasksOf(clusterArn: string): string {
  return `${clusterArn.replace(":cluster/", ":task/")}/*`;
}

/** Cluster ARN -> ARN pattern of its services (`.../service/CLUSTER/*`). */
export function servicesOf(clusterArn: string): string {
  return `${clusterArn.replace(":cluster/", ":service/")}/*`;
}

export function taskRolePolicy(p: TaskPolicyInput): PolicyDocument {
  const sd = `arn:${p.partition}:servicediscovery:${p.region}:${p.accountId}`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        // These list and read calls support no resource scoping.
        Sid: "CloudMapList",
        Effect: "Allow",
        Action: [
          "servicediscovery:ListServices",
          "servicediscovery:ListNamespaces",
          "servicediscovery:GetNamespace",
        ],
        Resource: "*",
      },
      {
        Sid: "CloudMapServices",
        Effect: "Allow",
        Action: [
          "servicediscovery:GetService",
          "servicediscovery:ListInstances",
          "servicediscovery:GetInstance",
          "servicediscovery:GetInstancesHealthStatus",
          "servicediscovery:RegisterInstance",
          "servicediscovery:DeregisterInstance",
          "servicediscovery:UpdateInstanceCustomHealthStatus",
        ],
        Resource: `${sd}:service/*`,
      },
      {
        // The data-plane reads (the revision check, and the listing once it changed) are
        // authorised on the namespace and its services.
        Sid: "CloudMapRevision",
        Effect: "Allow",
        Action: [
          "servicediscovery:DiscoverInstances",
          "servicediscovery:DiscoverInstancesRevision",
        ],
        Resource: [`${sd}:namespace/${p.namespaceId}`, `${sd}:service/*`],
      },
      {
        // Status of the asynchronous register/deregister operations, on this namespace only.
        Sid: "CloudMapOperations",
        Effect: "Allow",
        Action: ["servicediscovery:GetOperation"],
        Resource: `${sd}:namespace/${p.namespaceId}`,
      },
      {
        // Finds going-away tasks in one call per cluster; scoped by the cluster condition key.
        Sid: "EcsListTasks",
        Effect: "Allow",
        Action: ["ecs:ListTasks"],
        Resource: "*",
        Condition: { ArnEquals: { "ecs:cluster": [...p.clusterArns] } },
      },
      {
        Sid: "EcsDescribeTasks",
        Effect: "Allow",
        Action: ["ecs:DescribeTasks"],
        Resource: p.clusterArns.map(tasksOf),
        Condition: { ArnEquals: { "ecs:cluster": [...p.clusterArns] } },
      },
      ...(p.readsTaskDefinitions
        ? [
            {
              // `auto` protocol: a task's port mappings. The action takes no resource scoping.
              Sid: "EcsDescribeTaskDefinition",
              Effect: "Allow" as const,
              Action: ["ecs:DescribeTaskDefinition"],
              Resource: "*",
            },
          ]
        : []),
      ...(p.replaces
        ? [
            {
              Sid: "EcsReplaceTasks",
              Effect: "Allow" as const,
              Action: ["ecs:StopTask"],
              Resource: p.clusterArns.map(tasksOf),
              Condition: { ArnEquals: { "ecs:cluster": [...p.clusterArns] } },
            },
            {
              // The brakes: never replace while a service is short of tasks or deploying.
              Sid: "EcsDescribeServices",
              Effect: "Allow" as const,
              Action: ["ecs:DescribeServices"],
              Resource: p.clusterArns.map(servicesOf),
            },
          ]
        : []),
      {
        // TransactWriteItems is authorised per item: ConditionCheckItem + PutItem.
        Sid: "StateTable",
        Effect: "Allow",
        Action: [
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:Query",
          "dynamodb:ConditionCheckItem",
        ],
        Resource: p.stateTableArn,
      },
    ],
  };
}

export interface ExecutionPolicyInput {
  readonly logGroupArn: string;
  /** The component's own ECR repository, when it builds the image. */
  readonly repositoryArn: string | undefined;
}

/** What ECS itself needs to start the task: pull the image, write its logs. */
export function executionRolePolicy(p: ExecutionPolicyInput): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Logs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${p.logGroupArn}:*`,
      },
      ...(p.repositoryArn
        ? [
            {
              // GetAuthorizationToken has no resource scoping.
              Sid: "EcrToken",
              Effect: "Allow" as const,
              Action: ["ecr:GetAuthorizationToken"],
              Resource: "*",
            },
            {
              Sid: "EcrPull",
              Effect: "Allow" as const,
              Action: [
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
              ],
              Resource: p.repositoryArn,
            },
          ]
        : []),
    ],
  };
}

export interface TrustInput {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

/**
 * Lets ECS tasks assume the role, and only for tasks of this account and Region: the
 * confused-deputy guard AWS recommends for `ecs-tasks.amazonaws.com` trust policies.
 */
export function ecsTasksTrust(p: TrustInput): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": p.accountId },
          ArnLike: { "aws:SourceArn": `arn:${p.partition}:ecs:${p.region}:${p.accountId}:*` },
        },
      },
    ],
  };
}
