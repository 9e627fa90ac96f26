// Plays the awslogs driver for a process run on loopback: each stdout line goes to a CloudWatch
// Logs stream (in moto), with the time it was written.

import type { ChildProcess } from "node:child_process";
import readline from "node:readline";
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  type CloudWatchLogsClient,
} from "@aws-sdk/client-cloudwatch-logs";

export async function shipLogs(
  logs: CloudWatchLogsClient,
  child: ChildProcess,
  logGroupName: string,
  logStreamName: string,
): Promise<{ flushed(): Promise<void> }> {
  await logs.send(new CreateLogGroupCommand({ logGroupName })).catch(() => undefined);
  await logs.send(new CreateLogStreamCommand({ logGroupName, logStreamName }));
  let chain = Promise.resolve();
  readline.createInterface({ input: child.stdout! }).on("line", (message) => {
    const timestamp = Date.now();
    chain = chain
      .then(() =>
        logs.send(
          new PutLogEventsCommand({
            logGroupName,
            logStreamName,
            logEvents: [{ timestamp, message }],
          }),
        ),
      )
      .then(
        () => undefined,
        () => undefined,
      );
  });
  return { flushed: () => chain };
}
