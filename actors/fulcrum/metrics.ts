/**
 * A fulcrum's HTTP endpoint (`--metrics HOST:PORT`): Prometheus `/metrics` over the node's own
 * registry, `/healthz` and `/readyz` for liveness and readiness probes (docs/MONITORING.md).
 * prom-client is loaded only by a fulcrum that serves metrics: start-up time and memory are features.
 *
 * `/healthz` answers 200 from the moment the port is bound: it says the process serves (its event
 * loop turns), which is what a liveness probe must know. A node still starting is alive; restarting
 * it would only start it again. A node that cannot start exits instead (issue 14), and a process that
 * hangs answers nothing. `/readyz` says whether the node is of use to a flock (actors/fulcrum/readiness.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { cannotServe } from '../../runtime/errors.js'
import type { LogStore } from '../../runtime/log-store.js'
import type { SessionTransport } from '../../runtime/session-transport.js'
import type { FileStore } from '../../runtime/store.js'
import { readiness, type Readiness } from './readiness.js'
import type { FlockActor } from '../flock/flock.actor.js'
import type { Strew } from '../strew/strew.js'

/** What the endpoint reads from. */
export interface FulcrumMetricsParts {
  id: string
  flock: FlockActor
  transport: SessionTransport
  strew: Strew | undefined
  logs: LogStore | undefined
  /** The data dir's file store (checkpoint, whitelist): its put latency. */
  files?: FileStore
}

/** The bound endpoint. Until {@link FulcrumHttp.attach}, `/metrics` and `/readyz` answer 503 (the node is starting). */
export interface FulcrumHttp {
  /** Starts serving the node's metrics. */
  attach(parts: FulcrumMetricsParts): Promise<void>
  close(): Promise<void>
}

/**
 * Binds the endpoint before the node exists, so that a taken port stops the fulcrum before it sends
 * a packet (issue 14); rejects with one line when the address cannot be bound, a failure to start
 * (a BindError: exit 1, as for the UDP and gRPC ports).
 */
export async function bindFulcrumHttp(at: { host: string; port: number }): Promise<FulcrumHttp> {
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/healthz') return void text(res, 200, 'ok')
    if (handle !== undefined) return handle(req, res)
    if (path === '/readyz' || path === '/metrics') return void text(res, 503, 'starting')
    text(res, 404, 'not found')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(cannotServe('metrics', `${at.host}:${at.port}`, err)))
    server.listen(at.port, at.host, () => resolve())
  })
  return {
    async attach(parts) {
      handle = await metricsHandler(parts)
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

/** A one-line plain-text answer. */
function text(res: ServerResponse, status: number, line: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${line}\n`)
}

/** The node's readiness now. */
function readyNow(parts: FulcrumMetricsParts): Readiness {
  const { flock, strew } = parts
  return readiness({ flock: flock.context(), role: flock.role(), ...(strew === undefined ? {} : { following: strew.following() }) })
}

async function metricsHandler(parts: FulcrumMetricsParts): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const { id, flock, transport, strew, logs, files } = parts
  const { createMetrics } = await import('../../runtime/metrics.js')
  const { registerHostMetrics } = await import('../../runtime/host-metrics.js')
  const { registerFulcrumMetrics } = await import('./series.js')
  // One node per process: prom-client's process and Node.js series (CPU, RSS, heap, event-loop lag, GC) are this node's.
  const metrics = createMetrics({ labels: { node: id }, defaultMetrics: true })
  registerHostMetrics(metrics, flock.host)
  registerFulcrumMetrics(metrics, { flock, transport, strew, logs, files, ready: () => readyNow(parts).ready })
  // The envelope's drops, and those the flock's route denied once decoded (impostor, secondary).
  metrics.counterFrom('crux_wire_dropped_total', 'Datagrams dropped by the envelope or the sender check, by reason.', ['reason'], () =>
    [...Object.entries(transport.drops), ...Object.entries(flock.bridge.counters.denied)].map(([reason, n]) => [{ reason }, n] as const),
  )
  metrics.counterFrom('crux_wire_accepted_total', 'Datagrams that opened.', [], () => transport.accepted())
  metrics.counterFrom('crux_wire_session_events_total', 'Session handshakes: offers and answers sent, sessions made (rekeys: of those, the ones that replaced a session in use), glare, keys erased, datagrams never sent.', ['event'], () =>
    Object.entries(transport.counts).map(([event, n]) => [{ event }, n] as const),
  )
  metrics.gaugeFrom('crux_wire_session_keys', 'Receive keys held (in use, awaiting confirmation, or in their grace period).', [], () => transport.heldKeys())
  if (strew !== undefined) {
    const lc = strew.server.limitCounters
    metrics.counterFrom('crux_grpc_limited_total', 'gRPC connections refused over a cap, streams reset over the unfinished-request budget, accepts the OS refused (docs/LIMITS.md).', ['what'], () => [
      [{ what: 'connection_refused' }, lc.refusedConnections],
      [{ what: 'stream_reset' }, lc.resetStreams],
      [{ what: 'accept_error' }, lc.acceptErrors],
    ] as const)
  }
  if (logs !== undefined) {
    const lsc = logs.counters
    metrics.counterFrom('crux_store_log_write_failures_total', 'Writes to the reeve log store the disk refused; the store mends itself by rewriting (docs/LIMITS.md).', [], () => lsc.failures)
  }
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/readyz') {
      const r = readyNow(parts)
      return void (r.ready ? text(res, 200, 'ready') : text(res, 503, `not ready: ${r.reason}`))
    }
    if (path !== '/metrics') return void text(res, 404, 'not found')
    metrics.text().then(
      (page) => res.writeHead(200, { 'content-type': metrics.contentType }).end(page),
      (err: unknown) => res.writeHead(500).end(String(err)),
    )
  }
}
