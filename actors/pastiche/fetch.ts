/**
 * Pulls one blob from one peer into the local store: the peer's Get streams into the store's write
 * under the expected hash, so the bytes are verified as they land and nothing wrong is ever visible.
 * After a break, the bytes that arrived stay in the store (`store.partial(hash)`) and the next call
 * resumes from them. Policy-free on purpose: which peer, whether and when to try again, and what to
 * think of a peer that failed are the caller's (the pastiche machine, the Fetch call, a test).
 */
import { CruxError, Code } from '../../runtime/errors.js'
import type { PasticheClient } from './client.js'
import { HashMismatchError } from './errors.js'
import { parseHash } from './hash.js'
import type { BlobStore } from './store.js'

/** Why a fetch failed, for the caller's policy. */
export type FetchFailure =
  /** The peer's bytes do not hash to the name: the partial is gone; count the peer as bad. */
  | 'corrupt'
  /** The peer does not hold the blob. */
  | 'not-found'
  /** The peer refused our key (not a member it knows, another flock). */
  | 'refused'
  /** The peer could not be reached, or the transfer broke or stalled: the bytes so far are kept. */
  | 'broken'
  /** This node failed: its store is full, its disk refused, or another write of the blob is under way. */
  | 'local'

/** A fetch that failed: which peer, which blob, what failed, and the bytes moved before it did. */
export class FetchError extends CruxError {
  constructor(
    readonly peer: string,
    readonly hash: string,
    readonly failure: FetchFailure,
    readonly moved: number,
    cause: CruxError,
  ) {
    // The peer's own words come prefixed with its address, already said here.
    const words = cause.message.startsWith(`pastiche ${peer}: `) ? cause.message.slice(`pastiche ${peer}: `.length) : cause.message
    super(cause.code, `fetching ${hash} from ${peer}: ${words}`, { cause, details: { peer, hash, failure, moved } })
    this.name = 'FetchError'
  }
}

export interface FetchComponents {
  store: BlobStore
  /** A client of the peer's PasticheService: the caller's (it chose the peer). */
  peer(address: string): PasticheClient
  /** A transfer that receives nothing for this long is cut (and kept for a resume), ms. Default 30 000. */
  stallMs?: number
}

export interface FetchResult {
  hash: string
  bytes: number
  /** Bytes that crossed the network in this call (less than `bytes` after a resume). */
  moved: number
  /** Where the transfer started (the bytes kept from an earlier break). */
  from: number
  existed: boolean
}

function failureOf(err: CruxError, local: boolean): FetchFailure {
  if (err instanceof HashMismatchError) return 'corrupt'
  if (local) return 'local'
  switch (err.code) {
    case Code.NOT_FOUND:
      return 'not-found'
    case Code.PERMISSION_DENIED:
    case Code.UNAUTHENTICATED:
      return 'refused'
    case Code.DATA_LOSS:
      return 'corrupt'
    default:
      return 'broken'
  }
}

/** `fetchBlob({ store, peer }, { hash, from })`: the blob from peer `from`, resumed from what is kept (or `offset`). */
export async function fetchBlob(c: FetchComponents, req: { hash: string; from: string; offset?: number }): Promise<FetchResult> {
  const hash = parseHash(req.hash)
  const held = c.store.stat(hash)
  if (held !== undefined) return { hash, bytes: held.bytes, moved: 0, from: held.bytes, existed: true }
  const start = Math.min(req.offset ?? c.store.partial(hash), c.store.partial(hash))
  // Held against eviction while it arrives, and while the caller gets the answer.
  const hold = c.store.reserve(hash)
  let moved = 0
  let fromPeer = false
  try {
    const stream = c.peer(req.from).get(hash, { offset: start, stallMs: c.stallMs ?? 30_000 })
    // The first message says the size: room is made for all of it before a byte is written.
    const it = stream[Symbol.asyncIterator]()
    fromPeer = true
    const first = await it.next()
    const total = first.done === true ? start : first.value.total
    async function* bytes(): AsyncGenerator<Uint8Array> {
      let m = first
      let at = start
      while (m.done !== true) {
        if (m.value.offset !== at) throw new CruxError(Code.DATA_LOSS, `the peer sent bytes at ${m.value.offset}, ${at} expected`)
        at += m.value.data.length
        moved += m.value.data.length
        yield m.value.data
        m = await it.next()
      }
    }
    fromPeer = false
    const wrote = await c.store.write(hash, tracked(bytes(), () => (fromPeer = true), () => (fromPeer = false)), { offset: start, ...(total > start ? { bytes: total } : {}) })
    return { hash, bytes: wrote.bytes, moved, from: start, existed: wrote.existed }
  } catch (err) {
    const e = CruxError.from(err)
    throw new FetchError(req.from, hash, failureOf(e, !fromPeer), moved, e)
  } finally {
    hold.release()
  }
}

/** `source`, noting while it waits on the peer: an error thrown then is the peer's, not the store's. */
async function* tracked(source: AsyncGenerator<Uint8Array>, waiting: () => void, done: () => void): AsyncGenerator<Uint8Array> {
  for (;;) {
    waiting()
    const m = await source.next()
    done()
    if (m.done === true) return
    yield m.value
  }
}
