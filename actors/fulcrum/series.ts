/**
 * The fulcrum's own series on `/metrics` beside the host's and the wire's: where the node stands in
 * its flock, its readiness, its sessions, its gRPC calls and how long its stores take to be durable.
 * Every reader runs at scrape time over numbers the node keeps anyway (docs/MONITORING.md).
 */
import { isLeader } from '../../machines/flock/context.js'
import { epochSeq } from '../../machines/flock/random.js'
import type { FlockContext } from '../../machines/flock/types.js'
import type { LogStore } from '../../runtime/log-store.js'
import type { Metrics } from '../../runtime/metrics.js'
import type { SessionTransport } from '../../runtime/session-transport.js'
import type { FileStore } from '../../runtime/store.js'
import type { FlockActor } from '../flock/flock.actor.js'
import type { Strew } from '../strew/strew.js'

/** What the series read. */
export interface FulcrumSeriesParts {
  flock: FlockActor
  transport: SessionTransport
  strew: Strew | undefined
  logs: LogStore | undefined
  files: FileStore | undefined
  ready(): boolean
}

/** Members this node suspects: on the leader, members whose beats are late; on a member, its leader when it is late. */
export function suspectedMembers(f: FlockContext): number {
  if (!isLeader(f)) return f.leaderSuspect === null ? 0 : 1
  let n = 0
  for (const id in f.mems) if (f.mems[id]!.suspect !== null) n++
  return n
}

/** Registers `crux_flock_*`, `crux_ready`, `crux_wire_sessions`, `crux_grpc_server_*` and `crux_store_*_seconds`. */
export function registerFulcrumMetrics(metrics: Metrics, p: FulcrumSeriesParts): void {
  const ctx = () => p.flock.context()
  metrics.gaugeFrom('crux_flock_members', 'Members of the flock on the list this node holds (the leader\'s, or its copy of it).', [], () => ctx().list.size)
  metrics.gaugeFrom('crux_flock_is_leader', '1 while this node leads its flock, else 0.', [], () => (isLeader(ctx()) ? 1 : 0))
  metrics.gaugeFrom('crux_flock_epoch', 'Sequence number of the flock\'s key epoch as this node knows it (rises at each re-key; 0 before any).', [], () => epochSeq(ctx().epoch))
  metrics.gaugeFrom('crux_flock_suspected_members', 'Members this node suspects: on the leader, members whose beats are late; on a member, 1 while its leader is late.', [], () => suspectedMembers(ctx()))
  metrics.gaugeFrom('crux_ready', '1 while /readyz answers 200, else 0.', [], () => (p.ready() ? 1 : 0))
  metrics.gaugeFrom('crux_wire_sessions', 'Peers this node sends to under a session now.', [], () => p.transport.sessions())
  if (p.strew !== undefined) {
    const calls = p.strew.server.callStats.methods
    metrics.counterFrom('crux_grpc_server_handled_total', 'gRPC calls answered, by service, method and status code (CANCELLED: the client went before an answer).', ['service', 'method', 'code'], function* () {
      for (const m of calls.values()) for (const [code, n] of m.codes) yield [{ service: m.service, method: m.method, code }, n] as const
    })
    metrics.histogramFrom('crux_grpc_server_handling_seconds', 'Time from a gRPC call\'s arrival to its status, by service and method.', ['service', 'method'], function* () {
      for (const m of calls.values()) yield [{ service: m.service, method: m.method }, m.latency] as const
    })
  }
  if (p.logs !== undefined) {
    const h = p.logs.syncLatency
    metrics.histogramFrom('crux_store_log_sync_seconds', 'Group commits of the reeve log store: from the first write to the last fdatasync.', [], () => [[{}, h]])
  }
  if (p.files !== undefined) {
    const h = p.files.putLatency
    metrics.histogramFrom('crux_store_file_put_seconds', 'Puts of the data dir\'s file store (checkpoint, whitelist): write, fsync, rename, fsync of the directory.', [], () => [[{}, h]])
  }
}
