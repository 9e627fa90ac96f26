// Pieces both components build the same way: the ECS tasks trust policy, the execution role
// (write its log group, pull its image), and a security group that only reaches out.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ecsTasksTrust, executionRolePolicy } from "./iam";

/** Trust for ECS tasks of the account and Region the stack deploys to, no others. */
export function ecsTasksAssumeRolePolicy(at: {
  readonly partition: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  readonly accountId: pulumi.Input<string>;
}): pulumi.Output<string> {
  return pulumi
    .all([at.partition, at.region, at.accountId])
    .apply(([p, r, accountId]) =>
      JSON.stringify(ecsTasksTrust({ partition: p, region: r, accountId })),
    );
}

/** The role ECS starts the task with, and its policy, both named `NAME-execution`. */
export function executionRole(
  name: string,
  p: {
    readonly assumeRolePolicy: pulumi.Input<string>;
    readonly logGroupArn: pulumi.Input<string>;
    readonly repositoryArn: pulumi.Input<string | undefined>;
    readonly tags: Record<string, string>;
  },
  parent: pulumi.CustomResourceOptions,
): aws.iam.Role {
  const role = new aws.iam.Role(
    `${name}-execution`,
    { assumeRolePolicy: p.assumeRolePolicy, tags: p.tags },
    parent,
  );
  new aws.iam.RolePolicy(
    `${name}-execution`,
    {
      role: role.id,
      policy: pulumi
        .all([p.logGroupArn, p.repositoryArn])
        .apply(([logGroupArn, repo]) =>
          JSON.stringify(executionRolePolicy({ logGroupArn, repositoryArn: repo })),
        ),
    },
    parent,
  );
  return role;
}

/** `NAME-sg`: egress anywhere, no ingress (callers add the rules they need). */
export function egressOnlySecurityGroup(
  name: string,
  p: {
    readonly vpcId: pulumi.Input<string>;
    readonly description: string;
    readonly tags: Record<string, string>;
  },
  parent: pulumi.CustomResourceOptions,
): aws.ec2.SecurityGroup {
  return new aws.ec2.SecurityGroup(
    `${name}-sg`,
    {
      vpcId: p.vpcId,
      description: p.description,
      egress: [
        {
          protocol: "-1",
          fromPort: 0,
          toPort: 0,
          cidrBlocks: ["0.0.0.0/0"],
          ipv6CidrBlocks: ["::/0"],
        },
      ],
      tags: p.tags,
    },
    parent,
  );
}
