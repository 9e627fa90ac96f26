export { CloudMapHealthChecker, TYPE_TOKEN, ecrRepositoryArn } from "./health-checker";
export type { CloudMapHealthCheckerArgs, CheckerSettings, ServiceOverride } from "./args";
export { taskRolePolicy, executionRolePolicy, ecsTasksTrust } from "./iam";
