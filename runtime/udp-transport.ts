/**
 * The real transport: one node:dgram socket. Addresses are `HOST:PORT` (udp-address.ts).
 *
 * A socket error must never take a node down — a peer's ICMP unreachable or a full send buffer is
 * ordinary weather for a UDP service — so 'error' events and failed sends are counted (and passed
 * to `onError` if given), never thrown. Malformed destinations are counted and dropped, keeping the
 * transport contract that send() only throws for oversize datagrams or a closed transport.
 */
import { createSocket, type Socket, type SocketType } from 'node:dgram'
import { isIPv4, isIPv6 } from 'node:net'
import { AddressInUseError, BindError, InvalidArgumentError, UnavailableError } from './errors.js'
import { checkSend, DATAGRAM_BOUNDS, type ReceiveHandler, type Transport } from './transport.js'
import { formatHostPort, type HostPort, parseHostPort } from './udp-address.js'

/** Options of {@link createUdpTransport}. */
export interface UdpTransportOptions {
  /** Local address to bind, e.g. `127.0.0.1`. */
  host: string
  /** Local port; 0 picks a free one (read it back from `address`). */
  port: number
  /**
   * Kernel receive buffer in bytes (default 1 MiB; the kernel caps it at net.core.rmem_max).
   * Heartbeats from a large flock arrive in bursts while the event loop is busy.
   */
  recvBufferSize?: number
  /** Told of every socket or send error (they are counted either way). */
  onError?: (err: Error) => void
}

/** Counters of a UDP endpoint. */
export interface UdpStats {
  sent: number
  received: number
  /** Sends the kernel or Node refused. */
  sendErrors: number
  /** 'error' events on the socket. */
  socketErrors: number
  /** Sends to a string that is not `HOST:PORT`. */
  badAddress: number
}

/** A {@link Transport} on a UDP socket, with counters. */
export interface UdpTransport extends Transport {
  readonly stats: Readonly<UdpStats>
}

const DEFAULT_RECV_BUFFER = 1 << 20
/** Parsed destinations kept; a node talks to its flock, so this is its peers and a few strangers. */
const ADDRESS_CACHE = 4096

/**
 * Binds a UDP socket. Rejects with {@link AddressInUseError} when the address is taken, and
 * {@link UnavailableError} when it cannot be bound otherwise (e.g. not a local address).
 */
export async function createUdpTransport(options: UdpTransportOptions): Promise<UdpTransport> {
  const { host, port } = options
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`bad UDP port ${port}`)
  const type: SocketType = isIPv6(host) ? 'udp6' : 'udp4'
  const socket = createSocket({ type })
  await new Promise<void>((resolve, reject) => {
    const onBindError = (err: NodeJS.ErrnoException): void => {
      try {
        socket.close()
      } catch {
        // already closed: nothing to release
      }
      const where = formatHostPort(host, port)
      reject(err.code === 'EADDRINUSE' ? new AddressInUseError(where, err) : new BindError(`cannot bind UDP ${where}: ${err.message}`, where, err))
    }
    socket.once('error', onBindError)
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onBindError)
      resolve()
    })
  })
  return new UdpEndpoint(socket, options, type === 'udp6')
}

/**
 * An IPv4 peer seen by a dual-stack socket arrives as `::ffff:a.b.c.d`; it is named `a.b.c.d`, the
 * address it announces, so that its sessions and replies are keyed the same either way.
 */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
}

class UdpEndpoint implements UdpTransport {
  readonly address: string
  readonly bounds = DATAGRAM_BOUNDS
  readonly stats: UdpStats = { sent: 0, received: 0, sendErrors: 0, socketErrors: 0, badAddress: 0 }
  private handler: ReceiveHandler | null = null
  private closing: Promise<void> | null = null
  private readonly destinations = new Map<string, HostPort | null>()
  private readonly onError: ((err: Error) => void) | undefined

  constructor(
    private readonly socket: Socket,
    options: UdpTransportOptions,
    private readonly v6: boolean,
  ) {
    this.onError = options.onError
    const bound = socket.address()
    this.address = formatHostPort(bound.address, bound.port)
    try {
      socket.setRecvBufferSize(options.recvBufferSize ?? DEFAULT_RECV_BUFFER)
    } catch (err) {
      this.failed(err, 'socketErrors') // the default buffer still works, only smaller
    }
    socket.on('error', (err) => this.failed(err, 'socketErrors'))
    socket.on('message', (msg, rinfo) => {
      if (this.closing !== null) return
      this.stats.received++
      const h = this.handler
      // A plain Uint8Array view, like every other transport hands out (no copy: msg is ours alone).
      if (h !== null) h(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), formatHostPort(unmapped(rinfo.address), rinfo.port))
    })
  }

  send(to: string, bytes: Uint8Array): void {
    checkSend(this.address, this.closing !== null, bytes)
    const dest = this.destination(to)
    if (dest === null) {
      this.stats.badAddress++
      return
    }
    // Copy: dgram may hold the buffer across a (deferred) address lookup, and the caller may reuse it.
    const copy = Buffer.from(bytes)
    try {
      this.socket.send(copy, dest.port, dest.host, this.afterSend)
      this.inFlight++
      this.stats.sent++
    } catch (err) {
      this.failed(err, 'sendErrors')
    }
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler
  }

  close(): Promise<void> {
    if (this.closing === null) {
      this.handler = null
      this.closing = (async () => {
        // Datagrams already handed to dgram go out first (a leaving node's goodbye), for at most 1 s.
        if (this.inFlight > 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 1000)
            this.drained = () => {
              clearTimeout(t)
              resolve()
            }
          })
        }
        await new Promise<void>((resolve) => {
          try {
            this.socket.close(() => resolve())
          } catch {
            resolve() // the socket was already gone
          }
        })
      })()
    }
    return this.closing
  }

  private inFlight = 0
  private drained: (() => void) | null = null

  private readonly afterSend = (err: Error | null): void => {
    this.inFlight--
    if (err) this.failed(err, 'sendErrors')
    if (this.inFlight === 0 && this.drained !== null) {
      const d = this.drained
      this.drained = null
      d()
    }
  }

  private destination(to: string): HostPort | null {
    let d = this.destinations.get(to)
    if (d === undefined) {
      if (this.destinations.size >= ADDRESS_CACHE) this.destinations.clear()
      d = parseHostPort(to) ?? null
      // A dual-stack socket (bound to ::) reaches IPv4 peers only at their IPv4-mapped address.
      if (d !== null && this.v6 && isIPv4(d.host)) d = { host: `::ffff:${d.host}`, port: d.port }
      this.destinations.set(to, d)
    }
    return d
  }

  private failed(err: unknown, counter: 'sendErrors' | 'socketErrors'): void {
    this.stats[counter]++
    if (this.onError !== undefined) this.onError(err instanceof Error ? err : new Error(String(err)))
  }
}
