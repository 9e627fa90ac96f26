// The closed lists of the component's args, as the analyzer takes a literal enum: an `as const`
// object with a type of the same name after it (TypeScript callers still pass plain strings).

/** Probe protocols (`https`, `http2s`, `grpcs`: TLS, certificate not verified). */
export const CheckProtocol = {
  Auto: "auto",
  Http: "http",
  Https: "https",
  Http2: "http2",
  Http2s: "http2s",
  Grpc: "grpc",
  Grpcs: "grpcs",
  Tcp: "tcp",
} as const;
export type CheckProtocol = (typeof CheckProtocol)[keyof typeof CheckProtocol];

/** How instances are taken out of rotation; `auto` picks per service from its health-check config. */
export const CheckAction = {
  Auto: "auto",
  Deregister: "deregister",
  CustomStatus: "custom-status",
  Observe: "observe",
} as const;
export type CheckAction = (typeof CheckAction)[keyof typeof CheckAction];

/** The checker's log level. */
export const LogLevel = {
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
  Fatal: "fatal",
  Silent: "silent",
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** How the checker writes CloudWatch metrics. */
export const MetricsFormat = {
  Auto: "auto",
  Emf: "emf",
  Off: "off",
} as const;
export type MetricsFormat = (typeof MetricsFormat)[keyof typeof MetricsFormat];

/** Fargate CPU architecture of the checker's task. */
export const Architecture = {
  Arm64: "ARM64",
  X86_64: "X86_64",
} as const;
export type Architecture = (typeof Architecture)[keyof typeof Architecture];
