// Read step: the namespace's services and instances, with as few AWS calls as possible.
// A service's instances are re-listed (DiscoverInstances, one data-plane call a service) only
// when its DiscoverInstancesRevision changes (compared for equality only) or when the slower
// backstop period has passed.

import type { CustomStatus, InstanceRecord, ServiceInfo } from "../domain/types";
import type { Logger } from "../observability/logger";
import type { CloudMapPort, Clock, NamespaceInfo } from "../ports";
import { describeAwsError } from "../aws/errors";
import { pool } from "../util/pool";

/**
 * Services read at once. Both reads are data plane (DiscoverInstancesRevision each cycle, and
 * DiscoverInstances once the revision changed), which allows 1,000 calls a second.
 */
const READ_CONCURRENCY = 8;

export interface ServiceSnapshot {
  readonly info: ServiceInfo;
  readonly instances: readonly InstanceRecord[];
  readonly statuses: ReadonlyMap<string, CustomStatus>;
  /** Epoch ms the instance list was read. */
  readonly listedAt: number;
}

interface CacheEntry extends ServiceSnapshot {
  readonly revision: string | undefined;
}

/** A read that failed: the service list (`service` undefined) or one service's instances. */
export interface ReadFailure {
  readonly service: string | undefined;
  readonly error: string;
}

export interface ReaderOptions {
  readonly allowList: readonly string[] | undefined;
  /** Full re-list backstop, whatever the revision says. */
  readonly resyncMs: number;
  /** How often the service list itself is refreshed. */
  readonly serviceRefreshMs: number;
}

export class NamespaceReader {
  private services: ServiceInfo[] | undefined;
  private servicesAt = 0;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly missingWarned = new Set<string>();
  /** What the last `read` could not read from Cloud Map: the service list or a service. */
  private failed: ReadFailure[] = [];

  constructor(
    readonly namespace: NamespaceInfo,
    private readonly cloudMap: CloudMapPort,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly opts: ReaderOptions,
  ) {}

  /** Forces a full re-list of a service next cycle (after the checker changed it). */
  invalidate(serviceId: string): void {
    this.cache.delete(serviceId);
  }

  /**
   * Snapshots of every service that could be read. A service whose read failed is served from
   * cache when there is one, and left out otherwise (so nothing is decided about it).
   */
  async read(): Promise<ServiceSnapshot[]> {
    this.failed = [];
    const services = await this.listServices();
    const snapshots: Array<ServiceSnapshot | undefined> = new Array(services.length);
    // A few services at a time: one after another, a namespace of 100 services would spend
    // seconds of each cycle on round trips before its first probe.
    await pool([...services.keys()], READ_CONCURRENCY, async (k) => {
      snapshots[k] = await this.readService(services[k]!);
    });
    return snapshots.filter((s): s is ServiceSnapshot => s !== undefined);
  }

  /** What the last `read` could not read (empty when everything was read). */
  get failures(): readonly ReadFailure[] {
    return this.failed;
  }

  private async listServices(): Promise<ServiceInfo[]> {
    const now = this.clock.now();
    if (this.services && now - this.servicesAt < this.opts.serviceRefreshMs) return this.services;
    try {
      const all = await this.cloudMap.listServices(this.namespace.id);
      this.services = this.filter(all);
      this.servicesAt = now;
      const ids = new Set(this.services.map((s) => s.id));
      for (const id of this.cache.keys()) if (!ids.has(id)) this.cache.delete(id);
    } catch (err) {
      if (!this.services) throw err;
      this.failed.push({ service: undefined, error: describeAwsError(err) });
      // The cycle reports the outage once (see observability/outages.ts); this is detail.
      this.logger.debug(
        { err: describeAwsError(err) },
        "could not refresh the service list; using the previous one",
      );
    }
    return this.services;
  }

  private filter(all: ServiceInfo[]): ServiceInfo[] {
    const allow = this.opts.allowList;
    if (!allow) return all;
    for (const name of allow) {
      if (!all.some((s) => s.name === name) && !this.missingWarned.has(name)) {
        this.missingWarned.add(name);
        this.logger.warn({ service: name }, "allow-listed service not found in the namespace");
      }
    }
    return all.filter((s) => allow.includes(s.name));
  }

  private async readService(info: ServiceInfo): Promise<ServiceSnapshot | undefined> {
    const cached = this.cache.get(info.id);
    const now = this.clock.now();
    let revision: string | undefined;
    try {
      revision = await this.cloudMap.discoverRevision(this.namespace.httpName, info.name);
    } catch (err) {
      this.logger.debug(
        { service: info.name, err: describeAwsError(err) },
        "DiscoverInstancesRevision failed; re-listing instead",
      );
    }
    const fresh =
      cached !== undefined &&
      revision !== undefined &&
      cached.revision === revision &&
      now - cached.listedAt < this.opts.resyncMs;
    if (fresh) return { ...cached, info };
    try {
      const listed = await this.cloudMap.discoverInstances(this.namespace.httpName, info);
      const statuses = info.customHealth
        ? await this.cloudMap.getHealthStatuses(info.id)
        : new Map<string, CustomStatus>();
      const entry: CacheEntry = {
        info,
        instances: listed.instances,
        statuses,
        listedAt: now,
        // The listing's own revision: the one read first may already be behind it.
        revision: listed.revision,
      };
      this.cache.set(info.id, entry);
      return entry;
    } catch (err) {
      this.failed.push({ service: info.name, error: describeAwsError(err) });
      this.logger.debug(
        { service: info.name, err: describeAwsError(err), cached: cached !== undefined },
        "could not list instances; using the previous listing if any",
      );
      return cached ? { ...cached, info } : undefined;
    }
  }
}
