/**
 * The datagram port. Every implementation (memory, sim, udp, and the sealed and session transports
 * over them) passes the one conformance suite in test/transport/conformance.ts, each against the
 * {@link TransportBounds} it states, so code above it cannot tell which one it runs on beyond them.
 *
 * Addresses are strings `HOST:PORT` (udp) or any opaque name (memory, sim). Delivery is best-effort,
 * like UDP: a datagram to an unknown or closed address is silently lost.
 */
import { DatagramTooLargeError, TransportClosedError } from './errors.js'

/** Largest payload any transport accepts: fits one Ethernet frame with IP/UDP headers to spare. */
export const MAX_DATAGRAM_BYTES = 1400

/**
 * What a transport authenticated about a datagram it delivers: it came under a session made with the
 * node whose id is `peer` (runtime/session-transport.ts), or it was sealed under the shared secret by
 * a holder of it, who proved no identity (the secondary channel). A transport that authenticates
 * nothing (memory, sim, udp) passes no origin. Whoever routes the datagram decides what each may carry.
 */
export type Origin = { channel: 'session'; peer: string } | { channel: 'secondary' }

/** The origin of every datagram on the secondary channel. */
export const SECONDARY_ORIGIN: Origin = Object.freeze({ channel: 'secondary' })

/** Called with each datagram that arrives; `from` is the sender's address as the receiver sees it. */
export type ReceiveHandler = (bytes: Uint8Array, from: string, origin?: Origin) => void

/**
 * The bounds of a transport's contract, stated by each transport and checked against it by the
 * conformance suite. A transport over another narrows them (an envelope takes room, a handshake
 * queues), and says so here rather than surprising the code above it.
 */
export interface TransportBounds {
  /** Largest payload `send` accepts; past it, {@link DatagramTooLargeError}. */
  readonly maxBytes: number
  /** Whether a zero-length payload is delivered; when not, `send` takes it and it never arrives. */
  readonly deliversEmpty: boolean
  /**
   * Datagrams sent back to back to an address not heard from yet that all arrive on a network that
   * loses nothing (a session transport queues that many during its first handshake, then cuts).
   */
  readonly firstBurst: number
}

/** The bounds of a bare datagram transport (memory, sim, udp). */
export const DATAGRAM_BOUNDS: TransportBounds = Object.freeze({ maxBytes: MAX_DATAGRAM_BYTES, deliversEmpty: true, firstBurst: Infinity })

export interface Transport {
  /** This endpoint's own address, as peers should write it to reach it. */
  readonly address: string
  /** What this transport promises (payload size, empty payloads, first-contact bursts). */
  readonly bounds: TransportBounds
  /**
   * Sends one datagram. Throws {@link DatagramTooLargeError} past `bounds.maxBytes` and
   * {@link TransportClosedError} after close(); otherwise never throws (loss is silent).
   */
  send(to: string, bytes: Uint8Array): void
  /** Sets the receive handler (one per endpoint; a second call replaces the first). */
  onReceive(handler: ReceiveHandler): void
  /** Stops receiving and releases the endpoint. Idempotent. */
  close(): Promise<void>
}

/**
 * The checks every transport's `send` makes before anything else, in one place so the
 * implementations cannot drift apart on what the conformance suite expects.
 */
export function checkSend(address: string, closed: boolean, bytes: Uint8Array, maxBytes = MAX_DATAGRAM_BYTES): void {
  if (closed) throw new TransportClosedError(address)
  if (bytes.length > maxBytes) throw new DatagramTooLargeError(bytes.length, maxBytes)
}
