/**
 * Exposes a road's counters (runtime/road-core.ts) and its router's on a metrics registry, read at
 * scrape time like the host's (runtime/host-metrics.ts): the road keeps plain numbers on its path.
 */
import type { Metrics } from './metrics.js'
import type { RoadCounters } from './road-core.js'
import type { RouterCounters } from './router.js'

const byLabel = <L extends string>(label: L, m: Record<string, number>) => Object.entries(m).map(([k, v]) => [{ [label]: k } as Record<L, string>, v] as const)

/** Registers `crux_road_*` series reading from `road` (and `crux_router_*` from `router` when given). */
export function registerRoadMetrics(metrics: Metrics, road: { counters: RoadCounters; readonly pending: number }, router?: { counters: RouterCounters }): void {
  const c = road.counters
  metrics.counterFrom('crux_road_calls_sent_total', 'Outbound gRPC calls the road made.', [], () => c.sent)
  metrics.counterFrom('crux_road_calls_looped_total', "Sends to the node's own gRPC address, delivered to its mailbox without a call.", [], () => c.looped)
  metrics.counterFrom('crux_road_answers_total', "Answer events delivered into sending actors' mailboxes.", [], () => c.answered)
  metrics.counterFrom('crux_road_calls_failed_total', 'call.failed events delivered to sending actors, by status.', ['code'], () => byLabel('code', c.failed))
  metrics.counterFrom('crux_road_calls_accepted_total', 'Inbound calls handed to an actor as reply:<n>.', [], () => c.accepted)
  metrics.counterFrom('crux_road_calls_refused_total', 'Inbound calls ended with a status (refusals, timeouts, bad requests, the bound), by status.', ['code'], () => byLabel('code', c.refused))
  metrics.counterFrom('crux_road_calls_cancelled_total', 'Inbound calls their client cancelled.', [], () => c.cancelled)
  metrics.counterFrom('crux_road_late_answers_total', 'Answers to inbound calls that had already ended.', [], () => c.late)
  metrics.counterFrom('crux_road_dropped_total', 'Messages the road dropped, by reason.', ['reason'], () => byLabel('reason', c.dropped))
  metrics.gaugeFrom('crux_road_pending_calls', 'Inbound calls waiting for their terminal answer.', [], () => road.pending)
  if (router === undefined) return
  const r = router.counters
  metrics.counterFrom('crux_router_sends_total', 'Non-local sends routed, by address kind.', ['kind'], () => byLabel('kind', { udp: r.udp, grpc: r.grpc, reply: r.reply, port: r.port }))
  metrics.counterFrom('crux_router_dropped_total', 'Non-local sends dropped by the router, by reason.', ['reason'], () => byLabel('reason', r.dropped))
}
