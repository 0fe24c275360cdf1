/**
 * Bounds on strew's string fields: what the gRPC edge accepts (strew-codec.ts) and what a fulcrum
 * accepts again when it restores its reeve's records (data-dir.ts). Free of protobuf code, so a
 * fulcrum that serves no gRPC loads none to check its data dir.
 */

/** Longest accepted value of each kind of field, in characters. */
export const STREW_LIMITS = { nodeId: 256, netId: 256, keyId: 256, name: 64, address: 96, various: 256, tags: 64, tag: 256 } as const

/** `s` is HOST:PORT with a port in 1–65535, at most {@link STREW_LIMITS}.address characters. */
export function isHostPort(s: string): boolean {
  const colon = s.lastIndexOf(':')
  const port = Number(s.slice(colon + 1))
  return s.length <= STREW_LIMITS.address && colon > 0 && Number.isInteger(port) && port >= 1 && port <= 65_535
}
