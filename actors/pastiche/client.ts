/**
 * A client of a node's PasticheService on the flock's mutual TLS, speaking as the node whose
 * certificates it holds (its reeve KeyID, actors/pastiche/trust.ts): the CLI with a data dir, and a
 * fulcrum fetching from a peer. Calls answer plain values; a failure is a CruxError carrying the gRPC
 * status as its code and the peer's address (runtime/peer-client.ts). Uploads respect the channel's
 * back-pressure (a write waits for 'drain'), downloads are async iterables, so memory does not depend
 * on a blob's size. Writing a download to a file with checks and resumes is get-file.ts.
 */
import * as grpc from '@grpc/grpc-js'
import { PasticheServiceService as M, type GetResponse, type HasResponse, type LsResponse, type PutRequest, type PutResponse, type FetchResponse, type WantResponse } from '../../protos/gen/crux/v1/pastiche.js'
import { CruxError, DeadlineExceededError } from '../../runtime/errors.js'
import { decodeGet } from './get-codec.js'
import { CALLER_HEADER, type PeerTls } from '../../runtime/grpc-tls.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import { callFailure, peerChannel, type ExpectedPeer } from '../../runtime/peer-client.js'
import { keyIdOf } from '../strew/registration.js'
import { REEVE_REV } from '../strew/registry-client.js'

/** Bytes per Put message: a message of 1 MiB of data and its framing stays within the server's 1 MiB bound. */
export const PUT_CHUNK = (1 << 20) - 64

export interface PasticheClientInit {
  /** The node's gRPC address, HOST:PORT. */
  address: string
  /** The caller's channel material (`loadPeerTls(DATA_DIR)`, or a fulcrum's own). */
  tls: PeerTls
  /** Check the server's key (the CLI: its own node's). Default: any server the flock CA certified. */
  expect?: ExpectedPeer
  /** Deadline of unary calls, ms. Default 10 000. */
  timeoutMs?: number
}

export interface PutOptions {
  /** The name the bytes must hash to (verified by the node); default: whatever they hash to. */
  hash?: string
  /** Resume a kept partial upload from this byte (needs `hash`). */
  offset?: number
  /** The whole size when known: the node makes room once. */
  bytes?: number
  pin?: boolean
}

export interface PasticheClient {
  readonly address: string
  has(hash: string): Promise<HasResponse>
  /** The blob's bytes from `offset` as messages; a stream that says nothing for `stallMs` is cut (DEADLINE_EXCEEDED). */
  get(hash: string, opts?: { offset?: number; length?: number; stallMs?: number; signal?: AbortSignal }): AsyncIterable<GetResponse>
  put(source: AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<PutResponse>
  ls(): Promise<LsResponse>
  pin(hash: string): Promise<boolean>
  unpin(hash: string): Promise<boolean>
  gc(): Promise<{ removed: number; bytes: number }>
  /** Asks the node to pull `hash` from the peer at `from` (its own key only). */
  fetch(hash: string, from: string, timeoutMs?: number): Promise<FetchResponse>
  /** Gives the node the holding `hash` (its own key only). */
  want(hash: string, bytes?: number): Promise<WantResponse>
  /** Withdraws it; true when it was wanted. */
  unwant(hash: string): Promise<boolean>
  close(): void
}

/** The KeyID a holder of `tls` speaks as: its node's reeve key. */
export const callerKeyId = (tls: PeerTls): string => keyIdOf(REEVE_REV, nodeIdOf(tls.publicKey), tls.publicKey)

export function createPasticheClient(init: PasticheClientInit): PasticheClient {
  const { credentials, options } = peerChannel(init.tls, init.expect)
  // Windows of 8 MiB: the default 64 KiB stream window would cap a transfer at 64 KiB per round trip.
  const client = new grpc.Client(init.address, credentials, { ...options, 'grpc.max_receive_message_length': 4 << 20, 'grpc-node.flow_control_window': 8 << 20 })
  const meta = new grpc.Metadata()
  meta.set(CALLER_HEADER, callerKeyId(init.tls))
  const describe = `pastiche ${init.address}`
  const failure = (err: grpc.ServiceError) => callFailure(err, describe, init.address, init.tls, init.expect)
  const timeoutMs = init.timeoutMs ?? 10_000
  const unary = <Req, Res>(def: { path: string; requestSerialize(r: Req): Buffer; responseDeserialize(b: Buffer): Res }, req: Req, ms = timeoutMs): Promise<Res> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, meta.clone(), { deadline: Date.now() + ms }, (err, res) => (err ? void failure(err).then(reject) : resolve(res!)))
    })
  return {
    address: init.address,
    has: (hash) => unary(M.has, { hash }),
    get(hash, o = {}) {
      return {
        async *[Symbol.asyncIterator]() {
          const call = client.makeServerStreamRequest(M.get.path, M.get.requestSerialize, decodeGet, { hash, offset: o.offset ?? 0, length: o.length ?? 0 }, meta.clone())
          let stalled = false
          let timer: NodeJS.Timeout | undefined
          // An abort cancels the call at once, even while a message is awaited.
          const abort = () => call.cancel()
          o.signal?.addEventListener('abort', abort, { once: true })
          if (o.signal?.aborted === true) call.cancel()
          const arm = () => {
            clearTimeout(timer)
            if (o.stallMs !== undefined) timer = setTimeout(() => ((stalled = true), call.cancel()), o.stallMs)
          }
          try {
            arm()
            for await (const m of call as AsyncIterable<GetResponse>) {
              arm()
              yield m
            }
          } catch (err) {
            if (stalled) throw new DeadlineExceededError(`${describe}: no bytes for ${o.stallMs} ms`)
            throw err instanceof CruxError ? err : await failure(err as grpc.ServiceError)
          } finally {
            clearTimeout(timer)
            o.signal?.removeEventListener('abort', abort)
            call.cancel()
          }
        },
      }
    },
    put(source, o = {}) {
      return new Promise<PutResponse>((resolve, reject) => {
        let settled = false
        /** Wakes a send waiting for 'drain' when the answer comes first (it never drains then). */
        let wake = (): void => undefined
        const call = client.makeClientStreamRequest(M.put.path, M.put.requestSerialize, M.put.responseDeserialize, meta.clone(), {}, (err, res) => {
          settled = true
          wake()
          if (err) void failure(err).then(reject)
          else resolve(res!)
        })
        const send = (m: PutRequest) =>
          call.write(m)
            ? Promise.resolve()
            : new Promise<void>((r) => {
                wake = r
                call.once('drain', r)
              })
        void (async () => {
          try {
            await send({ part: { $case: 'header', value: { hash: o.hash ?? '', offset: o.offset ?? 0, bytes: o.bytes ?? 0, pin: o.pin === true } } })
            for await (const chunk of source) {
              for (let at = 0; at < chunk.length && !settled; at += PUT_CHUNK) await send({ part: { $case: 'data', value: Buffer.from(chunk.buffer, chunk.byteOffset + at, Math.min(PUT_CHUNK, chunk.length - at)) } })
              if (settled) break // answered early (the blob was held, or refused): the rest is not needed
            }
            call.end()
          } catch (err) {
            call.cancel()
            if (!settled) reject(CruxError.from(err))
            settled = true
          }
        })()
      })
    },
    ls: () => unary(M.ls, {}),
    pin: async (hash) => (await unary(M.pin, { hash })).changed,
    unpin: async (hash) => (await unary(M.unpin, { hash })).changed,
    gc: () => unary(M.gc, {}),
    fetch: (hash, from, ms = 3_600_000) => unary(M.fetch, { hash, from }, ms),
    want: (hash, bytes = 0) => unary(M.want, { hash, bytes }),
    unwant: async (hash) => (await unary(M.unwant, { hash })).changed,
    close: () => client.close(),
  }
}
