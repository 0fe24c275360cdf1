/**
 * A fulcrum's HTTP endpoint (`--metrics HOST:PORT`): Prometheus `/metrics` over the node's own
 * registry. prom-client is loaded only by a fulcrum that serves metrics: start-up time and memory
 * are features.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { InvalidArgumentError } from '../runtime/errors.js'
import type { LogStore } from '../runtime/log-store.js'
import type { SessionTransport } from '../runtime/session-transport.js'
import type { FlockActor } from './flock.actor.js'
import type { Strew } from './strew.js'

/** What the endpoint reads from. */
export interface FulcrumMetricsParts {
  id: string
  flock: FlockActor
  transport: SessionTransport
  strew: Strew | undefined
  logs: LogStore | undefined
}

/** The bound endpoint. Until {@link FulcrumHttp.attach} it answers 503 (the node is starting). */
export interface FulcrumHttp {
  /** Starts serving the node's metrics. */
  attach(parts: FulcrumMetricsParts): Promise<void>
  close(): Promise<void>
}

/**
 * Binds the endpoint before the node exists, so that a taken port stops the fulcrum before it sends
 * a packet (issue 14); rejects with one line when the address cannot be bound.
 */
export async function bindFulcrumHttp(at: { host: string; port: number }): Promise<FulcrumHttp> {
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  const server: Server = createServer((req, res) => {
    if (handle === undefined) res.writeHead(503).end('starting\n')
    else handle(req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new InvalidArgumentError(`cannot serve metrics on ${at.host}:${at.port} (${(err as NodeJS.ErrnoException).code})`)))
    server.listen(at.port, at.host, () => resolve())
  })
  return {
    async attach(parts) {
      handle = await metricsHandler(parts)
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

async function metricsHandler(parts: FulcrumMetricsParts): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const { id, flock, transport, strew, logs } = parts
  const { createMetrics } = await import('../runtime/metrics.js')
  const { registerHostMetrics } = await import('../runtime/host-metrics.js')
  const metrics = createMetrics({ labels: { node: id } })
  registerHostMetrics(metrics, flock.host)
  metrics.counterFrom('crux_wire_dropped_total', 'Datagrams dropped by the envelope, by reason.', ['reason'], () =>
    Object.entries(transport.drops).map(([reason, n]) => [{ reason }, n] as const),
  )
  metrics.counterFrom('crux_wire_accepted_total', 'Datagrams that opened.', [], () => transport.accepted())
  metrics.counterFrom('crux_wire_session_events_total', 'Session handshakes: offers and answers sent, sessions made, glare, keys erased, datagrams never sent.', ['event'], () =>
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
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found\n')
      return
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    )
  }
}
