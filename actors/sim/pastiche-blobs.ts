/**
 * The blobs of a simulated pastiche run (`crux sim --blobs B`): B small blobs whose bytes come from the
 * seed (so their names, real SHA-256 hashes, do too), each placed on a few nodes at the start and wanted
 * on a few others; and the peers that corrupt what they serve. Everything is drawn from one generator
 * of its own, so adding blobs to a run shifts nothing else in it.
 */
import { createHash } from 'node:crypto'
import { Rng } from '../../runtime/rng.js'

/** One blob: its name, its bytes, where it starts and where it is wanted. */
export interface SimBlob {
  hash: string
  bytes: Buffer
  /** Node indices holding it at the start. */
  placed: number[]
  /** Node indices it is wanted on (never one it is placed on). */
  wanted: number[]
  /** The heartbeat each of `wanted` is given its holding at. */
  wantedAt: number[]
}

export interface BlobPlan {
  blobs: SimBlob[]
  /** Node indices that flip a byte of every range they serve. */
  corrupt: number[]
}

/** Sizes drawn in [MIN_BYTES, MAX_BYTES]: a few KB, so a blob splits into a few ranges. */
export const MIN_BYTES = 1024
export const MAX_BYTES = 8192
/** Holders at the start and nodes wanting each blob, at most. */
export const PLACED = 2
export const WANTED = 3

/** `sha256:<hex>` of `b`. */
export function blobName(b: Uint8Array): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`
}

/** `k` distinct indices below `n`, none in `not`, in the order drawn. */
function pickDistinct(rng: Rng, n: number, k: number, not: readonly number[]): number[] {
  const free = Array.from({ length: n }, (_, i) => i).filter((i) => !not.includes(i))
  const out: number[] = []
  while (out.length < k && free.length > 0) out.push(free.splice(rng.int(free.length), 1)[0]!)
  return out
}

/** The blobs and corrupt peers of a run of `nodes` nodes with seed `seed`; holdings are given at heartbeats in [0, spreadHb). */
export function planBlobs(seed: number, nodes: number, blobs: number, corruptPeers: number, spreadHb: number): BlobPlan {
  const rng = new Rng(`sim:${seed}:pastiche:blobs`)
  const out: SimBlob[] = []
  for (let i = 0; i < blobs; i++) {
    const size = MIN_BYTES + rng.int(MAX_BYTES - MIN_BYTES + 1)
    const bytes = Buffer.alloc(size)
    for (let j = 0; j < size; j += 4) bytes.writeUInt32LE(rng.u32(), Math.min(j, size - 4))
    // A blob index in its first bytes, so two blobs never share a name.
    bytes.writeUInt32LE(i, 0)
    const placed = pickDistinct(rng, nodes, Math.min(PLACED, nodes), [])
    const wanted = pickDistinct(rng, nodes, Math.min(WANTED, nodes - placed.length), placed)
    wanted.sort((a, b) => a - b)
    const wantedAt = wanted.map(() => rng.int(Math.max(1, spreadHb)))
    out.push({ hash: blobName(bytes), bytes, placed: placed.sort((a, b) => a - b), wanted, wantedAt })
  }
  const corrupt = pickDistinct(rng, nodes, Math.min(corruptPeers, nodes), []).sort((a, b) => a - b)
  return { blobs: out, corrupt }
}
