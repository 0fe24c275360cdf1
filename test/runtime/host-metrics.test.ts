import test from 'ava'
import { VirtualClock } from '../../runtime/clock.js'
import { createActorHost } from '../../runtime/host.js'
import { registerHostMetrics } from '../../runtime/host-metrics.js'
import { createMetrics } from '../../runtime/metrics.js'
import { collector, fixtureMachines } from '../fixtures/machines.js'

test('host counters and mailbox drops appear on /metrics, and survive the actor being stopped', async (t) => {
  const clock = new VirtualClock()
  const host = createActorHost({ clock, machines: fixtureMachines }, { mailbox: { data: 2 } })
  const metrics = createMetrics({ labels: { node: 'n1' } })
  registerHostMetrics(metrics, host)
  host.spawn('c', collector.name)
  for (let i = 0; i < 5; i++) host.send('c', { type: 'data' })
  host.send('c', { type: 'hb' }, 'heartbeat', 'm1')
  host.send('c', { type: 'hb' }, 'heartbeat', 'm1')
  clock.runAll()
  host.stop('c')
  const text = await metrics.text()
  t.regex(text, /crux_host_deliveries_total\{node="n1"\} 3/)
  t.regex(text, /crux_mailbox_dropped_total\{class="data",reason="oldest",node="n1"\} 3/)
  t.regex(text, /crux_mailbox_dropped_total\{class="heartbeat",reason="superseded",node="n1"\} 1/)
  t.regex(text, /crux_actors\{node="n1"\} 0/)
})
