// Builds the AWS SDK clients. Only the CLI entry point (and tests) call this.

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { NodeHttpHandler } from "@smithy/node-http-handler"; // the SDK's own Node HTTP handler
import type { DeserializeMiddleware, MetadataBearer, MiddlewareStack } from "@smithy/types";
import { awsErrorName, isThrottlingError } from "./errors";
import { ONE_OFF_TIMEOUTS, type AwsTimeouts } from "./timeouts";

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
  /** Bounds on every call (see timeouts.ts); default: those of a 5 s interval. */
  readonly timeouts?: AwsTimeouts;
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
  const timeouts = opts.timeouts ?? ONE_OFF_TIMEOUTS;
  const common = {
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // Adaptive: standard retries plus client-side rate limiting once AWS starts throttling.
    retryMode: "adaptive",
    maxAttempts: opts.maxAttempts ?? 5,
    // The SDK's default handler has no timeout at all: a connection accepted and never answered
    // would hold the call, and the cycle, for good. Each attempt is bounded; a timed-out attempt
    // throws TimeoutError, which the SDK retries.
    requestHandler: new NodeHttpHandler({
      connectionTimeout: timeouts.connectMs,
      requestTimeout: timeouts.attemptMs,
      throwOnRequestTimeout: true,
      socketTimeout: timeouts.attemptMs,
    }),
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
  for (const client of [serviceDiscovery, ecs, dynamodb]) boundCalls(client, timeouts.callMs);
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

/** Anything with the SDK's promise-form `send(command, options)`. */
interface Sender {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/**
 * Bounds each whole call, retries included, to `callMs` (the SDK's `abortSignal` option), and
 * to any signal the caller passes (a mutation's share of the cycle). A call cut short throws a
 * TimeoutError naming the operation: transient, backed off from, never acted on.
 */
export function boundCalls(client: object, callMs: number): void {
  const sender = client as Sender;
  const send = sender.send.bind(sender);
  sender.send = async (command, options = {}) => {
    const own = AbortSignal.timeout(callMs);
    const given = options.abortSignal;
    const abortSignal = given ? AbortSignal.any([given, own]) : own;
    try {
      return await send(command, { ...options, abortSignal });
    } catch (err) {
      const fired = [own, given].find(
        (s) => s?.aborted && (s.reason as { name?: string } | undefined)?.name === "TimeoutError",
      );
      if (fired === undefined) throw err;
      const name = (command as { constructor?: { name?: string } }).constructor?.name ?? "call";
      const ms = fired === own ? callMs : undefined;
      throw Object.assign(
        new Error(
          `${name.replace(/Command$/, "")} got no answer ${ms ? `within ${ms} ms` : "in the time left"}`,
        ),
        { name: "TimeoutError", cause: err },
      );
    }
  };
}
