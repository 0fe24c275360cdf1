/**
 * A fulcrum's pastiche edges, the real counterpart of the simulator's double (actors/sim/pastiche-edge.ts):
 * the transfer edge (`port:pastiche-transfer`: `has`, `fetch`, `fetch.cancel`, `assemble`) and the store
 * edge (`port:pastiche-store`: `pin`, `unpin`) of the node's pastiche machine. A `has` is the peer's Has
 * call; a `fetch` is a Get of `[offset, offset+length)` from the peer, streamed into the blob's
 * assembly in the store (assembly.ts) where the range belongs; an `assemble` hashes the assembly and
 * places it only when it matches. Every answer goes into the machine's mailbox as an event, so the
 * fulcrum's journal holds what the machine was told and its transfers replay from it.
 *
 * The edge answers every `has`, `fetch` and `assemble` exactly once unless the machine cancelled it:
 * a call that errs is `failed`, a range of other than `length` bytes (or other than the blob's size
 * the first range said, or one the peer says it cannot read whole: DATA_LOSS) is `bad`. What the machine does about either is its policy, not this edge's.
 */
import type { HostEvent } from '../../machines/effects.js'
import type { AssembleMsg, FetchMsg, FetchResult, HasMsg, PasticheMessage } from '../../machines/pastiche/types.js'
import type { GetResponse } from '../../protos/gen/crux/v1/pastiche.js'
import { Code, CruxError, isRemoteError } from '../../runtime/errors.js'
import type { PasticheClient } from './client.js'
import type { Assembly, BlobStore } from './store.js'

export interface TransferEdgeInit {
  store: BlobStore
  /** A client of the peer at `address` (kept per address by the caller). */
  peer(address: string): PasticheClient
  /** Puts an answer into the machine's mailbox. */
  deliver(ev: HostEvent): void
  /** Whether the machine still wants `hash` (an assembly nobody wants any more is deleted). */
  wanted(hash: string): boolean
  /** A range that receives nothing for this long is cut and answered `failed`, ms. */
  stallMs: number
  log?: { warn(msg: string, fields?: Record<string, unknown>): void }
}

/** Bytes received per peer address, ranges by result: what the edge saw, for the status. */
export interface TransferCounters {
  ranges: Record<FetchResult, number>
  /** Bytes received per peer address (ranges that ended ok). */
  bytesFrom: Record<string, number>
}

export interface TransferEdge {
  /** The router's handler of both ports. */
  take(msg: PasticheMessage): void
  /** Whether the edge is placing `hash` itself (the store's change for it is told by the edge). */
  placing(hash: string): boolean
  readonly counters: TransferCounters
  close(): void
}

type Open = { hash: string; total: number; assembly: Promise<Assembly>; ranges: number }

export function createTransferEdge(init: TransferEdgeInit): TransferEdge {
  const { store } = init
  /** Assemblies by blob, opened by the first range that learns the blob's size. */
  const assemblies = new Map<string, Open>()
  /** Range transfers in flight: id → whether it was cancelled, and the stop of its call. */
  const transfers = new Map<number, { cancelled: boolean; stop: () => void; hash: string }>()
  const placing = new Set<string>()
  const counters: TransferCounters = { ranges: { ok: 0, bad: 0, failed: 0 }, bytesFrom: {} }
  let closed = false
  const deliver = (ev: HostEvent): void => {
    if (!closed) init.deliver(ev)
  }

  const has = (m: HasMsg): void => {
    init.peer(m.to).has(m.hash).then(
      (r) => deliver({ type: 'has.answer', id: m.id, ok: true, held: r.held, bytes: r.held ? r.bytes : 0 }),
      () => deliver({ type: 'has.answer', id: m.id, ok: false, held: false, bytes: 0 }),
    )
  }

  /** The assembly of `hash` at size `total`, opened once; null when one of another size is open (a peer lies about the size). */
  const assemblyOf = (hash: string, total: number): Open | null => {
    const a = assemblies.get(hash)
    if (a !== undefined) return a.total === total ? a : null
    const fresh: Open = { hash, total, assembly: store.assemble(hash, total), ranges: 0 }
    fresh.assembly.catch(() => assemblies.get(hash) === fresh && assemblies.delete(hash))
    assemblies.set(hash, fresh)
    return fresh
  }

  /** Deletes the assembly of `hash` once nothing is in flight for it and the machine no longer wants it. */
  const sweep = (hash: string): void => {
    queueMicrotask(() => {
      const a = assemblies.get(hash)
      if (a === undefined || a.ranges > 0 || init.wanted(hash)) return
      assemblies.delete(hash)
      void a.assembly.then((x) => x.abandon()).catch(() => undefined)
    })
  }

  const fetch = (m: FetchMsg): void => {
    const t = { cancelled: false, stop: () => undefined as void, hash: m.hash }
    transfers.set(m.id, t)
    const answer = (result: FetchResult, bytes: number): void => {
      if (!transfers.has(m.id)) return
      transfers.delete(m.id)
      counters.ranges[result]++
      if (result === 'ok') counters.bytesFrom[m.from] = (counters.bytesFrom[m.from] ?? 0) + bytes
      if (!t.cancelled) deliver({ type: 'fetched', id: m.id, result, bytes })
    }
    if (m.length === 0) return answer('ok', 0)
    void (async () => {
      let open: Open | null = null
      try {
        const abort = new AbortController()
        t.stop = () => abort.abort()
        const it = init.peer(m.from).get(m.hash, { offset: m.offset, length: m.length, stallMs: init.stallMs, signal: abort.signal })[Symbol.asyncIterator]()
        const first = await it.next()
        if (t.cancelled) return
        if (first.done === true) return answer('bad', 0)
        open = assemblyOf(m.hash, first.value.total)
        if (open === null || m.offset + m.length > first.value.total) return answer('bad', 0)
        open.ranges++
        const assembly = await open.assembly
        let at = m.offset
        let wrongPlace = false
        async function* bytes(): AsyncGenerator<Uint8Array> {
          let msg: IteratorResult<GetResponse> = first
          while (msg.done !== true && !t.cancelled) {
            // Bytes that say they start elsewhere are the peer's error: the range is bad.
            if (msg.value.offset !== at) return void (wrongPlace = true)
            at += msg.value.data.length
            yield msg.value.data
            msg = await it.next()
          }
        }
        const r = await assembly.writeRange(m.offset, m.length, bytes())
        if (t.cancelled) return
        answer(wrongPlace || r.received !== m.length ? 'bad' : 'ok', r.received)
      } catch (err) {
        // The peer saying its own copy is damaged (DATA_LOSS: its file is shorter than its blob) sent a bad range.
        if (err instanceof CruxError && err.code === Code.DATA_LOSS && isRemoteError(err, m.from)) return answer('bad', 0)
        if (!t.cancelled) init.log?.warn('pastiche range failed', { hash: m.hash, from: m.from, offset: m.offset, length: m.length, error: (err as Error).message })
        answer('failed', 0)
      } finally {
        t.stop() // ends the call if the range stopped reading before the stream did
        if (open !== null) open.ranges--
        transfers.delete(m.id)
        sweep(m.hash)
      }
    })()
  }

  const assemble = (m: AssembleMsg): void => {
    void (async () => {
      let ok = false
      placing.add(m.hash)
      try {
        const a = assemblies.get(m.hash)
        assemblies.delete(m.hash)
        if (store.has(m.hash)) {
          // Held meanwhile by another way (a Put): the ranges are not needed.
          ok = true
          if (a !== undefined) await (await a.assembly).abandon()
        } else if (a === undefined) {
          // Only an empty blob has no range to open its assembly.
          if (m.bytes === 0) ok = (await store.write(m.hash, (async function* () {})())).bytes === 0
        } else if (a.total === m.bytes) ok = await (await a.assembly).finish()
        else await (await a.assembly).abandon()
      } catch (err) {
        init.log?.warn('pastiche assembly failed', { hash: m.hash, error: (err as Error).message })
      } finally {
        placing.delete(m.hash)
      }
      deliver({ type: 'assembled', id: m.id, ok })
      const b = store.stat(m.hash)
      if (ok && b !== undefined) deliver({ type: 'blob.held', hash: m.hash, bytes: b.bytes })
    })()
  }

  const pin = (hash: string, on: boolean): void => {
    // A pin of a blob gone meanwhile is nothing to keep: the machine hears `blob.gone` from the store.
    void (on ? store.pin(hash) : store.unpin(hash)).catch((err: Error) => init.log?.warn(`pastiche ${on ? 'pin' : 'unpin'} failed`, { hash, error: err.message }))
  }

  return {
    counters,
    placing: (hash) => placing.has(hash),
    take(msg) {
      if (closed) return
      switch (msg.type) {
        case 'has':
          return has(msg)
        case 'fetch':
          return fetch(msg)
        case 'fetch.cancel': {
          const t = transfers.get(msg.id)
          if (t === undefined) return
          t.cancelled = true
          transfers.delete(msg.id)
          t.stop()
          return sweep(t.hash)
        }
        case 'assemble':
          return assemble(msg)
        case 'pin':
          return pin(msg.hash, true)
        case 'unpin':
          return pin(msg.hash, false)
      }
    },
    close() {
      closed = true
      for (const t of transfers.values()) ((t.cancelled = true), t.stop())
      transfers.clear()
      for (const a of assemblies.values()) void a.assembly.then((x) => x.abandon()).catch(() => undefined)
      assemblies.clear()
    },
  }
}
