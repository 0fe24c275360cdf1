import test from 'ava'
import { Code, CruxError, InvalidArgumentError } from '../../runtime/errors.js'
import { LatencyHistogram } from '../../runtime/latency.js'
import { createMetrics } from '../../runtime/metrics.js'

/** Sample lines of an exposition, as `name{labels} value` strings. */
function samples(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
}

test('counterFrom reads the live value at each scrape', async (t) => {
  const m = createMetrics()
  const stats = { steps: 0 }
  m.counterFrom('crux_steps_total', 'Machine steps.', [], () => stats.steps)
  stats.steps = 3
  t.deepEqual(samples(await m.text()), ['crux_steps_total 3'])
  stats.steps = 10
  t.deepEqual(samples(await m.text()), ['crux_steps_total 10'])
})

test('counterFrom reports one series per label set', async (t) => {
  const m = createMetrics()
  const drops = new Map([['data', 4], ['heartbeat', 2]])
  m.counterFrom('crux_mailbox_drops_total', 'Dropped messages.', ['cls'], () => [...drops].map(([cls, n]) => [{ cls }, n] as const))
  t.deepEqual(samples(await m.text()), ['crux_mailbox_drops_total{cls="data"} 4', 'crux_mailbox_drops_total{cls="heartbeat"} 2'])
})

test('gaugeFrom drops label sets that vanished from the reading', async (t) => {
  const m = createMetrics()
  const depth = new Map([['a', 1], ['b', 2]])
  m.gaugeFrom('crux_mailbox_depth', 'Queued messages.', ['actor'], () => [...depth].map(([actor, n]) => [{ actor }, n] as const))
  await m.text()
  depth.delete('a')
  t.deepEqual(samples(await m.text()), ['crux_mailbox_depth{actor="b"} 2'])
})

test('default labels are on every series', async (t) => {
  const m = createMetrics({ labels: { node: 'n1' } })
  m.gaugeFrom('crux_members', 'Flock members.', [], () => 5)
  m.counter('crux_reboots_total', 'Reboots.').inc()
  t.deepEqual(samples(await m.text()), ['crux_members{node="n1"} 5', 'crux_reboots_total{node="n1"} 1'])
})

test('two registries are independent', async (t) => {
  const a = createMetrics({ labels: { node: 'a' } })
  const b = createMetrics({ labels: { node: 'b' } })
  a.counter('crux_sent_total', 'Sent.').inc(2)
  b.counter('crux_sent_total', 'Sent.').inc(7)
  t.deepEqual(samples(await a.text()), ['crux_sent_total{node="a"} 2'])
  t.deepEqual(samples(await b.text()), ['crux_sent_total{node="b"} 7'])
})

test('default process metrics are off unless asked for', async (t) => {
  t.notRegex(await createMetrics().text(), /process_cpu/)
  const m = createMetrics({ defaultMetrics: true })
  t.regex(await m.text(), /^process_cpu_user_seconds_total /m)
})

test('text is valid exposition format', async (t) => {
  const m = createMetrics({ labels: { node: 'n"1' } })
  m.counterFrom('crux_a_total', 'Help with a \\ backslash.', ['k'], () => [[{ k: 'x\ny' }, 1]])
  m.histogram('crux_latency_seconds', 'Latency.', [], [0.1, 1]).observe(0.5)
  const text = await m.text()
  const help = /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/
  const type = /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/
  const label = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`
  const sample = new RegExp(String.raw`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{${label}(,${label})*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$`)
  const lines = text.split('\n').filter((l) => l !== '')
  t.true(lines.length > 0)
  for (const line of lines) t.true(help.test(line) || type.test(line) || sample.test(line), line)
  t.true(text.endsWith('\n'))
  t.regex(m.contentType, /^text\/plain/)
})

test('registering a name twice is ALREADY_EXISTS', (t) => {
  const m = createMetrics()
  m.gauge('crux_x', 'X.')
  const e = t.throws(() => m.counterFrom('crux_x', 'X.', [], () => 0), { instanceOf: CruxError })
  t.is(e?.code, Code.ALREADY_EXISTS)
})

test('a bad metric name is an InvalidArgumentError', (t) => {
  t.throws(() => createMetrics().counter('crux-bad-name', 'Bad.'), { instanceOf: InvalidArgumentError })
})

test('remove unregisters a metric so the name can be used again', async (t) => {
  const m = createMetrics()
  m.gaugeFrom('crux_y', 'Y.', [], () => 1)
  m.remove('crux_y')
  t.is(samples(await m.text()).length, 0)
  m.gaugeFrom('crux_y', 'Y.', [], () => 2)
  t.deepEqual(samples(await m.text()), ['crux_y 2'])
})

test('histogramFrom exposes plain latency histograms as cumulative buckets, sum and count, per label set', async (t) => {
  const m = createMetrics({ labels: { node: 'n1' } })
  const fast = new LatencyHistogram([0.25, 1])
  const slow = new LatencyHistogram([0.25, 1])
  m.histogramFrom('crux_call_seconds', 'Calls.', ['method'], () => [[{ method: 'Ping' }, fast], [{ method: 'Push' }, slow]])
  for (const s of [0.125, 0.25, 0.5]) fast.observe(s)
  slow.observe(3)
  t.deepEqual(samples(await m.text()), [
    'crux_call_seconds_bucket{method="Ping",le="0.25",node="n1"} 2',
    'crux_call_seconds_bucket{method="Ping",le="1",node="n1"} 3',
    'crux_call_seconds_bucket{method="Ping",le="+Inf",node="n1"} 3',
    'crux_call_seconds_sum{method="Ping",node="n1"} 0.875',
    'crux_call_seconds_count{method="Ping",node="n1"} 3',
    'crux_call_seconds_bucket{method="Push",le="0.25",node="n1"} 0',
    'crux_call_seconds_bucket{method="Push",le="1",node="n1"} 0',
    'crux_call_seconds_bucket{method="Push",le="+Inf",node="n1"} 1',
    'crux_call_seconds_sum{method="Push",node="n1"} 3',
    'crux_call_seconds_count{method="Push",node="n1"} 1',
  ])
  t.true((await m.text()).includes('# TYPE crux_call_seconds histogram'))
  t.throws(() => m.histogramFrom('crux_call_seconds', 'Again.', [], () => []), { instanceOf: CruxError })
  t.throws(() => m.histogramFrom('bad name', 'Bad.', [], () => []), { instanceOf: InvalidArgumentError })
  t.throws(() => m.histogramFrom('crux_x_seconds', 'Reserved label.', ['le'], () => []), { instanceOf: InvalidArgumentError })
})

test('default metrics: process and Node.js series, without the gauges named like counters', async (t) => {
  const m = createMetrics({ defaultMetrics: true })
  const text = await m.text()
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_handles']) {
    t.true(text.includes(`\n${name}`) || text.startsWith(name), name)
  }
  t.false(text.includes('nodejs_active_handles_total'))
})
