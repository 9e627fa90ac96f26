// Builds the AWS SDK clients. Only the CLI entry point (and tests) call this.

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import type { DeserializeMiddleware, MetadataBearer, MiddlewareStack } from "@smithy/types";
import { awsErrorName, isThrottlingError } from "./errors";

export type CallOutcome = "ok" | "throttled" | "error";
export type OnCall = (
  service: string,
  operation: string,
  outcome: CallOutcome,
  errorName?: string,
) => void;

export interface AwsClientOptions {
  readonly region?: string;
  /** Overrides the endpoint; AWS_ENDPOINT_URL(_SERVICE) is honoured by the SDK without this. */
  readonly endpoint?: string;
  /** Attempts per call, first one included (default 5). */
  readonly maxAttempts?: number;
  /**
   * Forces Cloud Map's `data-` host prefix off (true) or on (false). Default: off exactly when
   * an endpoint override is in effect (opts.endpoint or the AWS_ENDPOINT_URL variables).
   */
  readonly disableHostPrefix?: boolean;
  /** Called once per HTTP attempt (so retries count too), for metrics. */
  readonly onCall?: OnCall;
}

export interface AwsClients {
  readonly serviceDiscovery: ServiceDiscoveryClient;
  readonly ecs: ECSClient;
  readonly dynamodb: DynamoDBClient;
}

/**
 * Whether the SDK will send Cloud Map calls somewhere other than AWS's own hosts. Mirrors the
 * SDK's environment lookup; an `endpoint_url` in the shared config file is not detected (pass
 * `disableHostPrefix` or `endpoint` explicitly in that case).
 */
export function endpointOverridden(
  endpoint: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (endpoint) return true;
  if (/^(1|true)$/i.test(env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] ?? "")) return false;
  return !!env["AWS_ENDPOINT_URL_SERVICEDISCOVERY"] || !!env["AWS_ENDPOINT_URL"];
}

export function buildAwsClients(opts: AwsClientOptions = {}): AwsClients {
  const common = {
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // Adaptive: standard retries plus client-side rate limiting once AWS starts throttling.
    retryMode: "adaptive",
    maxAttempts: opts.maxAttempts ?? 5,
  } as const;
  // Real AWS serves DiscoverInstances* on a `data-` host; an override (an emulator, a proxy)
  // serves everything on one host, where the prefix would break name resolution.
  const disableHostPrefix = opts.disableHostPrefix ?? endpointOverridden(opts.endpoint);
  const serviceDiscovery = new ServiceDiscoveryClient({
    ...common,
    ...(disableHostPrefix ? { disableHostPrefix: true } : {}),
  });
  const ecs = new ECSClient(common);
  const dynamodb = new DynamoDBClient(common);
  if (opts.onCall) {
    instrument(serviceDiscovery, "servicediscovery", opts.onCall);
    instrument(ecs, "ecs", opts.onCall);
    instrument(dynamodb, "dynamodb", opts.onCall);
  }
  return { serviceDiscovery, ecs, dynamodb };
}

/**
 * Reports every attempt: the deserialize step runs inside the retry loop (finalizeRequest),
 * and at high priority this sees the error after the SDK has parsed it.
 */
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
      onCall(service, operation, isThrottlingError(err) ? "throttled" : "error", awsErrorName(err));
      throw err;
    }
  };
  client.middlewareStack.add(middleware, {
    step: "deserialize",
    name: "cmhcCallCounter",
    priority: "high",
  });
}
