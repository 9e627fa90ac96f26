export { CloudMapHealthChecker, TYPE_TOKEN, ecrRepositoryArn } from "./health-checker";
export type { CloudMapHealthCheckerArgs, CheckerSettings, ServiceOverride } from "./args";
export { taskRolePolicy, executionRolePolicy, ecsTasksTrust } from "./iam";
export { VerifyExperiment, VERIFY_TYPE_TOKEN, ECHO_PORT } from "./verify-experiment";
export type { VerifyExperimentArgs } from "./verify-experiment";
