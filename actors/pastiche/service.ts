/**
 * The PasticheService handlers (protos/crux/v1/pastiche.proto) over one node's blob store. The store's
 * named errors (errors.ts) become gRPC statuses here and nowhere else: each is a CruxError whose code
 * is the status (runtime/grpc-server.ts toServiceError), its message the status's details.
 *
 * Get streams the store's 1 MiB chunks and respects the channel: when `write()` says the buffer is
 * full, the file stream pauses until 'drain', so a slow reader holds a blob's memory to a few chunks
 * whatever its size. Put feeds the upload into `store.write`, which verifies it (put-stream.ts).
 * Want and Unwant give a declarative holding to the node's pastiche machine (machine-host.ts); Ls says
 * which blobs are wanted, the wanted ones not held yet included (`held: false`).
 */
import type * as grpc from '@grpc/grpc-js'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { PasticheServiceService as Generated, type FetchRequest, type FetchResponse, type GetRequest, type GetResponse, type HasRequest, type HasResponse, type LsResponse, type PinRequest, type PutRequest, type PutResponse, type UnwantRequest, type UnwantResponse, type WantRequest, type WantResponse } from '../../protos/gen/crux/v1/pastiche.js'
import { callerOf, toServiceError, unary } from '../../runtime/grpc-server.js'
import { DataLossError, OutOfRangeError, PermissionDeniedError, UnavailableError } from '../../runtime/errors.js'
import { BlobNotFoundError } from './errors.js'
import { encodeGetInPlace, GET_PREFIX, serializeGet } from './get-codec.js'
import { hexOf, parseHash } from './hash.js'
import { openPut } from './put-stream.js'
import type { BlobStore, Reservation } from './store.js'
import { blobPath } from './write.js'

/** Bytes per Get message (the proto's bound). */
const READ_CHUNK = 1 << 20

/** The service's definition as served: Get's answers may be messages already encoded (get-codec.ts). */
export const PasticheServiceService = { ...Generated, get: { ...Generated.get, responseSerialize: serializeGet } }

export interface PasticheServiceInit {
  store: BlobStore
  /** The KeyID of the node's own key: the only caller of Pin, Unpin, Gc and Fetch (members may Want and Unwant too). */
  ownKeyId: string
  /** Pulls a blob from a peer (Fetch), as the node's own key asked. */
  fetch(hash: string, from: string): Promise<FetchResponse>
  /** The node's declarative holdings (its pastiche machine); without them Want and Unwant are unavailable. */
  holdings?: Holdings
}

/** The node's declarative holdings, as the service sees them. */
export interface Holdings {
  /** The blobs wanted now. */
  wanted(): string[]
  /** The pastiche peers known now. */
  peers(): number
  /** The peers whose ranges made the copy of wanted blob `hash` (empty if not fetched for a holding). */
  from(hash: string): string[]
  /** Gives the holding to the machine; false when its mailbox did not take it. */
  want(hash: string, bytes?: number): boolean
  unwant(hash: string): boolean
}

function holdingsOf(init: PasticheServiceInit): Holdings {
  if (init.holdings === undefined) throw new UnavailableError('this node keeps no declarative holdings')
  return init.holdings
}

/** Refuses a call not made with the node's own key, in the words every refusal uses. */
function own(call: object, init: PasticheServiceInit): void {
  if (callerOf(call) !== init.ownKeyId) throw new PermissionDeniedError('call refused')
}

/** Messages a Get keeps queued in grpc-js before it reads more from disk: 4 MiB per stream. */
const IN_FLIGHT = 4

/**
 * Streams the blob's bytes [offset, end) from `file` into `call`, 1 MiB per message, read into
 * buffers with room for the message's other fields (get-codec.ts). At most {@link IN_FLIGHT}
 * messages wait in grpc-js: past that the next read waits until one is flushed to the connection, so
 * a slow reader holds a few MiB of the server, whatever the blob's size. The reservation keeps the
 * blob from eviction until the stream ends.
 */
async function pipeBlob(call: grpc.ServerWritableStream<GetRequest, Buffer | GetResponse>, file: string, offset: number, end: number, total: number, hold: Reservation): Promise<void> {
  let cancelled = false
  let waiting: (() => void) | undefined
  let inFlight = 0
  call.once('cancelled', () => {
    cancelled = true
    waiting?.()
  })
  const sent = () => {
    inFlight--
    waiting?.()
  }
  let fh: FileHandle | undefined
  try {
    fh = await open(file, 'r')
    let at = offset
    do {
      const n = Math.min(READ_CHUNK, end - at)
      const buf = Buffer.allocUnsafe(GET_PREFIX + n)
      const { bytesRead } = n === 0 ? { bytesRead: 0 } : await fh.read(buf, GET_PREFIX, n, at)
      if (bytesRead !== n) throw new DataLossError(`blob file ${file} ended at byte ${at + bytesRead}, ${end} expected`)
      if (cancelled) return
      inFlight++
      call.write(encodeGetInPlace(buf, n, at, at === offset ? total : 0), sent)
      at += n
      while (inFlight >= IN_FLIGHT && !cancelled) await new Promise<void>((r) => (waiting = r))
      waiting = undefined
    } while (at < end && !cancelled)
    if (!cancelled) call.end()
  } catch (err) {
    call.emit('error', toServiceError(err))
  } finally {
    hold.release()
    await fh?.close().catch(() => undefined)
  }
}

/** The service's handlers: `server.addService(PasticheServiceService, pasticheHandlers(init), { lookup })`. */
export function pasticheHandlers(init: PasticheServiceInit): grpc.UntypedServiceImplementation {
  const { store } = init
  return {
    has: unary<HasRequest, HasResponse>((call) => {
      const hash = parseHash(call.request.hash)
      const b = store.stat(hash)
      return b === undefined ? { held: false, bytes: 0, partial: store.partial(hash) } : { held: true, bytes: b.bytes, partial: 0 }
    }),
    get: (call: grpc.ServerWritableStream<GetRequest, Buffer | GetResponse>) => {
      try {
        const { hash, offset, length } = call.request
        const size = store.stat(parseHash(hash))?.bytes
        if (size === undefined) throw new BlobNotFoundError(hash)
        if (offset > size) throw new OutOfRangeError(`blob ${hash}: offset ${offset} is past its ${size} bytes`)
        // Held from here (the same tick as the lookup) until the stream ends: eviction cannot take it meanwhile.
        const hold = store.reserve(hash)
        void pipeBlob(call, blobPath(join(store.dir, 'blobs'), hexOf(hash)), offset, length === 0 ? size : Math.min(size, offset + length), size, hold)
      } catch (err) {
        call.emit('error', toServiceError(err))
      }
    },
    put: (call: grpc.ServerReadableStream<PutRequest, PutResponse>, callback: grpc.sendUnaryData<PutResponse>) => {
      void (async () => {
        const { start, bytes } = await openPut(call)
        const r = await store.write(start.hash, bytes, { offset: start.offset, ...(start.bytes > 0 ? { bytes: start.bytes } : {}) })
        if (start.pin) await store.pin(r.hash)
        return r
      })().then(
        (r) => callback(null, { hash: r.hash, bytes: r.bytes, existed: r.existed }),
        (err: unknown) => callback(toServiceError(err)),
      )
    },
    ls: unary<unknown, LsResponse>(() => {
      const u = store.usage()
      const wanted = new Set(init.holdings?.wanted() ?? [])
      const from = (hash: string) => (wanted.has(hash) ? init.holdings!.from(hash) : [])
      const blobs = store.ls().map((b) => ({ hash: b.hash, bytes: b.bytes, pinned: b.pinned, wanted: wanted.has(b.hash), held: true, from: from(b.hash) }))
      for (const hash of [...wanted].sort()) if (!store.has(hash)) blobs.push({ hash, bytes: 0, pinned: false, wanted: true, held: false, from: [] })
      blobs.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0))
      return { blobs, bytes: u.blobs + u.incoming, limit: u.limit }
    }),
    pin: unary<PinRequest, { changed: boolean }>(async (call) => {
      own(call, init)
      const hash = parseHash(call.request.hash)
      const was = store.stat(hash)?.pinned === true
      await store.pin(hash)
      return { changed: !was }
    }),
    unpin: unary<PinRequest, { changed: boolean }>(async (call) => {
      own(call, init)
      const hash = parseHash(call.request.hash)
      const was = store.stat(hash)?.pinned === true
      await store.unpin(hash)
      return { changed: was }
    }),
    gc: unary<unknown, { removed: number; bytes: number }>((call) => {
      own(call, init)
      return store.gc()
    }),
    // Want and Unwant are open to the flock's members as well (the whitelist admits only them): "blob
    // H must be on node N" is given to N by whichever node an operator works from (`--node`).
    want: unary<WantRequest, WantResponse>((call) => {
      const hash = parseHash(call.request.hash)
      const h = holdingsOf(init)
      const was = h.wanted().includes(hash)
      if (!h.want(hash, call.request.bytes > 0 ? call.request.bytes : undefined)) throw new UnavailableError('the pastiche machine did not take the holding')
      return { changed: !was, held: store.has(hash), peers: h.peers() }
    }),
    unwant: unary<UnwantRequest, UnwantResponse>((call) => {
      const hash = parseHash(call.request.hash)
      const h = holdingsOf(init)
      const was = h.wanted().includes(hash)
      if (!h.unwant(hash)) throw new UnavailableError('the pastiche machine did not take the withdrawal')
      return { changed: was }
    }),
    fetch: unary<FetchRequest, FetchResponse>((call) => {
      own(call, init)
      return init.fetch(parseHash(call.request.hash), call.request.from)
    }),
  }
}
