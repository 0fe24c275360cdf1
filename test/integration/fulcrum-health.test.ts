/**
 * What an operator's probes and scrapers see of real fulcrums on loopback (127.77.122–125.x):
 * `/healthz` as soon as the port is bound, `/readyz` once the node is in a flock and its reeve is
 * registered with the steward, the new series on `/metrics` (checked with `promtool check metrics`
 * where it is installed: Debian package `prometheus`), and the warning a fulcrum logs, once a minute
 * per peer, about a peer with another secret.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { bindFulcrumHttp } from '../../actors/fulcrum/metrics.js'
import { agreed, crux, FulcrumPool, until } from '../fixtures/fulcrums.js'

const BOUND = 30_000

const get = (url: string) => fetch(url).then(async (r) => ({ status: r.status, text: await r.text() }), () => ({ status: 0, text: '' }))

/** Polls `url` until it answers `status` (or BOUND passes). */
async function untilStatus(url: string, status: number): Promise<{ status: number; text: string }> {
  const end = Date.now() + BOUND
  for (;;) {
    const r = await get(url)
    if (r.status === status) return r
    if (Date.now() > end) throw new Error(`${url} still answers ${r.status} ${r.text.trim()} after ${BOUND} ms`)
    await new Promise((res) => setTimeout(res, 100))
  }
}

/** The value of the one sample of `name` (labels ignored), or undefined. */
const sample = (page: string, name: string): number | undefined => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(page)
  return m === null ? undefined : Number(m[1])
}

test('before the node is attached: /healthz 200, /readyz and /metrics 503, anything else 404', async (t) => {
  const http = await bindFulcrumHttp({ host: '127.77.122.1', port: 23941 })
  t.teardown(() => http.close())
  t.deepEqual(await get('http://127.77.122.1:23941/healthz'), { status: 200, text: 'ok\n' })
  t.deepEqual(await get('http://127.77.122.1:23941/readyz'), { status: 503, text: 'starting\n' })
  t.deepEqual(await get('http://127.77.122.1:23941/metrics'), { status: 503, text: 'starting\n' })
  t.is((await get('http://127.77.122.1:23941/other')).status, 404)
})

test('three fulcrums with gRPC: ready once agreed and registered; /metrics has every new series and passes promtool', async (t) => {
  const pool = new FulcrumPool(t)
  const fs = [1, 2, 3].map((i) => pool.start(`127.77.123.${i}:23123`, '127.77.123.0/29', ['--metrics', `127.77.123.${i}:9123`]))
  await until(() => agreed(fs, 3), BOUND, 'one flock of 3')
  for (const i of [1, 2, 3]) {
    t.deepEqual(await get(`http://127.77.123.${i}:9123/healthz`), { status: 200, text: 'ok\n' })
    t.deepEqual(await untilStatus(`http://127.77.123.${i}:9123/readyz`, 200), { status: 200, text: 'ready\n' })
  }
  const pages = await Promise.all([1, 2, 3].map((i) => get(`http://127.77.123.${i}:9123/metrics`).then((r) => r.text)))
  const names = [
    'crux_flock_members', 'crux_flock_is_leader', 'crux_flock_epoch', 'crux_flock_suspected_members', 'crux_ready',
    'crux_wire_sessions', 'crux_wire_session_events_total', 'crux_grpc_server_handled_total', 'crux_grpc_server_handling_seconds_bucket',
    'crux_store_log_sync_seconds_bucket', 'crux_store_file_put_seconds_bucket',
    'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_gc_duration_seconds_bucket',
  ]
  for (const page of pages) for (const name of names) t.true(new RegExp(`^${name}[{ ]`, 'm').test(page), `${name} on the page`)
  for (const page of pages) {
    t.is(sample(page, 'crux_flock_members'), 3)
    t.is(sample(page, 'crux_ready'), 1)
    t.true(sample(page, 'crux_flock_epoch')! >= 1)
    t.regex(page, /^crux_wire_session_events_total\{event="rekeys",/m)
  }
  t.is(pages.reduce((n, p) => n + sample(p, 'crux_flock_is_leader')!, 0), 1, 'one leader')
  // Every reeve registered with the leader's registry: a call the leader answered OK.
  t.true(pages.some((p) => /^crux_grpc_server_handled_total\{service="crux\.v1\.RegistryService",method="Register",code="OK",/m.test(p)))

  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: pages[0], encoding: 'utf8' })
  if ((promtool.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return t.log('promtool is not installed (Debian package prometheus): the page was not linted')
  t.is(promtool.status, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`)
  t.is(`${promtool.stdout}${promtool.stderr}`.trim(), '')
})

test('a lone fulcrum with gRPC is not ready until its reeve registered with its own steward, then is', async (t) => {
  const pool = new FulcrumPool(t)
  // Slow heartbeats: the steward starts only after 2 of them (4 s), so /readyz is asked well before.
  const f = pool.start('127.77.124.1:23123', '127.77.124.1:23123', ['--heartbeat', '2000', '--metrics', '127.77.124.1:9124'])
  await until(() => f.lines.some((l) => l.msg === 'fulcrum started'), BOUND, 'the fulcrum started')
  const early = await get('http://127.77.124.1:9124/readyz')
  t.is(early.status, 503)
  t.regex(early.text, /^not ready: .+\n$/)
  t.false(f.lines.some((l) => l.msg === 'registered with steward'), 'asked before the reeve registered')
  t.deepEqual(await untilStatus('http://127.77.124.1:9124/readyz', 200), { status: 200, text: 'ready\n' })
  t.true(f.lines.some((l) => l.msg === 'registered with steward'))
})

test('two fulcrums with different secrets each warn once about the other, naming its address and the likely cause', async (t) => {
  const a = new FulcrumPool(t).start('127.77.125.1:23123', '127.77.125.0/30', ['--no-grpc', '--metrics', '127.77.125.1:9125'])
  const b = new FulcrumPool(t).start('127.77.125.2:23123', '127.77.125.0/30', ['--no-grpc'])
  const warnings = (f: typeof a, peer: string) => f.lines.filter((l) => l.level === 40 && l.peer === peer)
  await until(() => warnings(a, b.addr).length > 0 && warnings(b, a.addr).length > 0, BOUND, 'each warned about the other')
  for (const [f, peer] of [[a, b.addr], [b, a.addr]] as const) {
    const w = warnings(f, peer)[0]!
    t.is(w.reason, 'tag')
    t.regex(String(w.cause), /another flock secret/)
    t.regex(String(w.msg), /cannot be opened/)
  }
  // Many more of the other's handshakes arrive and are refused; still one warning each.
  const tags = async () => Number(/^crux_wire_dropped_total\{reason="tag",[^}]*\} (\d+)$/m.exec((await get('http://127.77.125.1:9125/metrics')).text)?.[1] ?? 0)
  const seen = await tags()
  const end = Date.now() + BOUND
  while ((await tags()) < seen + 10) {
    if (Date.now() > end) return t.fail('the other fulcrum stopped sending')
    await new Promise((r) => setTimeout(r, 200))
  }
  t.is(warnings(a, b.addr).length, 1)
  t.is(warnings(b, a.addr).length, 1)
})

test('bloc mode: two fulcrums certified by different CAs each warn once about the other, naming another bloc CA', async (t) => {
  const pool = new FulcrumPool(t)
  const dirs = ['a', 'b'].map((n) => join(pool.dir, n))
  for (const [i, d] of dirs.entries()) {
    const ca = join(pool.dir, `ca${i}`)
    t.is((await crux('keygen', 'ca', '--out', ca)).status, 0)
    const r = await crux('keygen', 'cert', '--ca', ca, '--data-dir', d, '--bloc', 'blue')
    t.is(r.status, 0, r.stderr)
  }
  const [a, b] = ['a', 'b'].map((n, i) => pool.start(`127.77.125.${i + 5}:23123`, '127.77.125.4/30', ['--no-grpc', '--bloc', 'blue'], n))
  const warnings = (f: typeof a, peer: string) => f!.lines.filter((l) => l.level === 40 && l.peer === peer)
  await until(() => warnings(a, b!.addr).length > 0 && warnings(b, a!.addr).length > 0, BOUND, 'each warned about the other')
  for (const [f, peer] of [[a, b!.addr], [b, a!.addr]] as const) {
    const w = warnings(f, peer)
    t.is(w.length, 1)
    t.is(w[0]!.reason, 'cert')
    t.regex(String(w[0]!.cause), /another bloc CA/)
  }
})
