/**
 * The fetch policy, run after every event: for each wanted blob not held (in hash order, so a run is a
 * function of its events), ask peers whether they hold it when no usable holder or no size is known;
 * split it into ranges across the peers that hold it; send each range not in and not in flight to a
 * holder (bounded in flight per blob and per peer, a range that failed waiting out its backoff and
 * going to another peer first); and once every range is in, have the edge hash and store it. A range
 * in flight is never sent twice: a slow transfer is waited for (the edge answers every fetch, at its
 * deadline at the latest). Pure module.
 */
import type { Effect } from '../effects.js'
import { tell } from './holdings.js'
import type { PasticheContext, Range, Wanted } from './types.js'

/** Ranges in flight per peer now. */
function loads(ctx: PasticheContext): Record<string, number> {
  const load: Record<string, number> = {}
  for (const w of Object.values(ctx.wants)) for (const r of w.ranges) if (r.id !== null && r.from !== null) load[r.from] = (load[r.from] ?? 0) + 1
  return load
}

/** The peers that hold `w` and may be asked for it, by node id; one suspect alone while they are tried one by one. */
export function holdersOf(ctx: PasticheContext, w: Wanted): string[] {
  const hs = ctx.holders[w.hash]
  if (hs === undefined) return (w.suspects = [], [])
  const ok = (n: string) => hs[n] !== undefined && !w.excluded.includes(n)
  while (w.suspects.length > 0 && !ok(w.suspects[0]!)) w.suspects.shift()
  if (w.suspects.length > 0) return [w.suspects[0]!]
  return Object.keys(hs).filter(ok).sort()
}

/** The size of `w`: asked with it, or announced by a peer. */
function sizeOf(ctx: PasticheContext, w: Wanted, holders: string[]): number | null {
  if (w.bytes !== null) return w.bytes
  for (const n of holders) {
    const b = ctx.holders[w.hash]![n]!
    if (b > 0) return b
  }
  return null
}

/** Whether a `has` about `hash` is in flight. */
function asking(ctx: PasticheContext, hash: string): boolean {
  return ctx.asking[hash] !== undefined
}

/**
 * The peers worth asking about `w`: not excluded, and not one whose complete announcement settles it
 * (it does not name the blob: it does not hold it; it names it with its size and is taken to hold it).
 * One that names it but is no longer taken to (a range from it failed), or without a size, is asked.
 */
function askable(ctx: PasticheContext, w: Wanted): string[] {
  const hs = ctx.holders[w.hash]
  return Object.keys(ctx.peers)
    .filter((n) => {
      const named = ctx.peers[n]!.holds
      return !w.excluded.includes(n) && (named === undefined || (named.includes(w.hash) && !(hs?.[n]! > 0)))
    })
    .sort()
}

/** One round of `has` to the next `askFanout` peers (rotating, so every peer is asked in turn); `fresh` begins a circle. */
function ask(ctx: PasticheContext, w: Wanted, fresh: boolean, out: Effect[]): void {
  w.askedAt = ctx.now
  if (fresh) {
    w.circle = 0
    w.circleAt = ctx.now
  }
  const nodes = askable(ctx, w)
  const k = Math.min(ctx.config.askFanout, nodes.length)
  for (let i = 0; i < k; i++) {
    const node = nodes[(w.askCursor + i) % nodes.length]!
    const id = ctx.nextId++
    ctx.asks[id] = { node, hash: w.hash }
    ctx.asking[w.hash] = (ctx.asking[w.hash] ?? 0) + 1
    tell(out, ctx.transferTo, { type: 'has', id, hash: w.hash, to: ctx.peers[node]!.address })
  }
  w.askCursor = nodes.length === 0 ? w.askCursor : (w.askCursor + k) % nodes.length
  w.circle += k
}

/** Equal ranges, as many as there are holders (at most `perBlob`, none under `minRange`); one while suspects are tried alone. */
function split(ctx: PasticheContext, w: Wanted, size: number, holders: number): Range[] {
  const n = w.suspects.length > 0 ? 1 : Math.max(1, Math.min(ctx.config.perBlob, holders, Math.floor(size / ctx.config.minRange)))
  const base = Math.floor(size / n)
  return Array.from({ length: n }, (_, i) => ({ offset: i * base, length: i === n - 1 ? size - i * base : base, done: false, by: null, id: null, from: null, failures: 0, notBefore: 0, failedOn: [] }))
}

/** -1, 0 or 1 as `a` sorts before, with or after `b` (number tuples of one length). */
function lex(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
  return 0
}

/** The holder to send `r` to: below its bound, not one that failed it, not already serving this blob, least loaded; ties by node id. */
function pick(ctx: PasticheContext, w: Wanted, r: Range, holders: string[], load: Record<string, number>): string | null {
  let best: string | null = null
  let bestKey: number[] = []
  for (const n of holders) {
    if ((load[n] ?? 0) >= ctx.config.perPeer) continue
    const key = [r.failedOn.includes(n) ? 1 : 0, w.ranges.filter((x) => x.id !== null && x.from === n).length, load[n] ?? 0]
    if (best === null || lex(key, bestKey) < 0) {
      best = n
      bestKey = key
    }
  }
  return best
}

function fetchOne(ctx: PasticheContext, w: Wanted, r: Range, node: string, load: Record<string, number>, out: Effect[]): void {
  const id = ctx.nextId++
  r.id = id
  r.from = node
  ctx.transfers[id] = w.hash
  load[node] = (load[node] ?? 0) + 1
  ctx.counters.fetches++
  tell(out, ctx.transferTo, { type: 'fetch', id, hash: w.hash, from: ctx.peers[node]!.address, offset: r.offset, length: r.length })
}

/** Moves every wanted, missing blob on as far as it can go now. */
export function plan(ctx: PasticheContext, out: Effect[]): void {
  const load = loads(ctx)
  let busy = Object.keys(ctx.transfers).length
  let peerCount = -1
  // Not every event needs it, and the list may be long: counted once, when first needed. Peers whose
  // announcements settle a blob are not asked about it (askable): counted for that blob alone.
  const announcing = Object.values(ctx.peers).some((p) => p.holds !== undefined)
  const morePeers = (w: Wanted) => w.circle < (announcing ? askable(ctx, w).length : peerCount < 0 ? (peerCount = Object.keys(ctx.peers).length) : peerCount)
  for (const hash of Object.keys(ctx.wants).sort()) {
    const w = ctx.wants[hash]!
    if (w.phase !== 'missing') continue
    const holders = holdersOf(ctx, w)
    const size = sizeOf(ctx, w, holders)
    const stale = w.askedAt === null || ctx.now - w.askedAt >= ctx.config.askEveryMs
    const unknown = holders.length === 0 || size === null
    // Not split yet and fewer holders than ranges it could take: more are looked for, for a while.
    const gathering = w.ranges.length === 0 && w.suspects.length === 0 && holders.length < ctx.config.perBlob && ctx.now - (w.circleAt ?? -Infinity) < ctx.config.gatherMs
    if (stale && (w.askedAt === null || unknown)) ask(ctx, w, true, out)
    else if ((unknown || gathering) && !asking(ctx, hash) && morePeers(w)) ask(ctx, w, false, out)
    if (size === null) continue
    if (w.bytes === null) w.bytes = size
    if (w.ranges.length === 0) {
      if (holders.length === 0 && size > 0) continue
      // Answers still coming or peers not asked yet: more holders, more ranges in parallel.
      if (gathering && (asking(ctx, hash) || morePeers(w))) continue
      w.ranges = size === 0 ? [] : split(ctx, w, size, holders.length)
    }
    let inFlight = w.ranges.filter((r) => r.id !== null).length
    for (const r of w.ranges) {
      if (inFlight >= ctx.config.perBlob || busy >= ctx.config.total) break
      if (r.done || r.id !== null || r.notBefore > ctx.now) continue
      const node = pick(ctx, w, r, holders, load)
      if (node === null) continue
      fetchOne(ctx, w, r, node, load, out)
      inFlight++
      busy++
    }
    if (w.ranges.every((r) => r.done)) {
      w.phase = 'assembling'
      w.assembling = ctx.nextId++
      tell(out, ctx.transferTo, { type: 'assemble', id: w.assembling, hash, bytes: size })
    }
  }
}

/** Whether anything wanted is still to fetch (the machine is `working` and ticks). */
export function missing(ctx: PasticheContext): boolean {
  for (const h in ctx.wants) if (ctx.wants[h]!.phase !== 'held') return true
  return false
}

/** Keeps the tick armed exactly while something is missing. */
export function rearm(ctx: PasticheContext, out: Effect[]): void {
  const need = missing(ctx)
  if (need === ctx.ticking) return
  ctx.ticking = need
  out.push(need ? { type: 'timer.set', name: 'tick', ms: ctx.config.tickMs } : { type: 'timer.cancel', name: 'tick' })
}
