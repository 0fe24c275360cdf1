/**
 * The in-process transport: a hub of endpoints in one process, each datagram copied once at send
 * and never lost except to an unknown or closed address. It is for unit tests and single-process
 * demos; the simulator (sim-network.ts) is the one with loss, delay and partitions.
 *
 * Delivery is asynchronous, as on a real network, so code cannot come to rely on a send re-entering
 * its own receive handler. It is also deterministic: the hub keeps one FIFO queue of every datagram
 * sent, and drains it either on a microtask (the default) or, when a {@link Clock} is given, on a
 * zero-delay timer of that clock (so a VirtualClock decides when packets move). One global queue
 * gives FIFO per sender, and in fact one total order. The destination is looked up at delivery
 * time, so a datagram to an unknown or meanwhile closed address is silently lost, like UDP.
 */
import { AddressInUseError } from './errors.js'
import type { Clock } from './clock.js'
import { checkSend, DATAGRAM_BOUNDS, type ReceiveHandler, type Transport } from './transport.js'

/** Options of {@link createMemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Drain the queue on this clock's zero-delay timers instead of microtasks. */
  clock?: Clock
}

/** Counters of a memory network; `dropped` are datagrams whose destination was unknown or closed. */
export interface MemoryNetworkStats {
  sent: number
  delivered: number
  dropped: number
}

/** A hub of in-process endpoints. */
export interface MemoryNetwork {
  /** Opens an endpoint at `address`; throws {@link AddressInUseError} while another holds it. */
  endpoint(address: string): Transport
  /** Live counters (read-only view). */
  readonly stats: Readonly<MemoryNetworkStats>
}

interface Packet {
  from: string
  to: string
  bytes: Uint8Array
}

/** Creates an empty in-process network. */
export function createMemoryNetwork(options: MemoryNetworkOptions = {}): MemoryNetwork {
  return new MemoryHub(options.clock)
}

class MemoryHub implements MemoryNetwork {
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, dropped: 0 }
  private readonly endpoints = new Map<string, MemoryEndpoint>()
  private queue: Packet[] = []
  private scheduled = false

  constructor(private readonly clock: Clock | undefined) {}

  endpoint(address: string): Transport {
    if (this.endpoints.has(address)) throw new AddressInUseError(address)
    const ep = new MemoryEndpoint(address, this)
    this.endpoints.set(address, ep)
    return ep
  }

  enqueue(from: string, to: string, bytes: Uint8Array): void {
    // Copy now: the sender may reuse its buffer as soon as send() returns, as with a socket.
    const copy = new Uint8Array(bytes.length)
    copy.set(bytes)
    this.stats.sent++
    this.queue.push({ from, to, bytes: copy })
    if (!this.scheduled) this.schedule()
  }

  detach(ep: MemoryEndpoint): void {
    if (this.endpoints.get(ep.address) === ep) this.endpoints.delete(ep.address)
  }

  private schedule(): void {
    this.scheduled = true
    if (this.clock === undefined) queueMicrotask(this.drain)
    else this.clock.schedule(0, this.drain)
  }

  /**
   * Delivers what was queued when the drain began; datagrams sent by handlers meanwhile wait for the
   * next drain, so two endpoints playing ping-pong cannot monopolise one turn. If a handler throws,
   * the error propagates (it is the handler's bug) but the rest of the batch is kept, in order.
   */
  private readonly drain = (): void => {
    this.scheduled = false
    const batch = this.queue
    this.queue = []
    let i = 0
    try {
      for (; i < batch.length; i++) {
        const p = batch[i]!
        const ep = this.endpoints.get(p.to)
        if (ep === undefined) this.stats.dropped++
        else {
          this.stats.delivered++
          ep.deliver(p.bytes, p.from)
        }
      }
    } finally {
      if (i < batch.length - 1) {
        this.queue = batch.slice(i + 1).concat(this.queue)
        if (!this.scheduled) this.schedule()
      }
    }
  }
}

class MemoryEndpoint implements Transport {
  readonly bounds = DATAGRAM_BOUNDS
  private handler: ReceiveHandler | null = null
  private closed = false

  constructor(
    readonly address: string,
    private readonly hub: MemoryHub,
  ) {}

  send(to: string, bytes: Uint8Array): void {
    checkSend(this.address, this.closed, bytes)
    this.hub.enqueue(this.address, to, bytes)
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      this.handler = null
      this.hub.detach(this)
    }
    return Promise.resolve()
  }

  deliver(bytes: Uint8Array, from: string): void {
    if (this.handler !== null) this.handler(bytes, from)
  }
}
