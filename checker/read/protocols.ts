// `--check-protocol auto`: each task of a Service Connect service is probed in the protocol its
// task definition gives the port mapping Service Connect uses (appProtocol http, http2 or grpc;
// none: tcp). Task definitions are described once per revision (revisions are immutable) and
// kept; a failed describe is retried after a back-off. Services ECS does not manage get http.

import type {
  CheckSpec,
  ProbeProtocol,
  ServiceInfo,
  TaskDefinitionPorts,
  TaskLookup,
} from "../domain/types";
import type { Clock, EcsPort } from "../ports";
import { describeAwsError } from "../aws/errors";
import { pool } from "../util/pool";

/** Task definitions kept at most; a namespace runs a few revisions per service at a time. */
const BOOK_CAP = 2000;
const DESCRIBE_CONCURRENCY = 2;
const RETRY_BASE_MS = 2000;
const RETRY_MAX_MS = 60_000;

export interface AutoChoice {
  readonly protocol: ProbeProtocol;
  /** Where it came from, for /status: `api:7 port mapping "api" appProtocol grpc`. */
  readonly why: string;
}

/**
 * The probe protocol for an instance of Cloud Map service `serviceName` whose task runs task
 * definition `td`. Service Connect names the Cloud Map service after the port mapping (its
 * `discoveryName` defaults to the `portName`); where none is named so, the mapping on the
 * instance's port. No mapping found, or none with an appProtocol: a TCP connect, the one check
 * every listener answers.
 */
export function autoProtocol(
  td: TaskDefinitionPorts,
  serviceName: string,
  instancePort: string | undefined,
): AutoChoice {
  let found = td.portMappings.filter((m) => m.name === serviceName);
  let how = `port mapping "${serviceName}"`;
  if (found.length === 0 && instancePort !== undefined) {
    found = td.portMappings.filter((m) => String(m.containerPort) === instancePort);
    how = `port mapping on port ${instancePort}`;
  }
  if (found.length === 0) {
    return {
      protocol: "tcp",
      why: `${td.name}: no port mapping named "${serviceName}" or on port ${instancePort ?? "?"}`,
    };
  }
  const protocols = new Set(found.map((m) => m.appProtocol));
  if (protocols.size > 1) {
    return {
      protocol: "tcp",
      why: `${td.name}: ${how} is ambiguous (${[...protocols].join(", ")})`,
    };
  }
  const app = found[0]!.appProtocol;
  const protocol: ProbeProtocol | undefined =
    app === undefined
      ? "tcp"
      : app === "grpc"
        ? "grpc"
        : app === "http2"
          ? "http2"
          : app === "http"
            ? "http"
            : undefined;
  if (protocol === undefined) {
    return {
      protocol: "tcp",
      why: `${td.name}: ${how} has appProtocol ${app}, not one the checker speaks`,
    };
  }
  return {
    protocol,
    why:
      app === undefined
        ? `${td.name}: ${how} has no appProtocol`
        : `${td.name}: ${how} appProtocol ${app}`,
  };
}

type Entry =
  | { readonly ports: TaskDefinitionPorts }
  | { readonly error: string; readonly retryAt: number; readonly failures: number };

/** Task definitions described so far, by ARN (with revision). */
export class TaskDefinitionBook {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** DescribeTaskDefinition calls made, for tests and benchmarks. */
  calls = 0;

  constructor(
    private readonly ecs: Pick<EcsPort, "describeTaskDefinition">,
    private readonly clock: Pick<Clock, "now">,
    private readonly onError: (arn: string, error: string, first: boolean) => void = () =>
      undefined,
  ) {}

  get(arn: string): TaskDefinitionPorts | undefined {
    const e = this.entries.get(arn);
    return e !== undefined && "ports" in e ? e.ports : undefined;
  }

  /** Why a task definition is not known yet. */
  missing(arn: string): string {
    const e = this.entries.get(arn);
    if (e !== undefined && "error" in e) return `DescribeTaskDefinition failed: ${e.error}`;
    return "task definition not described yet";
  }

  /** Describes those not known yet (each once at a time; a failure waits out its back-off). */
  fetch(arns: Iterable<string>): Promise<void> {
    const now = this.clock.now();
    const due: string[] = [];
    const waits: Promise<void>[] = [];
    for (const arn of new Set(arns)) {
      const flying = this.inFlight.get(arn);
      if (flying) waits.push(flying);
      else {
        const e = this.entries.get(arn);
        if (e === undefined || ("error" in e && e.retryAt <= now)) due.push(arn);
      }
    }
    if (due.length > 0) {
      let release!: () => void;
      const batch = new Promise<void>((r) => (release = r));
      for (const arn of due) this.inFlight.set(arn, batch);
      waits.push(batch);
      void pool(due, DESCRIBE_CONCURRENCY, (arn) => this.describe(arn)).finally(() => {
        for (const arn of due) this.inFlight.delete(arn);
        release();
      });
    }
    return Promise.all(waits).then(() => undefined);
  }

  private async describe(arn: string): Promise<void> {
    this.calls++;
    try {
      const ports = await this.ecs.describeTaskDefinition(arn);
      this.entries.delete(arn);
      this.entries.set(arn, { ports });
    } catch (err) {
      const prev = this.entries.get(arn);
      const failures = prev !== undefined && "failures" in prev ? prev.failures + 1 : 1;
      // Exponential back-off with jitter: a throttled or refused describe is not hammered.
      const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1));
      const error = describeAwsError(err);
      this.entries.set(arn, {
        error,
        failures,
        retryAt: this.clock.now() + backoff * (0.5 + Math.random() / 2),
      });
      this.onError(arn, error, failures === 1);
    }
    // Oldest first out: Map keeps insertion order, and a hit is not re-inserted (revisions
    // in use are described again after eviction, which costs one call).
    while (this.entries.size > BOOK_CAP) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** The outcome of resolving one instance's check. */
export type Resolved =
  | { readonly check: CheckSpec; readonly why: string }
  | { readonly pending: string; readonly arn: string | undefined };

/**
 * The check for one instance: the configured one unless it says `auto`; then http where ECS
 * does not manage the service, else by the task's task definition.
 */
export function resolveCheck(
  check: CheckSpec,
  service: ServiceInfo,
  instance: { readonly attributes: Readonly<Record<string, string>> },
  task: TaskLookup | undefined,
  book: Pick<TaskDefinitionBook, "get" | "missing">,
  specs: CheckSpecs,
): Resolved {
  if (check.protocol !== "auto") return { check, why: "configured" };
  if (service.ecsService === undefined) {
    return { check: specs.with(check, "http"), why: "auto: not an ECS-managed service" };
  }
  if (task === undefined || task.kind !== "task") {
    return { pending: "ECS task not described yet", arn: undefined };
  }
  const arn = task.task.taskDefinitionArn;
  // Real ECS always names it; should it not, the weakest check any listener answers.
  if (arn === undefined) {
    return { check: specs.with(check, "tcp"), why: "auto: ECS gave no task definition" };
  }
  const td = book.get(arn);
  if (td === undefined) return { pending: book.missing(arn), arn };
  return specs.auto(check, td, service.name, instance.attributes["AWS_INSTANCE_PORT"]);
}

/**
 * One CheckSpec per configured check and protocol, so probes share them rather than copy; and
 * auto's choice per task definition, service and port, so a steady namespace's cycles allocate
 * nothing to resolve (20,000 instances each cycle).
 */
export class CheckSpecs {
  private readonly made = new WeakMap<CheckSpec, Map<ProbeProtocol, CheckSpec>>();
  private readonly chosen = new WeakMap<
    CheckSpec,
    WeakMap<TaskDefinitionPorts, Map<string, Map<string | undefined, Resolved>>>
  >();

  /** `check` (an `auto` one) resolved by `td` for an instance of `service` on `port`. */
  auto(
    check: CheckSpec,
    td: TaskDefinitionPorts,
    service: string,
    port: string | undefined,
  ): Resolved {
    let byTd = this.chosen.get(check);
    if (byTd === undefined) this.chosen.set(check, (byTd = new WeakMap()));
    let byService = byTd.get(td);
    if (byService === undefined) byTd.set(td, (byService = new Map()));
    let byPort = byService.get(service);
    if (byPort === undefined) byService.set(service, (byPort = new Map()));
    let resolved = byPort.get(port);
    if (resolved === undefined) {
      const choice = autoProtocol(td, service, port);
      resolved = { check: this.with(check, choice.protocol), why: `auto: ${choice.why}` };
      byPort.set(port, resolved);
    }
    return resolved;
  }

  with(check: CheckSpec, protocol: ProbeProtocol): CheckSpec {
    let byProtocol = this.made.get(check);
    if (byProtocol === undefined) this.made.set(check, (byProtocol = new Map()));
    let spec = byProtocol.get(protocol);
    if (spec === undefined) byProtocol.set(protocol, (spec = { ...check, protocol }));
    return spec;
  }
}
