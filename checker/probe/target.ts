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
  if (check.port !== undefined) return { ok: true, host: ip, port: check.port };
  const rawPort = attributes["AWS_INSTANCE_PORT"];
  if (rawPort === undefined || rawPort === "") {
    return {
      ok: false,
      problem: "attribute AWS_INSTANCE_PORT is missing and no check port is set",
    };
  }
  const port = /^\d+$/.test(rawPort) ? Number(rawPort) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    return {
      ok: false,
      problem: `attribute AWS_INSTANCE_PORT is not a port: ${JSON.stringify(rawPort)}`,
    };
  }
  return { ok: true, host: ip, port };
}
