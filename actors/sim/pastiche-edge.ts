/**
 * A simulated node's pastiche edges, beside the real ones as strew's crypto doubles are: the transfer
 * edge (`port:pastiche-transfer`: `has`, `fetch`, `fetch.cancel`, `assemble`) and the store edge
 * (`port:pastiche-store`: `pin`, `unpin`), over a store of verified blobs in memory. Calls travel on the
 * simulated network as the gRPC road's do (runtime/sim-grpc.ts `transit`: the links' delay and loss as
 * retransmission, partitions and crashes cutting them): a request segment, then the answer, or the
 * range's bytes in chunks of {@link CHUNK}, each a segment. A call whose segment is cut fails at once
 * (the connection broke); one with no answer fails at its deadline. A corrupt node flips a byte of
 * every range it serves; nothing tells the receiver but the hash of the whole at `assemble`, which
 * stores the blob only when its bytes hash to its name. Every answer goes to the node's pastiche
 * machine as an event, so the machine's journal holds the whole story.
 */
import type { FetchMsg, HasMsg, PasticheMessage } from '../../machines/pastiche/types.js'
import type { HostEvent } from '../../machines/effects.js'
import type { Clock, TimerHandle } from '../../runtime/clock.js'
import type { ActorHost } from '../../runtime/host.js'
import type { SimGrpcNetwork } from '../../runtime/sim-grpc.js'
import { blobName } from './pastiche-blobs.js'

/** Bytes per data segment of a range. */
export const CHUNK = 1024

export interface EdgeDeps {
  grpc: SimGrpcNetwork
  /** Every node's edge, by its network address (whom a call reaches). */
  nodes: ReadonlyMap<string, SimPasticheNode>
  /** Deadline of a `has` and of a `fetch`, ms. */
  hasDeadlineMs: number
  fetchDeadlineMs: number
}

type Pending = { done: boolean; timer: TimerHandle | null }

export class SimPasticheNode {
  /** Verified blobs by name: what this node's store holds. */
  readonly store = new Map<string, Buffer>()
  readonly pins = new Set<string>()
  /** Bytes of blobs being fetched, by name (the in-progress area). */
  private readonly partial = new Map<string, Buffer>()
  private readonly calls = new Map<number, Pending>()
  private host: ActorHost | null = null
  private actorId = ''
  /** Assemblies that hashed wrong here. */
  wrongAssemblies = 0

  constructor(
    readonly addr: string,
    readonly corrupt: boolean,
    private readonly d: EdgeDeps,
  ) {}

  private get clock(): Clock {
    return this.d.grpc.clock
  }

  /** Binds the edge to the pastiche actor `actorId` of `host`. */
  bind(host: ActorHost, actorId: string): void {
    this.host = host
    this.actorId = actorId
  }

  private deliver(ev: HostEvent): void {
    this.host?.send(this.actorId, ev, 'control')
  }

  /** A message the machine sent to one of the two ports. */
  take(msg: PasticheMessage): void {
    switch (msg.type) {
      case 'has':
        return this.has(msg)
      case 'fetch':
        return this.fetch(msg)
      case 'fetch.cancel': {
        const c = this.calls.get(msg.id)
        if (c === undefined) return
        c.done = true
        if (c.timer !== null) this.clock.cancel(c.timer)
        return void this.calls.delete(msg.id)
      }
      case 'assemble':
        // Hashing takes a moment; the answer is a step of its own.
        return void this.clock.schedule(1, () => this.assemble(msg.id, msg.hash, msg.bytes))
      case 'pin':
        if (this.store.has(msg.hash)) this.pins.add(msg.hash)
        return
      case 'unpin':
        return void this.pins.delete(msg.hash)
    }
  }

  /** Opens call `id` with a deadline; `finish` ends it once (then the answer goes to the machine). */
  private open(id: number, deadlineMs: number, onTimeout: () => HostEvent): (ev: HostEvent) => void {
    const c: Pending = { done: false, timer: null }
    this.calls.set(id, c)
    const finish = (ev: HostEvent): void => {
      if (c.done) return
      c.done = true
      if (c.timer !== null) this.clock.cancel(c.timer)
      this.calls.delete(id)
      this.deliver(ev)
    }
    c.timer = this.clock.schedule(deadlineMs, () => ((c.timer = null), finish(onTimeout())))
    return finish
  }

  private has(m: HasMsg): void {
    const fail = (): HostEvent => ({ type: 'has.answer', id: m.id, ok: false, held: false, bytes: 0 })
    const finish = this.open(m.id, this.d.hasDeadlineMs, fail)
    const g = this.d.grpc
    g.transit(this.addr, m.to, () => {
      const b = this.d.nodes.get(m.to)?.store.get(m.hash)
      g.transit(m.to, this.addr, () => finish({ type: 'has.answer', id: m.id, ok: true, held: b !== undefined, bytes: b?.length ?? 0 }), () => finish(fail()))
    }, () => finish(fail()))
  }

  private fetch(m: FetchMsg): void {
    const failed = (): HostEvent => ({ type: 'fetched', id: m.id, result: 'failed', bytes: 0 })
    const finish = this.open(m.id, this.d.fetchDeadlineMs, failed)
    const c = this.calls.get(m.id)!
    const g = this.d.grpc
    g.transit(this.addr, m.from, () => {
      if (c.done) return
      const peer = this.d.nodes.get(m.from)
      const blob = peer?.store.get(m.hash)
      if (peer === undefined || blob === undefined || m.offset + m.length > blob.length) return g.transit(m.from, this.addr, () => finish(failed()), () => finish(failed()))
      const data = Buffer.from(blob.subarray(m.offset, m.offset + m.length))
      if (peer.corrupt && data.length > 0) data[data.length >> 1] ^= 0xff
      let got = 0
      for (let at = 0; at < data.length || at === 0; at += CHUNK) {
        const piece = data.subarray(at, Math.min(data.length, at + CHUNK))
        const last = at + CHUNK >= data.length
        g.transit(m.from, this.addr, () => {
          if (c.done) return
          this.write(m.hash, blob.length, m.offset + at, piece)
          got += piece.length
          if (last) finish({ type: 'fetched', id: m.id, result: got === m.length ? 'ok' : 'bad', bytes: got })
        }, () => finish(failed()))
      }
    }, () => finish(failed()))
  }

  /** Bytes of `hash` (whole size `total`) at `offset` into the in-progress area. */
  private write(hash: string, total: number, offset: number, piece: Uint8Array): void {
    let buf = this.partial.get(hash)
    if (buf === undefined || buf.length !== total) this.partial.set(hash, (buf = Buffer.alloc(total)))
    buf.set(piece, offset)
  }

  private assemble(id: number, hash: string, bytes: number): void {
    const buf = this.partial.get(hash) ?? (bytes === 0 ? Buffer.alloc(0) : undefined)
    this.partial.delete(hash)
    const ok = buf !== undefined && buf.length === bytes && blobName(buf) === hash
    if (!ok) this.wrongAssemblies++
    if (ok && !this.store.has(hash)) this.store.set(hash, buf)
    this.deliver({ type: 'assembled', id, ok })
    if (ok) this.deliver({ type: 'blob.held', hash, bytes })
  }
}
