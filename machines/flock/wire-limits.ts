/**
 * The flock wire's bounds, kept here (pure) so that the machines' own checks — a restored
 * checkpoint's NodeIds came from peers through the codec — hold values to exactly what the codec
 * (actors/flock/wire-codec.ts, which re-exports this) lets through, no more and no less.
 */

/**
 * Bounds the codec enforces both ways. Strings are measured in UTF-8 bytes (for ASCII, characters):
 * that is what has to fit the datagram. Addresses (node and service) share one bound.
 */
export const WIRE_LIMITS = {
  /** Node moniker (NodeId.id, MemberEntry.id, ListChunk.removed[i]). */
  id: 64,
  /** Transport or service address (NodeId.addr, MemberEntry.addr, steward, registry, yurt, beacon). */
  addr: 96,
  horde: 64,
  flock: 64,
  epoch: 64,
  /** Member-list digest (16 hex digits today). */
  digest: 32,
  /** MemberEntry values per ListChunk.added, and ids per ListChunk.removed. */
  chunkEntries: 64,
} as const
