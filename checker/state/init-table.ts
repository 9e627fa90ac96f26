// Creates the state table from the shared schema, idempotently (`init-state`).

import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { createTableInput, STATE_TABLE_SCHEMA } from "./table-schema";

export async function ensureStateTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<"created" | "exists"> {
  let outcome: "created" | "exists" = "exists";
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const keys = (Table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).sort();
    const want = [
      `${STATE_TABLE_SCHEMA.partitionKey.name}:HASH`,
      `${STATE_TABLE_SCHEMA.sortKey.name}:RANGE`,
    ].sort();
    if (keys.join() !== want.join()) {
      throw new Error(
        `table ${tableName} exists with keys ${keys.join(", ")}; the checker needs ${want.join(", ")}`,
      );
    }
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
      outcome = "created";
    } catch (e) {
      if (!(e instanceof ResourceInUseException)) throw e; // created concurrently: fine
    }
  }
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1 }, { TableName: tableName });
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (status !== "ENABLED" && status !== "ENABLING") {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: STATE_TABLE_SCHEMA.ttlAttribute, Enabled: true },
      }),
    );
  }
  return outcome;
}
