// Existing checker stacks. A local `file://` backend is read directly (no Pulumi CLI needed, so
// `plan` never touches Pulumi); other backends are listed through the Automation API.

import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ExistingStack } from "./plan";

export const PROJECT = "cloudmap-health-checker";

/** Stacks of this project in a file backend, or undefined when the backend is not a file one. */
export function fileBackendStacks(backendUrl: string | undefined): ExistingStack[] | undefined {
  if (!backendUrl?.startsWith("file://")) return undefined;
  const raw = backendUrl.slice("file://".length);
  const root =
    raw === "~" || raw.startsWith("~/")
      ? path.join(homedir(), raw.slice(1))
      : raw.startsWith("/")
        ? raw
        : fileURLToPath(backendUrl);
  const dir = path.join(root, ".pulumi", "stacks", PROJECT);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => ({ name: f.slice(0, -".json".length) }));
}
