/**
 * A Transport over the secondary-key channel alone (runtime/secondary-channel.ts): every datagram
 * sealed under this sender's secondary key, every one received opened with the sender's. Confab
 * clients and the beacon use it: they hold the secret but join no flock, so they have no sessions.
 * Whatever does not open — wrong secret, forged, truncated, replayed, stale — is dropped and counted
 * by reason, and never reaches the handler.
 */
import type { Clock } from './clock.js'
import { MAX_ENVELOPE_PLAINTEXT } from './envelope.js'
import { ENVELOPE_TYPE, SecondaryChannel, type ChannelDropReason, type SecondaryChannelInit } from './secondary-channel.js'
import { checkSend, SECONDARY_ORIGIN, type ReceiveHandler, type Transport, type TransportBounds } from './transport.js'

/** The envelope's 30 bytes come out of the datagram: payloads up to 1 370 bytes, empty ones included. */
export const SEALED_BOUNDS: TransportBounds = Object.freeze({ maxBytes: MAX_ENVELOPE_PLAINTEXT, deliversEmpty: true, firstBurst: Infinity })

export type SealedTransportInit = SecondaryChannelInit & {
  /** The envelope type sent and accepted (default: secondary, i.e. Confab; monitor for a beacon and its watchers). */
  type?: number
}

export interface SealedTransport extends Transport {
  /** Datagrams dropped, by reason (`type`: sealed, but of another envelope type). */
  readonly drops: Record<ChannelDropReason | 'type', number>
  accepted(): number
  readonly keyId: number
}

/** Creates the sealed transport over `transport`; `clock` refills the derivation budget (default: real time). */
export function createSealedTransport(components: { transport: Transport; clock?: Clock }, init: SealedTransportInit): SealedTransport {
  const inner = components.transport
  const channel = new SecondaryChannel(components.clock === undefined ? init : { ...init, clock: components.clock })
  const type = init.type ?? ENVELOPE_TYPE.secondary
  const drops: Record<ChannelDropReason | 'type', number> = { size: 0, version: 0, 'unknown-key': 0, 'key-budget': 0, tag: 0, replay: 0, stale: 0, type: 0 }
  let accepted = 0
  let handler: ReceiveHandler | null = null
  let closed = false

  inner.onReceive((bytes, from) => {
    if (closed) return
    const r = channel.open(bytes, from)
    if (!r.ok) return void drops[r.reason]++
    if (r.type !== type) return void drops.type++
    accepted++
    handler?.(r.plaintext, from, SECONDARY_ORIGIN)
  })

  return {
    get address() {
      return inner.address
    },
    bounds: SEALED_BOUNDS,
    keyId: init.keyId,
    drops,
    accepted: () => accepted,
    send(to, bytes) {
      checkSend(inner.address, closed, bytes, SEALED_BOUNDS.maxBytes)
      inner.send(to, channel.seal(type, bytes))
    },
    onReceive(h) {
      handler = h
    },
    close() {
      closed = true
      return inner.close()
    },
  }
}
