/**
 * The simulated network: endpoints on one {@link VirtualClock}, with seeded loss, duplication,
 * reordering, delay, partitions, crash/restart and per-node clock skew.
 *
 * Determinism: every fate is drawn from one seeded {@link Rng} at send time, in send order, and the
 * surviving copies land on the virtual clock in due order, ties in send order (sim-flights.ts). So
 * the same seed, the same settings and the same sends give the identical delivery sequence.
 * `Rng.chance(p)` draws nothing when p ≤ 0, and a fixed delay draws nothing either: a run without
 * faults costs no draws, and setting a fault to 0 equals omitting it — but turning a fault on or
 * off shifts the stream for every later packet, so compare runs only under identical settings.
 *
 * Per packet, in this order: counted as sent; dropped at once if the sender or the destination is
 * crashed, the destination unknown or closed, or the two partitioned; then `loss` is drawn; then
 * the delay, then `reorder` (and its extra delay); then `duplicate` (the copy draws its own delay
 * and reorder). On landing a copy is dropped if the destination crashed since it was sent (even if
 * it has restarted since), has no open endpoint, or is now partitioned from the sender; otherwise it
 * is delivered. Partitions therefore cut packets on the wire; a crash loses what was in flight.
 *
 * Cost per packet: a few field reads, at most five draws, a copy into a shared slab (byte-slab.ts)
 * and an array push; no strings, no closures, no timer objects (those are per landing instant).
 */
import { AddressInUseError, InvalidArgumentError } from './errors.js'
import { ByteSlab } from './byte-slab.js'
import { type SkewedClock, VirtualClock } from './clock.js'
import { Rng } from './rng.js'
import { DEFAULT_FAULTS, type Faults, LinkFaults } from './sim-faults.js'
import { FlightSchedule, type LandingSink } from './sim-flights.js'
import { SimNode, SimTransport, type SimWire } from './sim-transport.js'
import type { SimStats } from './sim-stats.js'
import type { Transport } from './transport.js'

export type { Delay, Faults } from './sim-faults.js'
export type { DropCounts, SimStats } from './sim-stats.js'

/** Options of {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** Seed of the network's fate stream. */
  seed: number | string
  /** The clock to run on; a fresh one starting at 0 when omitted. */
  clock?: VirtualClock
  /** Faults of every link without its own settings (defaults: {@link DEFAULT_FAULTS}). */
  faults?: Partial<Faults>
}

/** A simulated datagram network on a virtual clock. */
export class SimNetwork implements SimWire, LandingSink {
  readonly clock: VirtualClock
  private readonly rng: Rng
  private readonly nodes = new Map<string, SimNode>()
  private global: LinkFaults
  /** Partial per-link settings as given, so a later global change can be re-applied beneath them. */
  private readonly linkPatches = new Map<SimNode, Map<SimNode, Partial<Faults>>>()
  private partitioned = false
  private readonly slab = new ByteSlab()
  private readonly flights: FlightSchedule

  // Counters as plain fields: incremented on the hot path, gathered by stats().
  private sent = 0
  private delivered = 0
  private duplicated = 0
  private reordered = 0
  private inFlight = 0
  private bytesSent = 0
  private bytesDelivered = 0
  private dropLoss = 0
  private dropPartition = 0
  private dropCrash = 0
  private dropClosed = 0
  private dropUnknown = 0

  constructor(options: SimNetworkOptions) {
    this.clock = options.clock ?? new VirtualClock()
    this.rng = new Rng(options.seed)
    this.flights = new FlightSchedule(this.clock, this)
    this.global = new LinkFaults(LinkFaults.merge(DEFAULT_FAULTS, options.faults ?? {}))
  }

  /** Opens an endpoint; throws {@link AddressInUseError} while another endpoint holds `address`. */
  endpoint(address: string): Transport {
    const node = this.node(address)
    if (node.transport !== null) throw new AddressInUseError(address)
    const t = new SimTransport(node, this)
    node.transport = t
    node.opened = true
    return t
  }

  /** The global fault settings. */
  get faults(): Readonly<Faults> {
    return this.global.faults
  }

  /** Changes the global fault settings (merged into the current ones); affects packets sent from now on. */
  configure(faults: Partial<Faults>): void {
    this.global = new LinkFaults(LinkFaults.merge(this.global.faults, faults))
    for (const [src, patches] of this.linkPatches) {
      for (const [dst, patch] of patches) src.links!.set(dst, new LinkFaults(LinkFaults.merge(this.global.faults, patch)))
    }
  }

  /**
   * Gives the link `from → to` its own settings (layered over the global ones, which keep applying to
   * the fields not given). Both directions unless `oneWay`. A second call replaces the first.
   */
  setLink(from: string, to: string, faults: Partial<Faults>, options: { oneWay?: boolean } = {}): void {
    const lf = new LinkFaults(LinkFaults.merge(this.global.faults, faults)) // validates before any change
    const pairs: [SimNode, SimNode][] = [[this.node(from), this.node(to)]]
    if (options.oneWay !== true && from !== to) pairs.push([this.node(to), this.node(from)])
    for (const [src, dst] of pairs) {
      ;(src.links ??= new Map()).set(dst, lf)
      let patches = this.linkPatches.get(src)
      if (patches === undefined) this.linkPatches.set(src, (patches = new Map()))
      patches.set(dst, { ...faults })
    }
  }

  /** Returns the link `from → to` (both directions unless `oneWay`) to the global settings. */
  clearLink(from: string, to: string, options: { oneWay?: boolean } = {}): void {
    const pairs: [string, string][] = [[from, to]]
    if (options.oneWay !== true) pairs.push([to, from])
    for (const [a, b] of pairs) {
      const src = this.nodes.get(a)
      const dst = this.nodes.get(b)
      if (src === undefined || dst === undefined || src.links === null) continue
      src.links.delete(dst)
      this.linkPatches.get(src)?.delete(dst)
      if (src.links.size === 0) src.links = null
    }
  }

  /**
   * Splits the network: only addresses in the same group can exchange packets (a node can always
   * reach itself). Addresses in no group, including ones first seen later, are cut off from all.
   * Replaces any earlier partition. Packets already in flight across a new cut are dropped on arrival.
   */
  partition(groups: readonly (readonly string[])[]): void {
    const seen = new Set<string>()
    for (const g of groups) {
      for (const a of g) {
        if (seen.has(a)) throw new InvalidArgumentError(`address ${a} is in two partition groups`)
        seen.add(a)
      }
    }
    for (const n of this.nodes.values()) n.group = 0
    groups.forEach((g, i) => {
      for (const a of g) this.node(a).group = i + 1
    })
    this.partitioned = true
  }

  /** Removes the partition. */
  heal(): void {
    this.partitioned = false
    for (const n of this.nodes.values()) n.group = 0
  }

  /**
   * The node stops sending and receiving: its sends and sends to it are dropped, and so are packets
   * already in flight to it when they land, even after a restart (all counted as `crash`).
   */
  crash(address: string): void {
    const n = this.node(address)
    if (!n.crashed) {
      n.crashed = true
      n.epoch++
    }
  }

  /**
   * The node sends and receives again, with the same endpoint and handler (a restarted process
   * would install its own). What was sent to it before or during the crash stays lost.
   */
  restart(address: string): void {
    this.node(address).crashed = false
  }

  /** Whether `address` is crashed now. */
  isCrashed(address: string): boolean {
    return this.nodes.get(address)?.crashed ?? false
  }

  /** The clock `address` reads: the network clock plus that node's skew. The same object on every call. */
  clockFor(address: string): SkewedClock {
    return this.node(address).clock
  }

  /** Sets the node's clock skew in ms (positive: its clock runs ahead). */
  setSkew(address: string, ms: number): void {
    if (!Number.isFinite(ms)) throw new InvalidArgumentError(`skew must be a finite number of ms, got ${ms}`)
    this.node(address).clock.skewMs = ms
  }

  /**
   * The path `from → to` as it is now, for carriers layered on this network (runtime/sim-grpc.ts, a
   * simulated TCP): cut by a crash at either end or by a partition, or up with the link's faults and
   * the destination's incarnation (what lands after the destination crashed is lost). Draws nothing.
   */
  path(from: string, to: string): { cut: 'crash' | 'partition' } | { cut: null; faults: LinkFaults; epoch: number } {
    const src = this.node(from)
    const dst = this.node(to)
    if (src.crashed || dst.crashed) return { cut: 'crash' }
    if (this.partitioned && src !== dst && (src.group !== dst.group || src.group === 0)) return { cut: 'partition' }
    return { cut: null, faults: src.links === null ? this.global : (src.links.get(dst) ?? this.global), epoch: dst.epoch }
  }

  /** A snapshot of the counters. */
  stats(): SimStats {
    const dropped = {
      loss: this.dropLoss,
      partition: this.dropPartition,
      crash: this.dropCrash,
      closed: this.dropClosed,
      unknown: this.dropUnknown,
      total: this.dropLoss + this.dropPartition + this.dropCrash + this.dropClosed + this.dropUnknown,
    }
    const { sent, delivered, duplicated, reordered, inFlight, bytesSent, bytesDelivered } = this
    return { sent, delivered, duplicated, reordered, inFlight, dropped, bytesSent, bytesDelivered }
  }

  /** Called by endpoints: decides the packet's fate now and schedules each surviving copy. */
  transmit(src: SimNode, to: string, bytes: Uint8Array): void {
    this.sent++
    this.bytesSent += bytes.length
    if (src.crashed) {
      this.dropCrash++
      return
    }
    const dst = this.nodes.get(to)
    if (dst === undefined || dst.transport === null) {
      if (dst === undefined || !dst.opened) this.dropUnknown++
      else this.dropClosed++
      return
    }
    if (dst.crashed) {
      this.dropCrash++
      return
    }
    if (this.partitioned && src !== dst && (src.group !== dst.group || src.group === 0)) {
      this.dropPartition++
      return
    }
    const f = src.links === null ? this.global : (src.links.get(dst) ?? this.global)
    const rng = this.rng
    if (rng.chance(f.loss)) {
      this.dropLoss++
      return
    }
    // Copy: the sender may reuse its buffer once send() returns, and each copy may be mutated by its receiver.
    this.launch(src, dst, this.slab.copy(bytes), f)
    if (rng.chance(f.duplicate)) {
      this.duplicated++
      this.launch(src, dst, this.slab.copy(bytes), f)
    }
  }

  private launch(src: SimNode, dst: SimNode, bytes: Uint8Array, f: LinkFaults): void {
    const rng = this.rng
    let ms = f.delayMin
    if (f.delaySpan > 0) ms += f.delayWhole ? rng.int(f.delaySpan + 1) : rng.float() * f.delaySpan
    if (rng.chance(f.reorder)) {
      this.reordered++
      ms += f.reorderMin
      if (f.reorderSpan > 0) ms += f.reorderWhole ? rng.int(f.reorderSpan + 1) : rng.float() * f.reorderSpan
    }
    this.inFlight++
    this.flights.add(ms, src, dst, bytes, dst.epoch)
  }

  /** Called by the flight schedule as each copy lands. */
  land(src: SimNode, dst: SimNode, bytes: Uint8Array, epoch: number): void {
    this.inFlight--
    if (dst.crashed || dst.epoch !== epoch) {
      this.dropCrash++
      return
    }
    const t = dst.transport
    if (t === null) {
      this.dropClosed++
      return
    }
    if (this.partitioned && src !== dst && (src.group !== dst.group || src.group === 0)) {
      this.dropPartition++
      return
    }
    this.delivered++
    this.bytesDelivered += bytes.length
    t.deliver(bytes, src.address)
  }

  private node(address: string): SimNode {
    let n = this.nodes.get(address)
    if (n === undefined) {
      n = new SimNode(address, this.clock)
      this.nodes.set(address, n)
    }
    return n
  }
}
