// Pulumi mocks, set once for the whole test process (setMocks is process-global): every
// component and program test imports this module and filters resources by name prefix.

import * as pulumi from "@pulumi/pulumi";

export interface MockResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
export const resources: MockResource[] = [];

let installed = false;

/** Installs the mocks (once). Import code under test only after calling this. */
export function installPulumiMocks(): void {
  if (installed) return;
  installed = true;
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs as Record<string, unknown>,
        });
        const arnType = args.type.split(":")[1]?.split("/")[0] ?? "x";
        const arn = `arn:aws:${arnType}:${REGION}:${ACCOUNT}:${args.name}`;
        const state: Record<string, unknown> = {
          ...args.inputs,
          arn,
          name: args.inputs["name"] ?? args.name,
        };
        if (args.type === "aws:ecr/repository:Repository") {
          state["repositoryUrl"] = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${args.name}`;
          state["arn"] = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${args.name}`;
        }
        if (args.type === "awsx:ecr:Image") {
          state["imageUri"] = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${args.name}@sha256:abc`;
        }
        if (args.type === "aws:dynamodb/table:Table") {
          state["arn"] = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${args.name}`;
        }
        if (args.type === "aws:ecs/cluster:Cluster") {
          state["arn"] = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${args.name}`;
        }
        // An ECS service's ID is its ARN.
        const id =
          args.type === "aws:ecs/service:Service"
            ? `arn:aws:ecs:${REGION}:${ACCOUNT}:service/cluster/${args.name}`
            : `${args.name}-id`;
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        switch (args.token) {
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "AIDA" };
          case "aws:index/getRegion:getRegion":
            return { name: REGION, region: REGION, id: REGION, description: "Europe (Ireland)" };
          case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
          default:
            return args.inputs;
        }
      },
    },
    "cloudmap-health-checker",
    "test",
    false,
  );
}

/** The value of an Output, once resolved. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Children of the component named `prefix` (they are named `prefix-...`). */
export function childrenOf(prefix: string): MockResource[] {
  return resources.filter((r) => r.name.startsWith(`${prefix}-`));
}

/** Waits until Pulumi has registered everything the constructor started. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
}
