// Builds the AWS SDK clients. Only the CLI entry point (and tests) call this.

import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import type { DeserializeMiddleware, MetadataBearer, MiddlewareStack } from "@smithy/types";
import { isThrottlingError } from "./errors";

export type CallOutcome = "ok" | "throttled" | "error";
export type OnCall = (
  service: string,
  operation: string,
  outcome: CallOutcome,
  errorName?: string,
) => void;

export interface AwsClientOptions {
  readonly region?: string;
  /** Overrides the endpoint; AWS_ENDPOINT_URL is honoured by the SDK without this. */
  readonly endpoint?: string;
  readonly maxAttempts?: number;
  /** Called once per HTTP attempt (retries included), for metrics. */
  readonly onCall?: OnCall;
}

export interface AwsClients {
  readonly serviceDiscovery: ServiceDiscoveryClient;
  readonly ecs: ECSClient;
}

export function buildAwsClients(opts: AwsClientOptions = {}): AwsClients {
  const overridden =
    opts.endpoint !== undefined ||
    !!process.env["AWS_ENDPOINT_URL"] ||
    !!process.env["AWS_ENDPOINT_URL_SERVICEDISCOVERY"];
  const common = {
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // Adaptive: standard retries plus client-side rate limiting once AWS starts throttling.
    retryMode: "adaptive",
    maxAttempts: opts.maxAttempts ?? 5,
  } as const;
  const serviceDiscovery = new ServiceDiscoveryClient({
    ...common,
    // Real AWS serves DiscoverInstances* on a `data-` host; an endpoint override (an emulator,
    // a VPC endpoint) serves everything on one host.
    ...(overridden ? { disableHostPrefix: true } : {}),
  });
  const ecs = new ECSClient(common);
  if (opts.onCall) {
    instrument(serviceDiscovery, "servicediscovery", opts.onCall);
    instrument(ecs, "ecs", opts.onCall);
  }
  return { serviceDiscovery, ecs };
}

/** Counts every attempt: in the deserialize step, inside the retry loop. */
function instrument(
  client: { middlewareStack: Pick<MiddlewareStack<object, MetadataBearer>, "add"> },
  service: string,
  onCall: OnCall,
): void {
  const middleware: DeserializeMiddleware<object, MetadataBearer> = (next, ctx) => async (args) => {
    const operation = (ctx.commandName ?? "unknown").replace(/Command$/, "");
    try {
      const out = await next(args);
      onCall(service, operation, "ok");
      return out;
    } catch (err) {
      const name = (err as { name?: string }).name;
      onCall(service, operation, isThrottlingError(err) ? "throttled" : "error", name);
      throw err;
    }
  };
  client.middlewareStack.add(middleware, {
    step: "deserialize",
    name: "cmhcCallCounter",
    priority: "high",
  });
}
