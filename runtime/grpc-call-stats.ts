/**
 * gRPC calls by method and status code, and their latency by method, counted by a server
 * interceptor at the gRPC edge (runtime/grpc-server.ts): the only place status codes exist. Kept as
 * plain maps; `/metrics` reads them at scrape time (actors/fulcrum/metrics.ts).
 *
 * Only methods the server registered reach an interceptor (grpc-js answers any other path
 * UNIMPLEMENTED before), so a client cannot grow these maps with made-up method names.
 */
import * as grpc from '@grpc/grpc-js'
import { LatencyHistogram } from './latency.js'

/** The status code's name as grpc-js spells it (`OK`, `UNAUTHENTICATED`, …), or its number. */
const CODE_NAMES = new Map<number, string>(Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]))

/** One method's answers: how many per code, and how long each took from arrival to status. */
export interface MethodStats {
  /** `package.Service`. */
  readonly service: string
  readonly method: string
  readonly codes: Map<string, number>
  readonly latency: LatencyHistogram
}

export class GrpcCallStats {
  /** By the method's path (`/package.Service/Method`). */
  readonly methods = new Map<string, MethodStats>()

  /** Counts one answered call. */
  record(path: string, code: number, seconds: number): void {
    let m = this.methods.get(path)
    if (m === undefined) {
      const cut = path.lastIndexOf('/')
      m = { service: path.slice(1, cut), method: path.slice(cut + 1), codes: new Map(), latency: new LatencyHistogram() }
      this.methods.set(path, m)
    }
    const name = CODE_NAMES.get(code) ?? String(code)
    m.codes.set(name, (m.codes.get(name) ?? 0) + 1)
    m.latency.observe(seconds)
  }

  /**
   * The interceptor: times each call from its arrival to the status sent, or to its cancellation
   * (counted as CANCELLED: the client gave up or the deadline passed, and no status went out).
   */
  readonly interceptor: grpc.ServerInterceptor = (descriptor, call) => {
    const start = performance.now()
    let done = false
    const finish = (code: number) => {
      if (done) return
      done = true
      this.record(descriptor.path, code, (performance.now() - start) / 1000)
    }
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => finish(grpc.status.CANCELLED) }),
      sendStatus: (status, next) => {
        finish(status.code)
        next(status)
      },
    })
  }
}
