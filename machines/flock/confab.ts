/**
 * Confab (seed 000; original §1.12): any node answers a holder of the flock secret who asks from
 * outside, without the asker joining. The secret is checked below, by the envelope: a query that
 * reaches the machine came from a key holder. Whether it is answered — its size, time, target and id
 * — is confab-guard.ts. Admin asks (reboot, candidate) run the same code as the in-band admin packets
 * of original §1.7 rule 1. A dump (seed 000's ring buffer) is an emit the runtime carries out.
 *
 * Every query gets at most one answer datagram, no larger than the query: a member list is asked
 * page by page.
 */
import type { Effect } from '../effects.js'
import { CMD_CANDIDATE, CMD_REBOOT } from './constants.js'
import { adminInfo, byAddr, servicesOf } from './context.js'
import { admit, remember } from './confab-guard.js'
import { listPages, utf8Length } from './member-list.js'
import { receive } from './receive.js'
import type { ConfabAnswer, ConfabQuery, FlockContext, NodeId } from './types.js'

/** An upper bound on an answer's encoded bytes without its entries (tags, lengths, numbers at most). */
function headerBytes(a: ConfabAnswer): number {
  const str = (s: string) => utf8Length(s) + 3
  const node = (n: NodeId) => str(n.id) + str(n.addr) + str(n.horde) + 3
  // Packet wrapper 4; nonce, members, index, count 6 each; ok 2.
  return 4 + 24 + 2 + str(a.node) + str(a.flock) + node(a.leader) + str(a.steward) + str(a.registry) + str(a.epoch) + str(a.role) + str(a.reason)
}

/** The member list in pages that each fit, with the answer's own fields, in `bytes`. */
export function confabPages(ctx: FlockContext, base: ConfabAnswer, bytes: number): ConfabAnswer['entries'][] {
  // A page takes all the room its query paid for (headerBytes is an upper bound, so it fits).
  return listPages(ctx.list, Math.max(64, bytes - headerBytes(base)))
}

/** Answers query `q` from `from`; returns the rule name for the trace. */
export function answerConfab(ctx: FlockContext, q: ConfabQuery, from: string, now: number, role: string, out: Effect[]): string {
  const make = (fields: Partial<ConfabAnswer>): ConfabAnswer => ({
    nonce: q.nonce,
    node: ctx.me.id,
    flock: ctx.flock,
    leader: ctx.leader,
    members: ctx.list.size,
    steward: servicesOf(ctx).steward,
    registry: servicesOf(ctx).registry,
    epoch: ctx.epoch,
    role,
    entries: [],
    index: 0,
    count: 1,
    ok: true,
    reason: '',
    ...fields,
  })
  const send = (a: ConfabAnswer): void => void out.push({ type: 'send', to: from, event: { type: 'confab.answer', answer: a } })
  const gate = admit(ctx, q, now)
  if (gate.verdict === 'drop') return gate.rule
  if (gate.verdict === 'refuse') {
    send(make({ ok: false, reason: gate.reason }))
    return gate.rule
  }
  if (gate.verdict === 'repeat') {
    send(gate.answer)
    return gate.rule
  }
  // An admin answer is remembered, so a resent or replayed query gets it again instead of a rerun.
  const done = (a: ConfabAnswer, rule: string): string => {
    remember(ctx, q, a, now)
    send(a)
    return rule
  }
  switch (q.ask) {
    case 'names':
      send(make({}))
      return 'confab-names'
    case 'members': {
      // The query is at least confabMinBytes (admit), and that much is what an answer may take.
      const pages = confabPages(ctx, make({}), ctx.cfg.confabMinBytes)
      if (q.page >= pages.length) {
        send(make({ ok: false, index: q.page, count: pages.length, reason: `no page ${q.page} of ${pages.length}` }))
        return 'confab-no-page'
      }
      send(make({ entries: pages[q.page]!, index: q.page, count: pages.length }))
      return 'confab-members'
    }
    case 'reboot': {
      // Answer first: once rebooting the node answers nothing until it starts over.
      const idle = ctx.rebootUntil === null
      done(make({ ok: idle }), 'confab-reboot')
      if (idle) receive(ctx, adminInfo(ctx, CMD_REBOOT), now, out)
      return 'confab-reboot'
    }
    case 'candidate':
      if (q.introduce === '') return done(make({ ok: false }), 'confab-candidate')
      receive(ctx, adminInfo(ctx, CMD_CANDIDATE, byAddr(q.introduce)), now, out)
      return done(make({}), 'confab-candidate')
    case 'dump':
      // The ring buffer lives in the runtime, not here: ask it to send, and tell the asker it will.
      // It may be far larger than the query, but only a fresh query naming this node, once per query
      // id, from a holder of the secret, causes it (docs/LIMITS.md).
      if (q.introduce === '') return done(make({ ok: false }), 'confab-dump')
      out.push({ type: 'emit', record: { type: 'Dump', to: q.introduce, nonce: q.nonce } })
      return done(make({}), 'confab-dump')
  }
}
