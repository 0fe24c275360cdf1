/**
 * Asking a flock from outside (Confab, seed 000): a one-off sealed UDP endpoint sends one query to a
 * fulcrum and collects the answer (a member list comes in pages). Nothing is joined; the secret
 * alone opens the door. No answer in time — wrong secret, nobody there — is one clear error.
 */
import type { ConfabAnswer, ConfabAsk } from '../machines/flock/types.js'
import { UnavailableError } from '../runtime/errors.js'
import { createSealedTransport } from '../runtime/sealed-transport.js'
import { createUdpTransport } from '../runtime/udp-transport.js'
import { decodeWire, encodeWire } from '../runtime/wire-codec.js'

export interface ConfabAskOptions {
  target: string
  secret: Uint8Array
  ask: ConfabAsk
  introduce?: string
  timeoutMs: number
}

/** Sends the query and resolves with every page of the answer, in order. */
export async function confab(o: ConfabAskOptions): Promise<ConfabAnswer[]> {
  const rand = crypto.getRandomValues(new Uint32Array(2))
  const nonce = rand[0]!
  const udp = await createUdpTransport({ host: '0.0.0.0', port: 0 })
  const sealed = createSealedTransport({ transport: udp }, { secret: o.secret, keyId: rand[1]!, startCounter: 0 })
  const pages = new Map<number, ConfabAnswer>()
  try {
    return await new Promise<ConfabAnswer[]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new UnavailableError(`no answer from ${o.target} within ${o.timeoutMs} ms (a wrong secret, or no fulcrum there)`)),
        o.timeoutMs,
      )
      sealed.onReceive((bytes) => {
        let ev
        try {
          ev = decodeWire(bytes)
        } catch {
          return // not for us: ignored
        }
        if (ev.type !== 'confab.answer' || ev.answer.nonce !== nonce) return
        pages.set(ev.answer.index, ev.answer)
        if (pages.size >= ev.answer.count) {
          clearTimeout(timer)
          resolve([...pages.values()].sort((a, b) => a.index - b.index))
        }
      })
      sealed.send(o.target, encodeWire({ type: 'confab.query', query: { nonce, ask: o.ask, introduce: o.introduce ?? '' } }))
    })
  } finally {
    await sealed.close()
  }
}
