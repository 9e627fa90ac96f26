// Narrow interfaces between the checker's core and the outside world, and the errors that are
// part of their contract. Only the entry points (cli.ts through wiring.ts) build AWS-backed
// implementations of these; tests hand in in-memory ones.

import type {
  CheckSpec,
  CustomStatus,
  EcsServiceState,
  InstanceRecord,
  InstanceState,
  ProbeResult,
  ProbeTarget,
  ServiceInfo,
  TaskDefinitionPorts,
  TaskLookup,
} from "./domain/types";

export interface NamespaceInfo {
  readonly id: string;
  readonly name: string;
  /** What the data-plane calls (DiscoverInstances*) take: `name`, unless reusing it got a hash. */
  readonly httpName: string;
}

/**
 * No namespace has the ID or name given, or several share the name: the setting is wrong (or the
 * namespace not created yet), unlike an AWS error, which passes or is a permission to grant.
 */
export class NamespaceLookupError extends Error {
  constructor(
    readonly given: string,
    readonly kind: "not-found" | "ambiguous",
    message: string,
  ) {
    super(message);
    this.name = "NamespaceLookupError";
  }
}

/** A durable write was refused because another replica holds the lease (or it expired). */
export class LeaseLostError extends Error {
  constructor(namespaceId: string) {
    super(`lease for ${namespaceId} is not held by this replica: not writing`);
    this.name = "LeaseLostError";
  }
}

/** Cloud Map reads and writes the checker needs, and nothing more. */
export interface CloudMapPort {
  /** Resolve a namespace given its ID (`ns-...`) or its name; NamespaceLookupError if none or
   * several. */
  resolveNamespace(idOrName: string): Promise<NamespaceInfo>;
  /** Every service in the namespace (all pages). */
  listServices(namespaceId: string): Promise<ServiceInfo[]>;
  /** Every instance of a service (all pages), with full attributes. */
  listInstances(serviceId: string): Promise<InstanceRecord[]>;
  /**
   * Every instance of a service with the revision of that very listing, through the data plane
   * (DiscoverInstances: 1,000 calls a second, one call for a whole service of up to 1,000
   * instances, where ListInstances is control plane, throttled lower, 100 a page).
   */
  discoverInstances(
    namespaceName: string,
    service: { readonly id: string; readonly name: string },
  ): Promise<{ instances: InstanceRecord[]; revision: string }>;
  /** Cheap data-plane revision token; compare for equality only. */
  discoverRevision(namespaceName: string, serviceName: string): Promise<string>;
  /** Custom health statuses of a service's instances (all pages). */
  getHealthStatuses(serviceId: string): Promise<Map<string, CustomStatus>>;
  // Mutations take a signal that bounds them to what is left of the cycle.
  deregisterInstance(serviceId: string, instanceId: string, signal?: AbortSignal): Promise<void>;
  registerInstance(
    serviceId: string,
    instanceId: string,
    attributes: Readonly<Record<string, string>>,
    creatorRequestId: string,
    signal?: AbortSignal,
  ): Promise<void>;
  setCustomHealthStatus(
    serviceId: string,
    instanceId: string,
    status: "HEALTHY" | "UNHEALTHY",
    signal?: AbortSignal,
  ): Promise<void>;
}

export interface TaskRef {
  /** Cluster name or ARN. */
  readonly cluster: string;
  /** Task ID or ARN. */
  readonly taskId: string;
}

export interface EcsPort {
  /**
   * Describe tasks, batching as the API requires. Returns a lookup per input task ID;
   * a task whose batch failed is `unavailable`, never `missing`.
   */
  describeTasks(refs: readonly TaskRef[]): Promise<Map<string, TaskLookup>>;
  /**
   * IDs of the tasks ECS is stopping or has stopped recently (desiredStatus STOPPED) in these
   * clusters; undefined when any cluster could not be listed.
   */
  listGoingAway(clusters: readonly string[]): Promise<Set<string> | undefined>;
  /** Describe ECS services (`CLUSTER/SERVICE` keys); a service that cannot be read is absent. */
  describeServices(keys: readonly string[]): Promise<Map<string, EcsServiceState>>;
  /**
   * The port mappings of a task definition (ARN with revision: immutable, so cacheable for
   * good). Throws on any AWS error.
   */
  describeTaskDefinition(arn: string): Promise<TaskDefinitionPorts>;
  /** Stop a task; ECS drains its Service Connect proxy and its service starts a replacement. */
  stopTask(cluster: string, taskArn: string, reason: string, signal?: AbortSignal): Promise<void>;
}

export interface Prober {
  probe(
    target: ProbeTarget & { ok: true },
    check: CheckSpec,
    signal?: AbortSignal,
  ): Promise<ProbeResult>;
}

/** Injectable time source, so the loop and the planner are testable. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Where the records of instances the checker took out live across restarts: DynamoDB with
 * `--state-table` (writes conditional on holding the lease), in memory without.
 */
export interface StateStore {
  load(namespaceId: string): Promise<Map<string, InstanceState>>;
  /** Persist the record of an instance before taking it out; LeaseLostError if another replica
   * holds the lease. */
  put(namespaceId: string, state: InstanceState): Promise<void>;
  delete(namespaceId: string, key: string): Promise<void>;
}

/** Who holds a namespace's lease, as last seen. */
export interface LeaseInfo {
  /** Owner ID of the holder, undefined when nobody holds it. */
  readonly holder: string | undefined;
  readonly mine: boolean;
  /** Epoch ms the holder's lease runs out. */
  readonly expiresAt: number;
  /** Set when the lease could not be read or written (then `mine` is false). */
  readonly error?: string;
}

/** One active replica per namespace: only the lease holder acts. */
export interface LeasePort {
  readonly ownerId: string;
  /** Acquire or renew until `now + durationMs`. Never throws: an error means not holding. */
  hold(namespaceId: string, now: number, durationMs: number): Promise<LeaseInfo>;
  /** Give the lease up (on shutdown) so a standby takes over at once. */
  release(namespaceId: string): Promise<void>;
}
