/**
 * Exposes an actor host's counters on a metrics registry. The host keeps plain numbers on its hot
 * path; these readers turn them into Prometheus series only when `/metrics` is scraped.
 */
import type { ActorHost } from './host.js'
import type { Metrics } from './metrics.js'

/** Registers `crux_host_*` and `crux_mailbox_*` series reading from `host`. */
export function registerHostMetrics(metrics: Metrics, host: ActorHost): void {
  const c = host.counters
  metrics.counterFrom('crux_host_deliveries_total', 'Mailbox deliveries (machine steps) made by the host.', [], () => c.deliveries)
  metrics.counterFrom('crux_host_undeliverable_total', 'Sends with no local actor and no outbound router.', [], () => c.undeliverable)
  metrics.counterFrom('crux_host_timers_fired_total', 'Timer effects that fired and were delivered as timer.fired inputs.', [], () => c.timersFired)
  metrics.counterFrom('crux_actor_failures_total', 'Steps in which a machine threw.', [], () => c.failures)
  metrics.counterFrom('crux_actor_restarts_total', 'Actors restarted by their supervisor.', [], () => c.restarts)
  metrics.counterFrom('crux_actor_gave_up_total', 'Actors whose supervisor gave up after too many restarts.', [], () => c.gaveUp)
  metrics.counterFrom('crux_persist_failures_total', 'Persist writes the store refused (EMFILE, ENOSPC, EIO); each is retried.', [], () => host.persistStatus().failures)
  metrics.gaugeFrom('crux_persist_pending', 'Persist writes refused and waiting for their retry.', [], () => host.persistStatus().pending)
  metrics.gaugeFrom('crux_actors', 'Actors hosted.', [], () => host.ids().length)
  metrics.gaugeFrom('crux_mailbox_pending', 'Messages waiting in mailboxes.', [], () => host.mailboxTotals().pending)
  metrics.counterFrom('crux_mailbox_dropped_total', 'Messages that will never be delivered, by mailbox class and reason.', ['class', 'reason'], () => {
    const t = host.mailboxTotals()
    return [
      [{ class: 'heartbeat', reason: 'superseded' }, t.heartbeatSuperseded],
      [{ class: 'heartbeat', reason: 'full' }, t.heartbeatDropped],
      [{ class: 'data', reason: 'oldest' }, t.dataDropped],
      [{ class: 'control', reason: 'rejected' }, t.controlRejected],
    ] as const
  })
}
