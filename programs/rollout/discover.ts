// Discovery, one pass per account x Region: Service Connect namespaces and where a checker for
// each must run. Paginates everything; the SDK's adaptive retry mode backs off on throttling.

import { DescribeSubnetsCommand, type EC2Client } from "@aws-sdk/client-ec2";
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  ListClustersCommand,
  type ECSClient,
} from "@aws-sdk/client-ecs";
import {
  ListNamespacesCommand,
  ListTagsForResourceCommand,
  type ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import { SdkCloudMap } from "../../checker/aws/cloudmap";
import type { ServiceInfo } from "../../checker/domain/types";
import type { DiscoveredNamespace, Placement } from "./types";

export interface DiscoveryClients {
  readonly serviceDiscovery: ServiceDiscoveryClient;
  readonly ecs: ECSClient;
  readonly ec2: EC2Client;
}

/** `arn:...:service/CLUSTER/NAME` -> `arn:...:cluster/CLUSTER`. */
export function clusterArnOf(serviceArn: string): string {
  const m = /^(arn:[^:]+:ecs:[^:]+:\d{12}):service\/([^/]+)\/[^/]+$/.exec(serviceArn);
  if (!m) throw new Error(`not an ECS service ARN with a cluster: ${serviceArn}`);
  return `${m[1]}:cluster/${m[2]}`;
}

export async function discoverNamespaces(
  clients: DiscoveryClients,
  accountId: string,
  region: string,
): Promise<DiscoveredNamespace[]> {
  const cloudMap = new SdkCloudMap(clients.serviceDiscovery);
  const namespaces = await listNamespaces(clients.serviceDiscovery);
  const clusterDefaults = await namespacesNamedByClusters(clients.ecs);
  const out: DiscoveredNamespace[] = [];
  for (const ns of namespaces) {
    const managed: ServiceInfo[] = [];
    for (const s of await cloudMap.listServices(ns.id)) {
      // The description already says so for Service Connect's services: tags only otherwise.
      if (s.ecsService || (await taggedEcsManaged(clients.serviceDiscovery, s.arn))) {
        managed.push(s);
      }
    }
    const named = clusterDefaults.has(ns.arn) || clusterDefaults.has(ns.name);
    if (managed.length === 0 && !named) continue; // not a Service Connect namespace
    const ecsServices = [
      ...new Set(managed.flatMap((s) => (s.ecsService ? [s.ecsService.arn] : []))),
    ];
    const servicePorts: Record<string, number[]> = {};
    for (const s of managed) {
      const ports = new Set<number>();
      for (const i of await cloudMap.listInstances(s.id)) {
        const port = Number(i.attributes["AWS_INSTANCE_PORT"]);
        if (Number.isInteger(port) && port > 0) ports.add(port);
      }
      servicePorts[s.name] = [...ports].sort((a, b) => a - b);
    }
    const { placement, problem } =
      ecsServices.length === 0 && managed.length > 0
        ? {
            placement: undefined,
            problem:
              "ECS manages its services (tag AmazonECSManaged) but none names its ECS service in its description: placement unknown",
          }
        : await place(clients, ecsServices, servicePorts);
    out.push({
      accountId,
      region,
      namespaceId: ns.id,
      namespaceName: ns.name,
      ecsServices,
      placement,
      problem,
    });
  }
  return out;
}

/** `AmazonECSManaged=true`, the tag ECS puts on the Cloud Map services it creates. */
async function taggedEcsManaged(sd: ServiceDiscoveryClient, arn: string): Promise<boolean> {
  const out = await sd
    .send(new ListTagsForResourceCommand({ ResourceARN: arn }))
    .catch((err: Error) => {
      // Deleted since it was listed: not part of this pass.
      if (err.name === "ResourceNotFoundException") return { Tags: [] };
      throw err;
    });
  return (out.Tags ?? []).some((t) => t.Key === "AmazonECSManaged" && t.Value === "true");
}

async function listNamespaces(
  sd: ServiceDiscoveryClient,
): Promise<Array<{ id: string; name: string; arn: string }>> {
  const out: Array<{ id: string; name: string; arn: string }> = [];
  let NextToken: string | undefined;
  do {
    const page = await sd.send(new ListNamespacesCommand({ NextToken, MaxResults: 100 }));
    for (const n of page.Namespaces ?? []) {
      if (n.Id && n.Name && n.Arn) out.push({ id: n.Id, name: n.Name, arn: n.Arn });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** Namespaces (ARN or name) that a cluster names as its Service Connect default. */
async function namespacesNamedByClusters(ecs: ECSClient): Promise<Set<string>> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListClustersCommand({ nextToken }));
    arns.push(...(page.clusterArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const named = new Set<string>();
  for (let i = 0; i < arns.length; i += 100) {
    const out = await ecs.send(new DescribeClustersCommand({ clusters: arns.slice(i, i + 100) }));
    for (const c of out.clusters ?? []) {
      const ns = c.serviceConnectDefaults?.namespace;
      if (ns) named.add(ns);
    }
  }
  return named;
}

/** Subnets, groups, clusters and VPC of the ECS services; one VPC or a problem. */
async function place(
  clients: DiscoveryClients,
  ecsServices: readonly string[],
  servicePorts: Record<string, number[]>,
): Promise<{ placement: Placement | undefined; problem: string | undefined }> {
  const byCluster = new Map<string, string[]>();
  for (const arn of ecsServices) {
    const cluster = clusterArnOf(arn);
    byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), arn]);
  }
  const subnets = new Set<string>();
  const groups = new Set<string>();
  for (const [cluster, services] of byCluster) {
    for (let i = 0; i < services.length; i += 10) {
      const out = await clients.ecs.send(
        new DescribeServicesCommand({ cluster, services: services.slice(i, i + 10) }),
      );
      for (const s of out.services ?? []) {
        const vpc = s.networkConfiguration?.awsvpcConfiguration;
        vpc?.subnets?.forEach((x) => subnets.add(x));
        vpc?.securityGroups?.forEach((x) => groups.add(x));
      }
    }
  }
  if (subnets.size === 0) {
    return {
      placement: undefined,
      problem: "no ECS service with an awsvpc network configuration found behind the namespace",
    };
  }
  const vpcs = new Set<string>();
  const subnetIds = [...subnets].sort();
  for (let i = 0; i < subnetIds.length; i += 200) {
    const out = await clients.ec2.send(
      new DescribeSubnetsCommand({ SubnetIds: subnetIds.slice(i, i + 200) }),
    );
    for (const s of out.Subnets ?? []) if (s.VpcId) vpcs.add(s.VpcId);
  }
  if (vpcs.size !== 1) {
    return {
      placement: undefined,
      problem: `its services span ${vpcs.size} VPCs (${[...vpcs].sort().join(", ")}): one checker cannot reach them all`,
    };
  }
  return {
    placement: {
      vpcId: [...vpcs][0]!,
      subnetIds,
      targetSecurityGroupIds: [...groups].sort(),
      clusterArns: [...byCluster.keys()].sort(),
      ports: [...new Set(Object.values(servicePorts).flat())].sort((a, b) => a - b),
      servicePorts,
    },
    problem: undefined,
  };
}
