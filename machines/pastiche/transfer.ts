/**
 * How a range transfer and an assembly end. A range that came in is done; one that failed waits out
 * a backoff (`backoffMs`, doubling per failure of that range, at most `backoffMaxMs`) and goes to
 * another holder first, and the peer is no longer taken to hold the blob until it says so again (a
 * dead peer is not asked over and over). A peer whose bytes the edge found bad is counted and never
 * asked for that blob again; its other ranges of the blob in flight are given up.
 *
 * An assembly that hashes wrong says one of the peers that sent its ranges lied, not which (the name
 * is the hash of the whole). With one sender, that is the liar: counted and excluded. With several,
 * the blob is fetched again whole from each of them alone in turn, so the next wrong hash names its
 * sender, and a right one ends it. No peer is ever counted on suspicion alone. Pure module.
 */
import type { Effect } from '../effects.js'
import { tell, unhold } from './holdings.js'
import type { Assembled, Fetched, PasticheContext, Wanted } from './types.js'

/** `node` sent bad bytes of `w`: counted, excluded from `w`, its other ranges of `w` in flight given up. */
function blame(ctx: PasticheContext, w: Wanted, node: string, out: Effect[]): void {
  ctx.badPeers[node] = (ctx.badPeers[node] ?? 0) + 1
  ctx.counters.bad++
  if (!w.excluded.includes(node)) w.excluded.push(node)
  w.suspects = w.suspects.filter((n) => n !== node)
  for (const r of w.ranges) {
    if (r.id === null || r.from !== node) continue
    delete ctx.transfers[r.id]
    tell(out, ctx.transferTo, { type: 'fetch.cancel', id: r.id })
    r.id = null
    r.from = null
  }
}

export function fetched(ctx: PasticheContext, ev: Fetched, out: Effect[]): void {
  const hash = ctx.transfers[ev.id]
  if (hash === undefined) return // given up, or not ours
  delete ctx.transfers[ev.id]
  const w = ctx.wants[hash]
  const r = w?.ranges.find((x) => x.id === ev.id)
  if (w === undefined || r === undefined) return
  const node = r.from!
  r.id = null
  r.from = null
  if (ev.result === 'ok' && ev.bytes === r.length) {
    ctx.counters.ok++
    r.done = true
    r.by = node
    return
  }
  // Fewer or more bytes than asked, from an answer that claims success, is a bad range too.
  if (ev.result === 'bad' || ev.result === 'ok') return blame(ctx, w, node, out)
  ctx.counters.failed++
  r.failures++
  if (!r.failedOn.includes(node)) r.failedOn.push(node)
  r.notBefore = ctx.now + Math.min(ctx.config.backoffMaxMs, ctx.config.backoffMs * 2 ** (r.failures - 1))
  unhold(ctx, hash, node)
}

export function assembled(ctx: PasticheContext, ev: Assembled, out: Effect[]): void {
  const w = Object.values(ctx.wants).find((x) => x.assembling === ev.id)
  if (w === undefined) return
  w.assembling = null
  if (ev.ok) {
    // The edge stored it; `blob.held` follows from the store, but the decision need not wait for it.
    ctx.counters.completed++
    ctx.held[w.hash] = w.bytes ?? 0
    w.from = [...new Set(w.ranges.map((r) => r.by).filter((n): n is string => n !== null))].sort()
    w.ranges = []
    w.suspects = []
    w.phase = 'held'
    if (ctx.pinned[w.hash] === undefined) {
      ctx.pinned[w.hash] = true
      tell(out, ctx.storeTo, { type: 'pin', hash: w.hash })
    }
    return
  }
  ctx.counters.badAssemblies++
  const senders = [...new Set(w.ranges.map((r) => r.by).filter((n): n is string => n !== null))].sort()
  w.ranges = []
  w.phase = 'missing'
  if (senders.length === 1) blame(ctx, w, senders[0]!, out)
  else if (senders.length === 0) {
    // Nothing was sent, so the size it was told was wrong: learn it again.
    w.bytes = null
    w.askedAt = null
  } else w.suspects = senders.filter((n) => !w.excluded.includes(n))
}
