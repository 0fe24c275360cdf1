/**
 * Bounds on crux's gRPC edge (issue 13; docs/LIMITS.md "gRPC server"). grpc-js bounds none of this
 * by default: it accepts every connection, lets each open as many streams as it likes, keeps an idle
 * connection for ~25 days, and buffers a request's bytes until the message is whole. One connection
 * of 600 streams each sending most of a 1 MiB message and stopping took a fulcrum from 61 MB to 674 MB.
 *
 * So the server listens on its own `net.Server` (counting connections in total and per source
 * address, refusing beyond) and hands each accepted socket to grpc-js through a connection injector;
 * and every request stream's bytes are counted until the client finishes sending, in total and per
 * connection: a stream that takes either past its budget is reset (ENHANCE_YOUR_CALM), so what
 * unfinished requests hold is bounded whatever the number of connections.
 */
import { constants as h2, type Http2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2'
import { createServer, type Server as NetServer, type Socket } from 'node:net'
import type * as grpc from '@grpc/grpc-js'
import { UnavailableError } from './errors.js'

/** The bounds; every field has a default ({@link GRPC_LIMITS}). */
export interface GrpcLimits {
  /** Connections open at once, from anyone. */
  maxConnections: number
  /** Connections open at once from one source address. */
  maxConnectionsPerAddress: number
  /** Concurrent streams (calls) per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxStreamsPerConnection: number
  /** Largest request message, bytes. */
  maxMessageBytes: number
  /** Bytes of requests not yet sent in full, per connection. */
  maxPendingBytesPerConnection: number
  /** Bytes of requests not yet sent in full, over all connections. */
  maxPendingBytes: number
  /** A connection with no call open this long is closed (GOAWAY), ms. */
  idleMs: number
  /** nghttp2's own memory per connection (header tables, queued frames), MB. */
  sessionMemoryMb: number
}

/** The defaults, and why, are in docs/LIMITS.md. */
export const GRPC_LIMITS: GrpcLimits = {
  maxConnections: 4_096,
  maxConnectionsPerAddress: 256,
  maxStreamsPerConnection: 256,
  maxMessageBytes: 1 << 20,
  maxPendingBytesPerConnection: 4 << 20,
  maxPendingBytes: 64 << 20,
  idleMs: 300_000,
  sessionMemoryMb: 10,
}

/** What the bounds refused, for logs and metrics. */
export interface GrpcLimitCounters {
  /** Connections closed at once: over the total or the per-address cap. */
  refusedConnections: number
  /** Streams reset for holding too many unfinished request bytes. */
  resetStreams: number
  /** Connections the OS would not let us accept (EMFILE, ENFILE): the server keeps listening. */
  acceptErrors: number
}

/** grpc-js server options for `limits`. */
export function serverOptions(l: GrpcLimits): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': l.maxMessageBytes,
    'grpc.max_concurrent_streams': l.maxStreamsPerConnection,
    'grpc-node.max_session_memory': l.sessionMemoryMb,
    'grpc.max_connection_idle_ms': l.idleMs,
    // channelz (call tracing for grpc-js's debug service, which crux does not serve) costs every call.
    'grpc.enable_channelz': 0,
  }
}

/**
 * Makes grpc-js count request bytes on every HTTP/2 server it creates from now on (the injector's
 * included). grpc-js offers no hook for this: its private `createHttp2Server` is wrapped, and its
 * absence (a grpc-js that changed) is an error at start-up, never a silently unbounded server.
 */
export function boundPendingBytes(server: grpc.Server, l: GrpcLimits, counters: GrpcLimitCounters, streaming: ReadonlySet<string> = new Set()): void {
  const s = server as unknown as { createHttp2Server?: (creds: unknown) => Http2Server }
  const create = s.createHttp2Server
  if (typeof create !== 'function') throw new UnavailableError('this @grpc/grpc-js has no createHttp2Server: request bytes cannot be bounded')
  const perSession = new Map<Http2Session, number>()
  let total = 0
  s.createHttp2Server = (creds: unknown) => {
    const h2server = create.call(server, creds)
    // Added after grpc-js's own listener, which has paused the stream: this 'data' listener does not resume it.
    h2server.on('stream', (stream: ServerHttp2Stream, headers: Record<string, unknown>) => {
      const session = stream.session
      if (session === undefined) return
      // A client stream (an upload) is never whole until it ends: only its unfinished message counts.
      // Its whole messages wait in grpc-js, which pauses the stream until the handler reads them.
      const unfinished = streaming.has(String(headers[':path'])) ? messageTail() : undefined
      let held = 0
      const release = () => {
        if (held === 0) return
        total -= held
        const left = (perSession.get(session) ?? held) - held
        if (left > 0) perSession.set(session, left)
        else perSession.delete(session)
        held = 0
      }
      stream.on('data', (chunk: Buffer) => {
        if (stream.closed) return
        const grown = unfinished === undefined ? chunk.length : unfinished(chunk) - held
        held += grown
        total += grown
        const mine = (perSession.get(session) ?? 0) + grown
        perSession.set(session, mine)
        if (mine <= l.maxPendingBytesPerConnection && total <= l.maxPendingBytes) return
        counters.resetStreams++
        release()
        stream.close(h2.NGHTTP2_ENHANCE_YOUR_CALM)
      })
      // The client finished sending: the request is whole, and the handler's to answer.
      stream.once('end', release)
      stream.once('close', release)
    })
    return h2server
  }
}

/**
 * Follows gRPC's framing (a flag byte, a 4-byte length, the message) over a stream's chunks; each call
 * returns how many bytes of the message still unfinished after that chunk have arrived.
 */
function messageTail(): (chunk: Buffer) => number {
  const header = Buffer.alloc(5)
  let inHeader = 0
  let left = 0
  let have = 0
  return (chunk) => {
    let at = 0
    while (at < chunk.length) {
      if (left === 0 && inHeader < 5) {
        const n = Math.min(5 - inHeader, chunk.length - at)
        chunk.copy(header, inHeader, at, at + n)
        inHeader += n
        at += n
        have += n
        if (inHeader === 5) left = header.readUInt32BE(1)
        if (inHeader === 5 && left === 0) inHeader = have = 0
        continue
      }
      const n = Math.min(left, chunk.length - at)
      left -= n
      at += n
      have += n
      if (left === 0) inHeader = have = 0
    }
    return have
  }
}

/**
 * Listens on host:port and passes each connection to `inject`, unless it is one too many (in total
 * or from its address): then it is closed at once and counted.
 */
export function listenBounded(host: string, port: number, l: GrpcLimits, counters: GrpcLimitCounters, inject: (socket: Socket) => void): Promise<NetServer> {
  const perAddress = new Map<string, number>()
  let open = 0
  const server = createServer({ noDelay: true }, (socket) => {
    const from = socket.remoteAddress ?? ''
    const mine = perAddress.get(from) ?? 0
    if (open >= l.maxConnections || mine >= l.maxConnectionsPerAddress) {
      counters.refusedConnections++
      socket.destroy()
      return
    }
    open++
    perAddress.set(from, mine + 1)
    socket.once('close', () => {
      open--
      const left = (perAddress.get(from) ?? 1) - 1
      if (left > 0) perAddress.set(from, left)
      else perAddress.delete(from)
    })
    inject(socket)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      // A failed accept (EMFILE: out of file handles) loses that one connection, not the server.
      server.on('error', () => void counters.acceptErrors++)
      resolve(server)
    })
  })
}
