// Which probe results are worth a decision before the cycle ends: the loop decides as soon as
// one lands, so a target probed early in the cycle does not wait for the last probe.

import type { InstanceState, ProbeResult, ServicePolicy } from "../domain/types";

/**
 * True when folding `probe` into `state` reaches a threshold that may move the instance out of
 * rotation or back in. It errs towards true (the startup grace and the caps are the planner's
 * to apply); an instance seen for the first time starts healthy with no failures.
 */
export function isDecisive(
  state: InstanceState | undefined,
  probe: ProbeResult,
  policy: Pick<ServicePolicy, "unhealthyThreshold" | "healthyThreshold">,
): boolean {
  if (probe.local === true) return false; // the checker's own error says nothing of the target
  if (probe.ok) {
    if (state === undefined || state.inRotation) return false;
    return state.verdict === "healthy" || state.consecutiveSuccesses + 1 >= policy.healthyThreshold;
  }
  if (state === undefined) return policy.unhealthyThreshold <= 1;
  // An unhealthy instance kept in rotation by a cap stays held: the cycle's end looks again.
  return (
    state.inRotation &&
    state.verdict === "healthy" &&
    state.consecutiveFailures + 1 >= policy.unhealthyThreshold
  );
}
