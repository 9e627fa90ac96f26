// CloudMapPort over the AWS SDK. Pages everything; filters client-side too (cheap, and
// correct whether or not the server honours the filter).

import {
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  GetNamespaceCommand,
  GetServiceCommand,
  paginateGetInstancesHealthStatus,
  paginateListInstances,
  paginateListNamespaces,
  paginateListServices,
  RegisterInstanceCommand,
  UpdateInstanceCustomHealthStatusCommand,
  type ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import type { CustomStatus, EcsServiceRef, InstanceRecord, ServiceInfo } from "../domain/types";
import { NamespaceLookupError, type CloudMapPort, type NamespaceInfo } from "../ports";

/** DiscoverInstances' largest answer, and Cloud Map's quota of instances per service. */
const DISCOVER_MAX = 1000;

/** A namespace (from GetNamespace or ListNamespaces) with the name its data-plane calls take. */
function namespaceInfo(
  id: string,
  ns: { Name?: string; Properties?: { HttpProperties?: { HttpName?: string } } },
): NamespaceInfo {
  const name = ns.Name!;
  return { id, name, httpName: ns.Properties?.HttpProperties?.HttpName ?? name };
}

const ECS_MANAGED =
  /Managed by (arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service\/([^/\s]+)\/([^/\s]+))/;

/** The ECS service behind a Service Connect-created Cloud Map service, from its description. */
export function parseEcsManagedDescription(
  description: string | undefined,
): EcsServiceRef | undefined {
  const m = description ? ECS_MANAGED.exec(description) : null;
  if (!m) return undefined;
  return { arn: m[1]!, cluster: m[2]!, serviceName: m[3]! };
}

export class SdkCloudMap implements CloudMapPort {
  /** A service never moves between namespaces, so one GetService per service is enough. */
  private readonly namespaces = new Map<string, string>();

  /** The SDK's paginators over this client (they follow NextToken until the last page). */
  private readonly pages: { client: ServiceDiscoveryClient };

  constructor(private readonly client: ServiceDiscoveryClient) {
    this.pages = { client };
  }

  /**
   * ServiceSummary carries no namespace ID. AWS honours the NAMESPACE_ID filter, but a server
   * that ignores it (an emulator, a proxy) must never lead us to act on another namespace.
   */
  private async namespaceOf(serviceId: string): Promise<string | undefined> {
    let ns = this.namespaces.get(serviceId);
    if (ns === undefined) {
      const out = await this.client.send(new GetServiceCommand({ Id: serviceId })).catch((err) => {
        // Deleted between the listing and now: simply not part of this listing.
        if ((err as Error).name === "ServiceNotFound") return undefined;
        throw err;
      });
      ns = out?.Service?.NamespaceId;
      if (ns !== undefined) this.namespaces.set(serviceId, ns);
    }
    return ns;
  }

  async resolveNamespace(idOrName: string): Promise<NamespaceInfo> {
    if (/^ns-[0-9a-z]+$/.test(idOrName)) {
      try {
        const out = await this.client.send(new GetNamespaceCommand({ Id: idOrName }));
        return namespaceInfo(out.Namespace!.Id!, out.Namespace!);
      } catch (err) {
        // An HTTP namespace may well be *named* like an ID: fall back to the name.
        if ((err as Error).name !== "NamespaceNotFound") throw err;
      }
    }
    const matches: NamespaceInfo[] = [];
    for await (const page of paginateListNamespaces(this.pages, { MaxResults: 100 })) {
      for (const ns of page.Namespaces ?? []) {
        if (ns.Name === idOrName && ns.Id) matches.push(namespaceInfo(ns.Id, ns));
      }
    }
    if (matches.length === 0) {
      const what = /^ns-/.test(idOrName) ? "with the ID or name" : "named";
      // Namespaces are regional: a wrong Region is as likely as a wrong name.
      const region = await this.client.config.region().catch(() => undefined);
      throw new NamespaceLookupError(
        idOrName,
        "not-found",
        `no Cloud Map namespace ${what} "${idOrName}"${region ? ` in Region ${region}` : ""}`,
      );
    }
    if (matches.length > 1) {
      throw new NamespaceLookupError(
        idOrName,
        "ambiguous",
        `several namespaces are named "${idOrName}" (${matches.map((m) => m.id).join(", ")}): pass the ID`,
      );
    }
    return matches[0]!;
  }

  async listServices(namespaceId: string): Promise<ServiceInfo[]> {
    const out: ServiceInfo[] = [];
    const input = {
      MaxResults: 100,
      Filters: [{ Name: "NAMESPACE_ID" as const, Values: [namespaceId], Condition: "EQ" as const }],
    };
    for await (const page of paginateListServices(this.pages, input)) {
      for (const s of page.Services ?? []) {
        if (!s.Id || !s.Name || !s.Arn) continue;
        if ((await this.namespaceOf(s.Id)) !== namespaceId) continue;
        out.push({
          id: s.Id,
          arn: s.Arn,
          name: s.Name,
          namespaceId,
          customHealth: s.HealthCheckCustomConfig != null,
          ecsService: parseEcsManagedDescription(s.Description),
        });
      }
    }
    return out;
  }

  async listInstances(serviceId: string): Promise<InstanceRecord[]> {
    // Keyed by ID: an ID is unique in AWS, and one record per ID keeps callers' maps honest.
    const out = new Map<string, InstanceRecord>();
    const input = { ServiceId: serviceId, MaxResults: 100 };
    for await (const page of paginateListInstances(this.pages, input)) {
      for (const i of page.Instances ?? []) {
        if (!i.Id) continue;
        out.set(i.Id, { serviceId, instanceId: i.Id, attributes: { ...(i.Attributes ?? {}) } });
      }
    }
    return [...out.values()];
  }

  async discoverInstances(
    namespaceName: string,
    service: { readonly id: string; readonly name: string },
  ): Promise<{ instances: InstanceRecord[]; revision: string }> {
    const out = await this.client.send(
      new DiscoverInstancesCommand({
        NamespaceName: namespaceName,
        ServiceName: service.name,
        HealthStatus: "ALL",
        MaxResults: DISCOVER_MAX,
      }),
    );
    const revision = String(out.InstancesRevision);
    const found = out.Instances ?? [];
    // DiscoverInstances has no pages: a full answer may not be all (should the per-service
    // quota of 1,000 ever be raised), so ListInstances pages through it instead.
    if (found.length >= DISCOVER_MAX)
      return { instances: await this.listInstances(service.id), revision };
    const byId = new Map<string, InstanceRecord>();
    for (const i of found) {
      if (!i.InstanceId) continue;
      byId.set(i.InstanceId, {
        serviceId: service.id,
        instanceId: i.InstanceId,
        attributes: { ...(i.Attributes ?? {}) },
      });
    }
    return { instances: [...byId.values()], revision };
  }

  async discoverRevision(namespaceName: string, serviceName: string): Promise<string> {
    const out = await this.client.send(
      new DiscoverInstancesRevisionCommand({
        NamespaceName: namespaceName,
        ServiceName: serviceName,
      }),
    );
    return String(out.InstancesRevision);
  }

  async getHealthStatuses(serviceId: string): Promise<Map<string, CustomStatus>> {
    const out = new Map<string, CustomStatus>();
    const input = { ServiceId: serviceId, MaxResults: 100 };
    for await (const page of paginateGetInstancesHealthStatus(this.pages, input)) {
      for (const [id, status] of Object.entries(page.Status ?? {})) {
        out.set(id, status === "HEALTHY" || status === "UNHEALTHY" ? status : "UNKNOWN");
      }
    }
    return out;
  }

  async deregisterInstance(
    serviceId: string,
    instanceId: string,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.client.send(
      new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: instanceId }),
      { abortSignal: signal },
    );
  }

  async registerInstance(
    serviceId: string,
    instanceId: string,
    attributes: Readonly<Record<string, string>>,
    creatorRequestId: string,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.client.send(
      new RegisterInstanceCommand({
        ServiceId: serviceId,
        InstanceId: instanceId,
        Attributes: { ...attributes },
        CreatorRequestId: creatorRequestId,
      }),
      { abortSignal: signal },
    );
  }

  async setCustomHealthStatus(
    serviceId: string,
    instanceId: string,
    status: "HEALTHY" | "UNHEALTHY",
    signal?: AbortSignal,
  ): Promise<void> {
    await this.client.send(
      new UpdateInstanceCustomHealthStatusCommand({
        ServiceId: serviceId,
        InstanceId: instanceId,
        Status: status,
      }),
      { abortSignal: signal },
    );
  }
}
