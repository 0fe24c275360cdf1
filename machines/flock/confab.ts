/**
 * Confab (seed 000; original §1.12): any node answers a holder of the flock secret who asks from
 * outside, without the asker joining. The secret is checked below, by the envelope: a query that
 * reaches the machine came from a key holder. Admin asks (reboot, candidate) run the same code as the
 * in-band admin packets of original §1.7 rule 1. A dump (seed 000's ring buffer) is an emit the
 * runtime carries out.
 */
import type { Effect } from '../effects.js'
import { CMD_CANDIDATE, CMD_REBOOT } from './constants.js'
import { adminInfo, byAddr, servicesOf } from './context.js'
import { listPages } from './member-list.js'
import { receive } from './receive.js'
import type { ConfabAnswer, ConfabQuery, FlockContext } from './types.js'

/** Answers query `q` from `from`; returns the rule name for the trace. */
export function answerConfab(ctx: FlockContext, q: ConfabQuery, from: string, now: number, role: string, out: Effect[]): string {
  const answer = (fields: Partial<ConfabAnswer>): void => {
    const a: ConfabAnswer = {
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
      ...fields,
    }
    out.push({ type: 'send', to: from, event: { type: 'confab.answer', answer: a } })
  }
  switch (q.ask) {
    case 'names':
      answer({})
      return 'confab-names'
    case 'members': {
      const pages = listPages(ctx.list, ctx.cfg.listChunkBytes)
      pages.forEach((entries, index) => answer({ entries, index, count: pages.length }))
      return 'confab-members'
    }
    case 'reboot':
      // Answer first: once rebooting the node answers nothing until it starts over.
      answer({ ok: ctx.rebootUntil === null })
      if (ctx.rebootUntil === null) receive(ctx, adminInfo(ctx, CMD_REBOOT), now, out)
      return 'confab-reboot'
    case 'candidate':
      if (q.introduce === '') {
        answer({ ok: false })
        return 'confab-candidate'
      }
      receive(ctx, adminInfo(ctx, CMD_CANDIDATE, byAddr(q.introduce)), now, out)
      answer({})
      return 'confab-candidate'
    case 'dump':
      // The ring buffer lives in the runtime, not here: ask it to send, and tell the asker it will.
      if (q.introduce === '') {
        answer({ ok: false })
        return 'confab-dump'
      }
      out.push({ type: 'emit', record: { type: 'Dump', to: q.introduce, nonce: q.nonce } })
      answer({})
      return 'confab-dump'
  }
}
