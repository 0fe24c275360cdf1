/**
 * The datagram port. Every implementation (memory, sim, udp) passes the one conformance suite in
 * test/transport/conformance.ts, so code above it cannot tell which one it runs on.
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

/** Called with each datagram that arrives; `from` is the sender's address as the receiver sees it. */
export type ReceiveHandler = (bytes: Uint8Array, from: string, origin?: Origin) => void

export interface Transport {
  /** This endpoint's own address, as peers should write it to reach it. */
  readonly address: string
  /**
   * Sends one datagram. Throws {@link DatagramTooLargeError} past {@link MAX_DATAGRAM_BYTES} and
   * {@link TransportClosedError} after close(); otherwise never throws (loss is silent).
   */
  send(to: string, bytes: Uint8Array): void
  /** Sets the receive handler (one per endpoint; a second call replaces the first). */
  onReceive(handler: ReceiveHandler): void
  /** Stops receiving and releases the endpoint. Idempotent. */
  close(): Promise<void>
}

/**
 * The checks every transport's `send` makes before anything else, in one place so the three
 * implementations cannot drift apart on what the conformance suite expects.
 */
export function checkSend(address: string, closed: boolean, bytes: Uint8Array): void {
  if (closed) throw new TransportClosedError(address)
  if (bytes.length > MAX_DATAGRAM_BYTES) throw new DatagramTooLargeError(bytes.length, MAX_DATAGRAM_BYTES)
}
