// Pulumi.yaml's main: `npm run build && pulumi up` runs this (compiled) file.

import { createStack } from "./stack";

const checker = createStack();

export const serviceArn = checker.serviceArn;
export const taskRoleArn = checker.taskRoleArn;
export const securityGroupId = checker.securityGroupId;
export const logGroupName = checker.logGroupName;
export const clusterArn = checker.clusterArn;
export const stateTableName = checker.stateTableName;
export const imageUri = checker.imageUri;
export const dashboardName = checker.dashboardName;
export const alarmArns = checker.alarmArns;
