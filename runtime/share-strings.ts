/**
 * Structural string sharing for the road's self-address loop (road-core.ts): a looped message goes
 * through its codecs to bytes and back, so the receiver gets exactly what a remote one would, but
 * every string in it is then a new copy of a string the sender still holds. A node that is its own
 * steward kept each registration's strings three times over (the reeve's service, the steward's
 * catalog, the reeve's copy of the catalog): 20 000 registrations, ≈ 15 MB of strings.
 *
 * {@link shareStrings} walks the decoded message beside the one that was encoded and, wherever both
 * hold an equal string at the same place, puts the sender's string in the decoded message. Only
 * strings are shared (they cannot be changed); objects and arrays stay the receiver's own, so no actor
 * can reach into another's state. Values are unchanged, so nothing that reads them can tell.
 */

const MAX_DEPTH = 8

/** Replaces equal strings of `decoded` with `original`'s, in place; returns `decoded`. */
export function shareStrings<T>(decoded: T, original: unknown): T {
  walk(decoded, original, 0)
  return decoded
}

function walk(d: unknown, o: unknown, depth: number): void {
  if (depth > MAX_DEPTH || typeof d !== 'object' || d === null || typeof o !== 'object' || o === null) return
  if (Array.isArray(d)) {
    if (!Array.isArray(o)) return
    const n = Math.min(d.length, o.length)
    for (let i = 0; i < n; i++) {
      const v = d[i]
      if (typeof v === 'string') {
        if (v === o[i]) d[i] = o[i]
      } else walk(v, o[i], depth + 1)
    }
    return
  }
  if (ArrayBuffer.isView(d)) return
  const dr = d as Record<string, unknown>
  const or = o as Record<string, unknown>
  for (const k in dr) {
    const v = dr[k]
    if (typeof v === 'string') {
      if (v === or[k]) dr[k] = or[k]
    } else if (typeof v === 'object') walk(v, or[k], depth + 1)
  }
}
