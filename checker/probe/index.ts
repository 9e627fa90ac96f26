export { probeTarget } from "./target";
export { NetProber } from "./net-prober";
export { runSpread, offsetOf, type SpreadOptions } from "./schedule";
