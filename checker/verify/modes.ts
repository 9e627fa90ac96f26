// The checker image's two extra modes for the `verify` experiment (no second image to build or
// trust): `verify-echo` and `verify-client`. Both run until SIGTERM.

import type { Command } from "commander";
import { exitBadInput } from "../startup";
import { startClient } from "./client";
import { startEcho, taskIdFromMetadata } from "./echo";

function integer(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    exitBadInput([`${flag}: expected an integer from ${min} to ${max}, got "${raw}"`]);
  }
  return n;
}

function untilSignal(stop: () => Promise<void>): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      void stop().then(() => process.exit(0));
    });
  }
}

async function echo(o: { host: string; port: string }): Promise<void> {
  const port = integer("--port", o.port, 0, 65535);
  const taskId = await taskIdFromMetadata(process.env["ECS_CONTAINER_METADATA_URI_V4"]);
  const server = await startEcho({ host: o.host, port, taskId });
  process.stdout.write(`${JSON.stringify({ kind: "verify-echo", taskId, port: server.port })}\n`);
  untilSignal(() => server.close());
}

function client(o: { url: string; rate: string; timeoutMs: string }): void {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    exitBadInput([`--url: expected an http:// URL, got "${o.url}"`]);
  }
  if (url.protocol !== "http:") exitBadInput([`--url: expected an http:// URL, got "${o.url}"`]);
  const rate = integer("--rate", o.rate, 1, 1000);
  const timeoutMs = integer("--timeout-ms", o.timeoutMs, 1, 60_000);
  const c = startClient({
    url: url.toString(),
    rate,
    timeoutMs,
    write: (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
  });
  untilSignal(() => c.stop());
}

export function addVerifyModes(program: Command): void {
  program
    .command("verify-echo")
    .description("verify experiment: answer every request with this ECS task's ID")
    .option("--host <address>", "address to listen on", "0.0.0.0")
    .option("--port <port>", "port to listen on", "8080")
    .action(echo);
  program
    .command("verify-client")
    .description(
      "verify experiment: send a steady stream of requests, log one JSON line a second of answers by task",
    )
    .requiredOption("--url <url>", "the echo service's Service Connect URL")
    .option("--rate <n>", "requests a second", "20")
    .option("--timeout-ms <ms>", "per-request timeout", "2000")
    .action(client);
}
