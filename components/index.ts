// The package's main module (package.json `main`: dist/components/index.js). Pulumi's plugin
// host publishes every ComponentResource class exported here to other languages (`pulumi
// package add`), so it exports CloudMapHealthChecker alone: the verify experiment's component
// is internal to `verify` (import it from ./verify-experiment).
export { CloudMapHealthChecker, TYPE_TOKEN, ecrRepositoryArn } from "./health-checker";
export {
  Architecture,
  CheckAction,
  CheckProtocol,
  LogLevel,
  MetricsFormat,
  type CheckerSettings,
  type CloudMapHealthCheckerArgs,
  type ServiceOverride,
} from "./args";
export { taskRolePolicy, executionRolePolicy, ecsTasksTrust } from "./iam";
