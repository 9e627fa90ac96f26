// What a check path may hold, shared by the config parser and the HTTP probe so the two cannot
// drift: a path config accepted that the probe then refuses would fail every probe.

/** A request target the probe can send as is: visible ASCII, no spaces (RFC 9112). */
export const REQUEST_PATH = /^\/[\x21-\x7e]*$/;

export function isRequestPath(path: string): boolean {
  return REQUEST_PATH.test(path);
}
