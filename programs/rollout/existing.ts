// Existing checker stacks. A local `file://` backend is read directly (no Pulumi CLI needed, so
// `plan` never touches Pulumi); other backends are listed through the Automation API.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { ExistingStack } from "./plan";
import { FINGERPRINT_OUTPUT } from "./stack-config";

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
  const out: ExistingStack[] = [];
  for (const f of readdirSync(dir).sort()) {
    // Pulumi writes NAME.json, or NAME.json.gz with PULUMI_SELF_MANAGED_STATE_GZIP.
    const m = /^(.+)\.json(\.gz)?$/.exec(f);
    if (!m) continue;
    const print = deployedFingerprint(path.join(dir, f), m[2] !== undefined);
    out.push({ name: m[1]!, ...(print ? { fingerprint: print } : {}) });
  }
  return out;
}

interface Checkpoint {
  checkpoint?: {
    latest?: { resources?: Array<{ type?: string; outputs?: Record<string, unknown> }> };
  };
}

/** The fingerprint the stack's root resource exports; undefined when unreadable or absent. */
function deployedFingerprint(file: string, gzip: boolean): string | undefined {
  try {
    const raw = readFileSync(file);
    const doc = JSON.parse((gzip ? gunzipSync(raw) : raw).toString("utf8")) as Checkpoint;
    const root = doc.checkpoint?.latest?.resources?.find((r) => r.type === "pulumi:pulumi:Stack");
    const print = root?.outputs?.[FINGERPRINT_OUTPUT];
    return typeof print === "string" ? print : undefined;
  } catch {
    // A stack file we cannot read is still a stack: planned as an update, never a no-op.
    return undefined;
  }
}
