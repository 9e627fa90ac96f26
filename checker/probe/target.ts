// Where to probe an instance, from its Cloud Map attributes. Never throws: a malformed
// instance gets a problem string and is skipped.

import { isIPv4 } from "node:net";
import type { CheckSpec, ProbeTarget } from "../domain/types";

export function probeTarget(
  attributes: Readonly<Record<string, string>>,
  check: CheckSpec,
): ProbeTarget {
  const ip = attributes["AWS_INSTANCE_IPV4"];
  if (ip === undefined || ip === "") {
    if (attributes["AWS_INSTANCE_IPV6"]) {
      return { ok: false, problem: "IPv6-only instance: not supported" };
    }
    return { ok: false, problem: "attribute AWS_INSTANCE_IPV4 is missing" };
  }
  if (!isIPv4(ip)) {
    return {
      ok: false,
      problem: `attribute AWS_INSTANCE_IPV4 is not an IPv4 address: ${JSON.stringify(ip)}`,
    };
  }
  if (check.port !== undefined) {
    if (!isPort(check.port)) {
      return { ok: false, problem: `check port is not a port: ${JSON.stringify(check.port)}` };
    }
    return { ok: true, host: ip, port: check.port };
  }
  const rawPort = attributes["AWS_INSTANCE_PORT"];
  if (rawPort === undefined || rawPort === "") {
    return {
      ok: false,
      problem: "attribute AWS_INSTANCE_PORT is missing and no check port is set",
    };
  }
  const port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : NaN;
  if (!isPort(port)) {
    return {
      ok: false,
      problem: `attribute AWS_INSTANCE_PORT is not a port (1-65535): ${JSON.stringify(rawPort)}`,
    };
  }
  return { ok: true, host: ip, port };
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}
