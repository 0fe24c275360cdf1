/**
 * What this node holds and wants, and what its peers hold: the rules for `want`, `unwant`,
 * `blob.held`, `blob.gone`, `peers` and `has.answer`. A holding is declarative: kept true until
 * withdrawn, so a held wanted blob is pinned, one that disappears is fetched again, and `unwant` gives
 * up whatever is in flight for it and unpins. Holdings are persisted (`want/<hash>`) so a restart keeps
 * them. Mutates the context in place and pushes effects, like the strew machines' rules. Pure module.
 */
import type { Effect } from '../effects.js'
import { DEFAULT_PASTICHE_CONFIG, STORE_PORT, TRANSFER_PORT, type BlobGone, type BlobHeld, type HasAnswer, type PasticheContext, type PasticheInput, type PasticheMessage, type Peers, type PersistedWant, type Unwant, type Want, type Wanted } from './types.js'

/** Sends `msg` to `to` (control class: a decision is never dropped by a full mailbox). */
export function tell(out: Effect[], to: string, msg: PasticheMessage): void {
  out.push({ type: 'send', to, event: msg, cls: 'control' })
}

const validSize = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

export function createPasticheContext(o: PasticheInput): PasticheContext {
  const ctx: PasticheContext = {
    node: o.node,
    now: o.now,
    config: { ...DEFAULT_PASTICHE_CONFIG, ...o.config },
    transferTo: o.transferTo ?? TRANSFER_PORT,
    storeTo: o.storeTo ?? STORE_PORT,
    held: {},
    pinned: {},
    wants: {},
    peers: {},
    holders: {},
    asks: {},
    asking: {},
    transfers: {},
    badPeers: {},
    counters: { fetches: 0, ok: 0, failed: 0, bad: 0, badAssemblies: 0, completed: 0 },
    nextId: 1,
    ticking: false,
    announce: o.announce === undefined ? null : { input: o.announce, announced: null, sending: null, notBefore: o.now },
  }
  for (const b of o.held ?? []) if (validSize(b.bytes)) ctx.held[b.hash] = b.bytes
  for (const w of o.wants ?? []) ctx.wants[w.hash] = fresh(o.node, w.hash, validSize(w.bytes) ? w.bytes : null)
  return ctx
}

function fresh(node: string, hash: string, bytes: number | null): Wanted {
  return { hash, bytes, phase: 'missing', ranges: [], assembling: null, excluded: [], suspects: [], from: [], askedAt: null, askCursor: spread(`${node} ${hash}`), circle: 0, circleAt: null }
}

/** Where a node starts asking about a blob: spread over the peer list, so a hundred nodes wanting one blob do not all ask the same peers first. */
function spread(s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0
  return h % 1_000_003
}

/** At start: restored holdings already held are pinned (the store kept its pins; pinning again is harmless). */
export function restored(ctx: PasticheContext, out: Effect[]): void {
  for (const hash of Object.keys(ctx.wants).sort()) if (ctx.held[hash] !== undefined) settle(ctx, ctx.wants[hash]!, out)
}

/** A wanted blob is held: nothing more to fetch; pinned so the store never evicts it. */
function settle(ctx: PasticheContext, w: Wanted, out: Effect[]): void {
  abandon(ctx, w, out)
  w.phase = 'held'
  w.bytes = ctx.held[w.hash] ?? w.bytes
  w.suspects = []
  if (ctx.pinned[w.hash] === undefined) {
    ctx.pinned[w.hash] = true
    tell(out, ctx.storeTo, { type: 'pin', hash: w.hash })
  }
}

/** Gives up every transfer in flight for `w` (each told to stop; late answers are ignored) and its ranges. */
export function abandon(ctx: PasticheContext, w: Wanted, out: Effect[]): void {
  for (const r of w.ranges) {
    if (r.id === null) continue
    delete ctx.transfers[r.id]
    tell(out, ctx.transferTo, { type: 'fetch.cancel', id: r.id })
  }
  w.ranges = []
  w.assembling = null
}

export function want(ctx: PasticheContext, ev: Want, out: Effect[]): void {
  const bytes = validSize(ev.bytes) ? ev.bytes : null
  const w = ctx.wants[ev.hash] ?? (ctx.wants[ev.hash] = fresh(ctx.node, ev.hash, bytes))
  if (w.bytes === null && bytes !== null) w.bytes = bytes
  const p: PersistedWant = { hash: w.hash, bytes: w.bytes }
  out.push({ type: 'persist', key: `want/${w.hash}`, value: p })
  if (ctx.held[w.hash] !== undefined && w.phase !== 'held') settle(ctx, w, out)
}

export function unwant(ctx: PasticheContext, ev: Unwant, out: Effect[]): void {
  const w = ctx.wants[ev.hash]
  if (w === undefined) return
  abandon(ctx, w, out)
  delete ctx.wants[ev.hash]
  out.push({ type: 'persist', key: `want/${ev.hash}`, value: null })
  if (ctx.pinned[ev.hash] !== undefined) {
    delete ctx.pinned[ev.hash]
    tell(out, ctx.storeTo, { type: 'unpin', hash: ev.hash })
  }
}

export function held(ctx: PasticheContext, ev: BlobHeld, out: Effect[]): void {
  if (!validSize(ev.bytes)) return
  ctx.held[ev.hash] = ev.bytes
  const w = ctx.wants[ev.hash]
  if (w !== undefined && w.phase !== 'held') settle(ctx, w, out)
}

/** The store lost a blob (its pin went with it): a wanted one is fetched again. */
export function gone(ctx: PasticheContext, ev: BlobGone): void {
  delete ctx.held[ev.hash]
  delete ctx.pinned[ev.hash]
  const w = ctx.wants[ev.hash]
  if (w === undefined || w.phase !== 'held') return
  w.phase = 'missing'
  w.askedAt = null
}

/** `node` is no longer taken to hold `hash`. */
export function unhold(ctx: PasticheContext, hash: string, node: string): void {
  const hs = ctx.holders[hash]
  if (hs === undefined) return
  delete hs[node]
  for (const _ in hs) return
  delete ctx.holders[hash]
}

/**
 * The peers known now. What one announced it holds in full replaces what was known of it; a partial
 * announcement only adds (a blob it did not name may still be held); without one, what was known is kept.
 */
export function peers(ctx: PasticheContext, ev: Peers): void {
  const next: PasticheContext['peers'] = {}
  const announced: Record<string, Map<string, number>> = {}
  const complete: Record<string, boolean> = {}
  // The list comes from the network (the catalog): a malformed entry is skipped, not trusted.
  for (const p of Array.isArray(ev.peers) ? ev.peers : []) {
    if (typeof p?.node !== 'string' || p.node === ctx.node || typeof p.address !== 'string' || p.address === '') continue
    if (p.holds !== undefined && !Array.isArray(p.holds)) continue
    next[p.node] = { address: p.address }
    if (p.holds === undefined) continue
    announced[p.node] = new Map(p.holds.filter((h) => typeof h?.hash === 'string' && (h.bytes === undefined || validSize(h.bytes))).map((h) => [h.hash, h.bytes ?? 0]))
    complete[p.node] = p.partial !== true
  }
  for (const n in complete) if (complete[n]) next[n]!.holds = [...announced[n]!.keys()]
  ctx.peers = next
  for (const hash of Object.keys(ctx.holders)) {
    for (const n of Object.keys(ctx.holders[hash]!)) if (next[n] === undefined || (complete[n] === true && !announced[n]!.has(hash))) unhold(ctx, hash, n)
  }
  for (const n in announced) {
    for (const [h, bytes] of announced[n]!) {
      const hs = (ctx.holders[h] ??= {})
      // 0 is "size not known": it does not forget a size a `has` answer gave.
      if (bytes > 0 || hs[n] === undefined) hs[n] = bytes
      const w = ctx.wants[h]
      if (w !== undefined && w.bytes === null && bytes > 0) w.bytes = bytes
    }
  }
}

/** A peer said whether it holds a blob (a failed ask says nothing). */
export function hasAnswer(ctx: PasticheContext, ev: HasAnswer): void {
  const ask = ctx.asks[ev.id]
  if (ask === undefined) return
  delete ctx.asks[ev.id]
  if (--ctx.asking[ask.hash]! <= 0) delete ctx.asking[ask.hash]
  if (!ev.ok || ctx.peers[ask.node] === undefined) return
  if (!ev.held) return unhold(ctx, ask.hash, ask.node)
  if (!validSize(ev.bytes)) return
  ;(ctx.holders[ask.hash] ??= {})[ask.node] = ev.bytes
  const w = ctx.wants[ask.hash]
  if (w !== undefined && w.bytes === null) w.bytes = ev.bytes
}
