/**
 * The PasticheService handlers (protos/crux/v1/pastiche.proto) over one node's blob store. The store's
 * named errors (errors.ts) become gRPC statuses here and nowhere else: each is a CruxError whose code
 * is the status (runtime/grpc-server.ts toServiceError), its message the status's details.
 *
 * Get streams the store's 1 MiB chunks and respects the channel: when `write()` says the buffer is
 * full, the file stream pauses until 'drain', so a slow reader holds a blob's memory to a few chunks
 * whatever its size. Put feeds the upload into `store.write`, which verifies it (put-stream.ts).
 * `wanted` in Ls is false until declarative holdings exist.
 */
import type * as grpc from '@grpc/grpc-js'
import type { Readable } from 'node:stream'
import { PasticheServiceService, type FetchRequest, type FetchResponse, type GetRequest, type GetResponse, type HasRequest, type HasResponse, type LsResponse, type PinRequest, type PutRequest, type PutResponse } from '../../protos/gen/crux/v1/pastiche.js'
import { callerOf, toServiceError, unary } from '../../runtime/grpc-server.js'
import { OutOfRangeError, PermissionDeniedError } from '../../runtime/errors.js'
import { parseHash } from './hash.js'
import { openPut } from './put-stream.js'
import type { BlobStore } from './store.js'

export { PasticheServiceService } from '../../protos/gen/crux/v1/pastiche.js'

export interface PasticheServiceInit {
  store: BlobStore
  /** The KeyID of the node's own key: the only caller of Pin, Unpin, Gc and Fetch. */
  ownKeyId: string
  /** Pulls a blob from a peer (Fetch), as the node's own key asked. */
  fetch(hash: string, from: string): Promise<FetchResponse>
}

/** Refuses a call not made with the node's own key, in the words every refusal uses. */
function own(call: object, init: PasticheServiceInit): void {
  if (callerOf(call) !== init.ownKeyId) throw new PermissionDeniedError('call refused')
}

/** Streams `stream` into `call` as GetResponses from `offset`, at most `length` bytes (0: all), pausing on a full buffer. */
function pipeBlob(call: grpc.ServerWritableStream<GetRequest, GetResponse>, stream: Readable, offset: number, size: number, length: number): void {
  let at = offset
  const end = length === 0 ? size : Math.min(size, offset + length)
  let first = true
  const finish = () => {
    stream.destroy()
    if (first) call.write({ offset, data: Buffer.alloc(0), total: size }) // an empty range still says the size
    call.end()
  }
  call.once('cancelled', () => stream.destroy())
  stream.on('error', (err) => {
    stream.destroy()
    call.emit('error', toServiceError(err))
  })
  stream.on('end', finish)
  stream.on('data', (chunk: Buffer) => {
    const data = at + chunk.length > end ? chunk.subarray(0, end - at) : chunk
    const ok = call.write({ offset: at, data, total: first ? size : 0 })
    first = false
    at += data.length
    if (at >= end) return void (stream.off('end', finish), finish())
    if (!ok) {
      stream.pause()
      call.once('drain', () => stream.resume())
    }
  })
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
    get: (call: grpc.ServerWritableStream<GetRequest, GetResponse>) => {
      try {
        const { hash, offset, length } = call.request
        const size = store.stat(parseHash(hash))?.bytes
        if (size !== undefined && offset > size) throw new OutOfRangeError(`blob ${hash}: offset ${offset} is past its ${size} bytes`)
        pipeBlob(call, store.read(hash, offset), offset, size ?? 0, length)
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
      return { blobs: store.ls().map((b) => ({ hash: b.hash, bytes: b.bytes, pinned: b.pinned, wanted: false, held: true })), bytes: u.blobs + u.incoming, limit: u.limit }
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
    fetch: unary<FetchRequest, FetchResponse>((call) => {
      own(call, init)
      return init.fetch(parseHash(call.request.hash), call.request.from)
    }),
  }
}
