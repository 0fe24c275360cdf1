/**
 * Asking a flock from outside (Confab, seed 000): a one-off sealed UDP endpoint sends queries to a
 * fulcrum and collects the answers. Nothing is joined; the secret alone opens the door. No answer in
 * time — wrong secret, nobody there — is one clear error.
 *
 * What the node demands (docs/PROTOCOL.md, Confab): each query carries our wall clock and the asked
 * node's id, and is padded to a full envelope payload, because a node answers at most one datagram
 * no larger than the query. So a member list is fetched page by page, and an admin command first
 * learns the node's id with a `names` query. A query is resent unchanged while unanswered: the node
 * answers a repeated admin query id from memory, it does not run the command twice.
 */
import type { ConfabAnswer, ConfabAsk, ConfabQuery } from '../../machines/flock/types.js'
import { MAX_ENVELOPE_PLAINTEXT } from '../../runtime/envelope.js'
import { FailedPreconditionError, InternalError, UnavailableError } from '../../runtime/errors.js'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'
import { decodeWire, encodeWire } from './wire-codec.js'

export interface ConfabAskOptions {
  target: string
  secret: Uint8Array
  ask: ConfabAsk
  introduce?: string
  /** The asked node's id (admin asks); learnt with a `names` query when absent. */
  node?: string
  timeoutMs: number
}

/** Sends at most this many copies of a query within the timeout. */
const SENDS = 4

/** `q` encoded with padding that makes it exactly one full envelope payload. */
export function paddedQuery(q: Omit<ConfabQuery, 'pad' | 'size'>): Uint8Array {
  const bare = encodeWire({ type: 'confab.query', query: { ...q, pad: 0 } }).length
  const room = MAX_ENVELOPE_PLAINTEXT - bare
  // The pad field costs a tag byte and its length's varint besides its bytes, and the query's own
  // length varint in the packet may grow by a byte.
  for (let pad = Math.max(0, room - 6); pad <= room; pad++) {
    const bytes = encodeWire({ type: 'confab.query', query: { ...q, pad } })
    if (bytes.length === MAX_ENVELOPE_PLAINTEXT) return bytes
  }
  throw new InternalError(`a Confab query of ${bare} bytes cannot be padded to ${MAX_ENVELOPE_PLAINTEXT}`)
}

/** Sends the query (several, for a member list) and resolves with every page of the answer, in order. */
export async function confab(o: ConfabAskOptions): Promise<ConfabAnswer[]> {
  const udp = await createUdpTransport({ host: '0.0.0.0', port: 0 })
  const keyId = crypto.getRandomValues(new Uint32Array(1))[0]!
  const sealed = createSealedTransport({ transport: udp }, { secret: o.secret, keyId, startCounter: 0 })
  const waiting = new Map<number, (a: ConfabAnswer) => void>()
  sealed.onReceive((bytes) => {
    let ev
    try {
      ev = decodeWire(bytes)
    } catch {
      return // not for us: ignored
    }
    if (ev.type === 'confab.answer') waiting.get(ev.answer.nonce)?.(ev.answer)
  })
  const deadline = Date.now() + o.timeoutMs
  const timers = new Set<ReturnType<typeof setTimeout>>()

  /** One query, resent until answered; rejects at the deadline, or with the node's refusal. */
  const ask = (fields: Pick<ConfabQuery, 'ask' | 'target'> & Partial<ConfabQuery>): Promise<ConfabAnswer> =>
    new Promise((resolve, reject) => {
      const nonce = crypto.getRandomValues(new Uint32Array(1))[0]!
      const bytes = paddedQuery({ nonce, introduce: '', page: 0, ...fields, time: Date.now() })
      const every = Math.max(50, Math.floor(o.timeoutMs / SENDS))
      const stop = () => {
        waiting.delete(nonce)
        for (const t of owned) {
          clearTimeout(t)
          timers.delete(t)
        }
      }
      const owned: Array<ReturnType<typeof setTimeout>> = []
      const later = (ms: number, fn: () => void) => {
        const t = setTimeout(fn, ms)
        owned.push(t)
        timers.add(t)
      }
      waiting.set(nonce, (a) => {
        stop()
        if (a.reason !== '') reject(new FailedPreconditionError(`${o.target} refused: ${a.reason}`))
        else resolve(a)
      })
      const send = () => {
        sealed.send(o.target, bytes)
        if (Date.now() + every < deadline) later(every, send)
      }
      later(Math.max(0, deadline - Date.now()), () => {
        stop()
        reject(new UnavailableError(`no answer from ${o.target} within ${o.timeoutMs} ms (a wrong secret, or no fulcrum there)`))
      })
      send()
    })

  try {
    if (o.ask === 'names') return [await ask({ ask: 'names', target: o.node ?? '' })]
    if (o.ask === 'members') {
      const first = await ask({ ask: 'members', target: o.node ?? '' })
      const rest = Array.from({ length: first.count - 1 }, (_, i) => ask({ ask: 'members', target: first.node, page: i + 1 }))
      return [first, ...(await Promise.all(rest))]
    }
    const node = o.node ?? (await ask({ ask: 'names', target: '' })).node
    return [await ask({ ask: o.ask, target: node, introduce: o.introduce ?? '' })]
  } finally {
    for (const t of timers) clearTimeout(t)
    await sealed.close()
  }
}
