// Shapes shared by discovery, the rollout planner and execution.

/** Where a checker must run to reach a namespace's tasks. */
export interface Placement {
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  /** The tasks' own groups: the checker's group is admitted on them. */
  readonly targetSecurityGroupIds: readonly string[];
  readonly clusterArns: readonly string[];
  /** Instance ports (`AWS_INSTANCE_PORT`) of every ECS-managed service. */
  readonly ports: readonly number[];
  /** The same, by Cloud Map service name: a check port set for one service replaces its own. */
  readonly servicePorts: Readonly<Record<string, readonly number[]>>;
}

export interface DiscoveredNamespace {
  readonly accountId: string;
  readonly region: string;
  readonly namespaceId: string;
  readonly namespaceName: string;
  /** ECS services behind the namespace's Cloud Map services (ARNs). */
  readonly ecsServices: readonly string[];
  readonly placement: Placement | undefined;
  /** Why no checker can be planned for it (for example services in several VPCs). */
  readonly problem: string | undefined;
}

/** A failure to discover one account x Region: reported, and the rest goes on. */
export interface DiscoveryFailure {
  readonly accountId: string;
  readonly region: string;
  readonly error: string;
}

export interface Target {
  readonly accountId: string;
  readonly region: string;
  /** Role to assume for this account, or undefined for the current credentials. */
  readonly roleArn: string | undefined;
}
