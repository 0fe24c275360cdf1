/**
 * The per-address state of the simulated network and the endpoint handed to a simulated node.
 * A {@link SimNode} outlives endpoints: its skew, partition group, crash state and link faults stay
 * when an endpoint closes and another binds the same address, as a host's properties outlive a socket.
 */
import { type Clock, SkewedClock } from './clock.js'
import type { LinkFaults } from './sim-faults.js'
import { checkSend, DATAGRAM_BOUNDS, type ReceiveHandler, type Transport } from './transport.js'

/** What an endpoint needs from its network (an interface, so the two files do not import each other). */
export interface SimWire {
  transmit(src: SimNode, to: string, bytes: Uint8Array): void
}

/** One simulated address. Fields are public to the simulator, not API. */
export class SimNode {
  /** The open endpoint, or null while none is bound. */
  transport: SimTransport | null = null
  /** Whether an endpoint was ever bound here (decides "closed" vs "unknown" drops). */
  opened = false
  crashed = false
  /**
   * Incarnation, bumped by each crash. A packet remembers the incarnation it was sent to, so a
   * packet in flight across a crash is dropped even when the node has restarted before it lands.
   */
  epoch = 0
  /** Partition group while the network is partitioned; 0 means "in no group": cut off from all others. */
  group = 0
  /** Faults of links from this node that differ from the network's, or null when none do. */
  links: Map<SimNode, LinkFaults> | null = null
  /** What this node reads as the time: the network's clock shifted by its skew. */
  readonly clock: SkewedClock

  constructor(
    readonly address: string,
    base: Clock,
  ) {
    this.clock = new SkewedClock(base, 0)
  }
}

/** An endpoint on the simulated network. */
export class SimTransport implements Transport {
  readonly bounds = DATAGRAM_BOUNDS
  private handler: ReceiveHandler | null = null
  private closed = false

  constructor(
    private readonly node: SimNode,
    private readonly wire: SimWire,
  ) {}

  get address(): string {
    return this.node.address
  }

  send(to: string, bytes: Uint8Array): void {
    checkSend(this.node.address, this.closed, bytes)
    this.wire.transmit(this.node, to, bytes)
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      this.handler = null
      if (this.node.transport === this) this.node.transport = null
    }
    return Promise.resolve()
  }

  /** Hands a datagram to the handler; called by the network only. */
  deliver(bytes: Uint8Array, from: string): void {
    const h = this.handler
    if (h !== null) h(bytes, from)
  }
}
