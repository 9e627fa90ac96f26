// AWS clients per account x Region for discovery: the current credentials, or a role assumed
// in each account (`arn:PARTITION:iam::ACCOUNT:role/NAME`).

import { EC2Client } from "@aws-sdk/client-ec2";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { DiscoveryClients } from "./discover";
import type { Target } from "./types";

const common = { retryMode: "adaptive", maxAttempts: 8 } as const;

function overridden(): boolean {
  return !!process.env["AWS_ENDPOINT_URL"] || !!process.env["AWS_ENDPOINT_URL_SERVICEDISCOVERY"];
}

export async function currentAccount(
  region: string | undefined,
): Promise<{ accountId: string; partition: string }> {
  const sts = new STSClient({ ...common, ...(region ? { region } : {}) });
  const out = await sts.send(new GetCallerIdentityCommand({}));
  return { accountId: out.Account!, partition: out.Arn?.split(":")[1] ?? "aws" };
}

/** Targets for every account x Region; a role per account when `roleName` is given. */
export function targets(
  accounts: readonly string[],
  regions: readonly string[],
  roleName: string | undefined,
  partition: string,
): Target[] {
  return accounts.flatMap((accountId) =>
    regions.map((region) => ({
      accountId,
      region,
      roleArn: roleName ? `arn:${partition}:iam::${accountId}:role/${roleName}` : undefined,
    })),
  );
}

export async function clientsFor(target: Target): Promise<DiscoveryClients> {
  let credentials;
  if (target.roleArn) {
    const sts = new STSClient({ ...common, region: target.region });
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: target.roleArn,
        RoleSessionName: "cloudmap-health-checker-rollout",
      }),
    );
    const c = out.Credentials!;
    credentials = {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  }
  const config = { ...common, region: target.region, ...(credentials ? { credentials } : {}) };
  return {
    // Real AWS serves DiscoverInstances on a `data-` host; an endpoint override does not.
    serviceDiscovery: new ServiceDiscoveryClient({
      ...config,
      ...(overridden() ? { disableHostPrefix: true } : {}),
    }),
    ecs: new ECSClient(config),
    ec2: new EC2Client(config),
  };
}
