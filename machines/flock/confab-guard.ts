/**
 * Who gets a Confab answer (issue 13): the envelope proves a query came from a holder of the secret,
 * but not when, nor for which node. A captured datagram replays as well as the original, and the
 * envelope's replay window lives in a bounded key memory that forgets senders and dies with the
 * process. So the query itself carries its time and its target inside the sealed part, and this
 * module decides, from the query and the context alone, whether it may be answered:
 *
 * - a query smaller than a full envelope payload gets nothing (no answer is larger than its query);
 * - a query naming another node, or whose time is off ours by more than the skew, is refused;
 * - an admin query older than this machine's start is refused (no state survives a restart, none
 *   needs to: every query before it is refused);
 * - an admin query id seen within the last 2 × skew gets its stored answer again, and the command
 *   does not run twice; when that memory is full, new admin queries are refused (fail closed).
 */
import type { ConfabAnswer, ConfabAsk, ConfabQuery, FlockContext } from './types.js'

/** The asks that change the node (and must name it). */
export const ADMIN_ASKS: ReadonlySet<ConfabAsk> = new Set(['reboot', 'candidate', 'dump'])

/** What to do with a query: drop it silently, refuse it with a reason, repeat an answer, or run it. */
export type Admission =
  | { verdict: 'drop'; rule: string }
  | { verdict: 'refuse'; rule: string; reason: string }
  | { verdict: 'repeat'; rule: string; answer: ConfabAnswer }
  | { verdict: 'run' }

/** The query's id: its nonce alone is 32 random bits, with the time a collision needs the same ms too. */
export function queryId(q: ConfabQuery): string {
  return `${q.time}:${q.nonce}`
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`

/** Decides whether `q` may be answered at `now` (forgets expired admin ids first). */
export function admit(ctx: FlockContext, q: ConfabQuery, now: number): Admission {
  const cfg = ctx.cfg
  // Silent: the sender may be spoofed, and any answer at all would be larger than this query.
  if ((q.size ?? 0) < cfg.confabMinBytes) return { verdict: 'drop', rule: 'confab-unpadded' }
  const admin = ADMIN_ASKS.has(q.ask)
  if (q.target !== ctx.me.id && (admin || q.target !== '')) {
    // At most 24 + 64 bytes: an answer's reason is ≤ 96.
    const reason = q.target === '' ? 'an admin query must name its node' : `names another node, not ${ctx.me.id}`
    return { verdict: 'refuse', rule: 'confab-other-node', reason }
  }
  const off = q.time - now
  if (Math.abs(off) > cfg.confabSkewMs) {
    const reason = `query time is ${seconds(Math.abs(off))} ${off < 0 ? 'behind' : 'ahead of'} this node's clock (allowed ${seconds(cfg.confabSkewMs)})`
    return { verdict: 'refuse', rule: 'confab-stale', reason }
  }
  if (!admin) return { verdict: 'run' }
  if (q.time < ctx.confab.startedAt) return { verdict: 'refuse', rule: 'confab-before-start', reason: "query is older than this node's start" }
  forgetExpired(ctx, now)
  const seen = ctx.confab.answers[queryId(q)]
  if (seen !== undefined) return { verdict: 'repeat', rule: 'confab-repeat', answer: seen }
  if (ctx.confab.order.length >= cfg.confabIdsMax) {
    return { verdict: 'refuse', rule: 'confab-busy', reason: `too many admin queries within ${seconds(2 * cfg.confabSkewMs)}; try again later` }
  }
  return { verdict: 'run' }
}

/** Remembers the answer to admin query `q` for 2 × skew: past that its time is refused anyway. */
export function remember(ctx: FlockContext, q: ConfabQuery, answer: ConfabAnswer, now: number): void {
  const id = queryId(q)
  ctx.confab.answers[id] = answer
  // Arrival order with a fixed lifetime keeps `order` sorted by expiry. A query is at most skew old
  // when taken and refused once more than skew old, so 2 × skew after arrival covers it.
  ctx.confab.order.push({ id, until: now + 2 * ctx.cfg.confabSkewMs })
}

function forgetExpired(ctx: FlockContext, now: number): void {
  const order = ctx.confab.order
  let n = 0
  while (n < order.length && order[n]!.until < now) delete ctx.confab.answers[order[n++]!.id]
  if (n > 0) order.splice(0, n)
}
