/**
 * Where one pick's instances go. Fewest moves first: instances already running on a node of the set
 * stay (up to the per-node cap and the count); if there are too many, the most stacked and most loaded
 * nodes give theirs up; if too few, each new instance goes to the node with the fewest of this service,
 * then the least total load, then the lowest seeded rank, so equal nodes are chosen by the seed rather
 * than by name. A retry's hints (see solver.ts) come before the load: a node to avoid is kept and
 * filled last, a node to take first.
 */

/** One pick's inputs. Arrays are indexed by node. */
export interface PlaceInput {
  /** The instances wanted. */
  readonly k: number
  /** At most this many on one node. */
  readonly cap: number
  /** The nodes allowed, ascending. Computed only when needed. */
  readonly members: () => number[]
  readonly inSet: (i: number) => boolean
  /** This service's current instances: the nodes with any, and the count per node. */
  readonly currentNodes: readonly number[]
  readonly current: ReadonlyMap<number, number>
  /** Instances of every service per node; updated in place as this pick places. */
  readonly load: Float64Array
  /** The seeded tie-break per node, computed only when needed. */
  readonly rank: () => Uint32Array
  /** A retry's hint per node: above 0, leave it if possible; below 0, take it if possible. */
  readonly bias?: (i: number) => number
}

/** Places one pick; returns the count per node (a sparse map: node → count > 0). */
export function place(p: PlaceInput): Map<number, number> {
  const out = new Map<number, number>()
  let total = 0
  const bias = p.bias ?? (() => 0)
  for (const i of p.currentNodes) {
    // A node to avoid gives its instances up; if nothing else is left, the fill puts them back.
    if (!p.inSet(i) || bias(i) > 0) continue
    const c = Math.min(p.current.get(i) ?? 0, p.cap)
    if (c > 0) {
      out.set(i, c)
      total += c
    }
  }
  if (total > p.k) total = trim(p, out, total)
  if (total < p.k) fill(p, out, total)
  for (const [i, c] of out) p.load[i]! += c
  return out
}

/** Gives up instances, from the most stacked nodes, then the most loaded, then the highest rank. */
function trim(p: PlaceInput, out: Map<number, number>, total: number): number {
  const rank = p.rank()
  while (total > p.k) {
    let level = 0
    for (const c of out.values()) level = Math.max(level, c)
    const top = [...out.keys()].filter((i) => out.get(i) === level)
    top.sort((a, b) => p.load[b]! - p.load[a]! || rank[b]! - rank[a]!)
    for (const i of top) {
      if (level === 1) out.delete(i)
      else out.set(i, level - 1)
      if (--total === p.k) break
    }
  }
  return total
}

/** Adds instances one at a time to the least-filled node, through a binary heap over the members. */
function fill(p: PlaceInput, out: Map<number, number>, total: number): void {
  const rank = p.rank()
  const bias = p.bias ?? (() => 0)
  const cnt = (i: number) => out.get(i) ?? 0
  const less = (a: number, b: number) => {
    const d = cnt(a) - cnt(b) || bias(a) - bias(b) || p.load[a]! - p.load[b]!
    return d !== 0 ? d < 0 : rank[a]! < rank[b]! || (rank[a] === rank[b] && a < b)
  }
  const heap = p.members().filter((i) => cnt(i) < p.cap)
  const down = (at: number) => {
    for (;;) {
      const l = 2 * at + 1
      const r = l + 1
      let m = at
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r
      if (m === at) return
      ;[heap[at], heap[m]] = [heap[m]!, heap[at]!]
      at = m
    }
  }
  for (let at = (heap.length >>> 1) - 1; at >= 0; at--) down(at)
  while (total < p.k && heap.length > 0) {
    const i = heap[0]!
    const c = cnt(i) + 1
    out.set(i, c)
    total++
    // The load is added once the pick is done; the count alone orders this pick's own instances.
    if (c >= p.cap) {
      heap[0] = heap[heap.length - 1]!
      heap.pop()
    }
    down(0)
  }
}
