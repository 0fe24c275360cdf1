/**
 * The live page's Confab poll: every `everyMs`, a `names` query to each node it knows an address of
 * (the node's own role, flock, leader and epoch) and a `members` query to each leader (who is in the
 * flock, at which address). One sealed UDP endpoint for all of it; an unanswered query is not resent,
 * the next round asks again. Answers go to `onAnswer` with the address they came from.
 */
import type { ConfabAnswer, ConfabAsk } from '../../machines/flock/types.js'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'
import { decodeWire } from '../flock/wire-codec.js'
import { paddedQuery } from '../flock/confab-client.js'

/** Queries per round at most, so a large flock costs the visualiser's host a bounded rate. */
const MAX_PER_ROUND = 64

export interface LivePollOptions {
  secret: Uint8Array
  everyMs: number
  /** Asked at the start of every round. */
  targets(): { names: string[]; members: string[] }
  onAnswer(answer: ConfabAnswer, from: string): void
}

export interface LivePoll {
  close(): Promise<void>
}

export async function startLivePoll(o: LivePollOptions): Promise<LivePoll> {
  const udp = await createUdpTransport({ host: '0.0.0.0', port: 0 })
  const keyId = crypto.getRandomValues(new Uint32Array(1))[0]!
  const sealed = createSealedTransport({ transport: udp }, { secret: o.secret, keyId, startCounter: Math.floor(Date.now() / 1000) * 2 ** 21 })
  // Nonces of this round's and the last round's queries: an answer to anything else is not ours.
  let asked = new Map<number, ConfabAsk>()
  let before = new Map<number, ConfabAsk>()
  let offset = 0
  const ask = (to: string, what: ConfabAsk, target = '', page = 0) => {
    const nonce = crypto.getRandomValues(new Uint32Array(1))[0]!
    asked.set(nonce, what)
    try {
      sealed.send(to, paddedQuery({ nonce, ask: what, introduce: '', target, page, time: Date.now() }))
    } catch {
      // An address that cannot be sent to (malformed, closed socket) is skipped this round.
    }
  }
  sealed.onReceive((bytes, from) => {
    let ev
    try {
      ev = decodeWire(bytes)
    } catch {
      return // not an answer: ignored
    }
    if (ev.type !== 'confab.answer') return
    const a = ev.answer
    const what = asked.get(a.nonce) ?? before.get(a.nonce)
    if (what === undefined) return
    o.onAnswer(a, from)
    // The first page of a member list says how many there are: ask for the rest, of the same node.
    if (what === 'members' && a.index === 0 && a.reason === '') for (let p = 1; p < Math.min(a.count, MAX_PER_ROUND); p++) ask(from, 'members', a.node, p)
  })
  const round = () => {
    before = asked
    asked = new Map()
    const t = o.targets()
    for (const addr of t.members.slice(0, MAX_PER_ROUND / 4)) ask(addr, 'members')
    // Round-robin over the names, so every node is asked within a few rounds of a large flock.
    const names = t.names
    const count = Math.min(names.length, MAX_PER_ROUND)
    for (let i = 0; i < count; i++) ask(names[(offset + i) % names.length]!, 'names')
    offset = names.length === 0 ? 0 : (offset + count) % names.length
  }
  round()
  const timer = setInterval(round, o.everyMs)
  return {
    async close() {
      clearInterval(timer)
      await sealed.close()
    },
  }
}
