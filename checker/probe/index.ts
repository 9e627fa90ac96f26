export { probeTarget } from "./target";
export { NetProber } from "./net-prober";
export { httpProbe } from "./http";
export { tcpProbe } from "./tcp";
export type { Outcome } from "./outcome";
export {
  runSpread,
  offsetOf,
  autoConcurrency,
  ProbeConcurrency,
  type SpreadOptions,
} from "./schedule";
export { isLocalError } from "./outcome";
export { isRequestPath, REQUEST_PATH } from "./request-path";
