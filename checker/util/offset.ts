// A stable pseudo-random offset per key: where in its spread a probe starts, and when a cached
// task state is refreshed. Shared by the probe schedule and the task cache.

/**
 * Stable offset in [0, spreadMs) for a key. FNV-1a over the seed, a NUL and the key, then
 * MurmurHash3's finaliser so that keys differing in their last characters land far apart: a
 * tenth of a SHA-1's cost, which showed at 20,000 keys a cycle.
 */
export function offsetOf(key: string, spreadMs: number, seed = ""): number {
  const span = Math.floor(spreadMs);
  if (!(span > 0)) return 0;
  let h = fnv1a(key, Math.imul(fnv1a(seed, 0x811c9dc5), 0x01000193)); // the NUL: h ^ 0 = h
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) % span;
}

function fnv1a(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}
