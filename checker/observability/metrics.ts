// Prometheus metrics (prom-client). Each checker gets its own Registry so tests and
// benchmarks can run several checkers in one process.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class Metrics {
  readonly registry = new Registry();

  readonly probes = new Counter({
    name: "cmhc_probes_total",
    help: "Probes by service and result",
    labelNames: ["service", "result"] as const,
    registers: [this.registry],
  });

  readonly probeLocalErrors = new Counter({
    name: "cmhc_probe_local_errors_total",
    help: "Probes that failed inside the checker before reaching the target (never counted against it)",
    labelNames: ["service"] as const,
    registers: [this.registry],
  });

  readonly probeDuration = new Histogram({
    name: "cmhc_probe_duration_seconds",
    help: "Probe time by service, from connect to verdict (a timeout counts as its full length)",
    labelNames: ["service"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly instances = new Gauge({
    name: "cmhc_instances",
    help: "Instances by service, verdict (healthy|unhealthy) and whether Cloud Map hands them out",
    labelNames: ["service", "verdict", "in_rotation"] as const,
    registers: [this.registry],
  });

  readonly actions = new Counter({
    name: "cmhc_actions_total",
    help: "Actions on Cloud Map by service, kind and outcome (ok|error|dry_run|stale: not sent, a later probe contradicted it)",
    labelNames: ["service", "kind", "outcome"] as const,
    registers: [this.registry],
  });

  readonly holds = new Counter({
    name: "cmhc_held_actions_total",
    help: "Actions a safety rule held back, by service and rule",
    labelNames: ["service", "rule"] as const,
    registers: [this.registry],
  });

  readonly awsCalls = new Counter({
    name: "cmhc_aws_calls_total",
    help: "AWS API calls by service, operation and outcome (ok|throttled|error)",
    labelNames: ["aws_service", "operation", "outcome"] as const,
    registers: [this.registry],
  });

  readonly cycleDuration = new Histogram({
    name: "cmhc_cycle_duration_seconds",
    help: "Duration of a full read-probe-decide-act cycle",
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60],
    registers: [this.registry],
  });

  readonly cyclePhase = new Histogram({
    name: "cmhc_cycle_phase_seconds",
    help: "Time of each cycle in a phase: lease, read (Cloud Map), ecs (ECS), act (mutations) wait on AWS; probe and decide are the checker's own",
    labelNames: ["phase"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  readonly cycles = new Counter({
    name: "cmhc_cycles_total",
    help: "Cycles by result (ok|late|failed|degraded)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly replacementsStopped = new Gauge({
    name: "cmhc_replacements_stopped",
    help: "1 per ECS service where replacing stopped: the tasks that replaced stopped ones kept failing",
    labelNames: ["ecs_service"] as const,
    registers: [this.registry],
  });

  readonly degraded = new Gauge({
    name: "cmhc_degraded",
    help: "1 while the last cycle judged the checker itself degraded",
    registers: [this.registry],
  });

  readonly lastCycle = new Gauge({
    name: "cmhc_last_cycle_completed_timestamp_seconds",
    help: "Unix time the last cycle completed",
    registers: [this.registry],
  });

  readonly leaseHeld = new Gauge({
    name: "cmhc_lease_held",
    help: "1 while this replica holds the namespace's lease and may act",
    registers: [this.registry],
  });

  readonly leaseHolder = new Gauge({
    name: "cmhc_lease_holder",
    help: "1 for the replica seen holding the namespace's lease",
    labelNames: ["owner"] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: "cmhc_state_store_errors_total",
    help: "Failed reads or writes of the durable state store (DynamoDB)",
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: "cmhc_" });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
