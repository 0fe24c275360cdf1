/**
 * Hostile datagrams at a live fulcrum: 100 000 random, truncated, bit-flipped, wrongly keyed,
 * replayed and forged datagrams (actors/flock/hostile-datagrams.ts). None may be accepted, the process
 * must not crash, its memory must stay flat, and the flock must not notice. (The benchmark,
 * `npm run bench -- fuzz`, sends 1 000 000.)
 */
import test from 'ava'
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { captureHostileMaterial, createHostileDatagrams, metric, sendUntilArrived } from '../../actors/flock/hostile-datagrams.js'
import { Rng } from '../../runtime/rng.js'
import { agreed, FulcrumPool, until } from '../fixtures/fulcrums.js'

const BOUND = 30_000
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)

test('100 000 hostile datagrams: none accepted, no crash, memory flat, the flock undisturbed', async (t) => {
  const pool = new FulcrumPool(t)
  const fs = [1, 2, 3].map((i) => pool.start(`127.77.26.${i}:23123`, '127.77.26.0/29', i === 1 ? ['--metrics', '127.77.26.1:9126'] : []))
  await until(() => agreed(fs, 3), BOUND, 'one flock of 3')
  const target = fs[0]!
  const metrics = 'http://127.77.26.1:9126/metrics'

  const secret = new Uint8Array(Buffer.from(readFileSync(pool.secretFile, 'utf8').trim(), 'base64'))
  const datagram = createHostileDatagrams({ rng: new Rng(2026), ...(await captureHostileMaterial(secret, '127.77.26.10', '127.77.26.1:23123', BOUND)) })

  const sock = createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, '127.77.26.12', () => r()))
  const before = rssKb(target.child.pid!)
  const acceptedBefore = await metric(metrics, 'crux_wire_accepted_total')
  const N = 100_000
  const startedAt = Date.now()
  const { sent, arrived } = await sendUntilArrived({ sock, host: '127.77.26.1', port: 23123, datagram, n: N, metricsUrl: metrics, boundMs: 90_000 }).finally(() => sock.close())
  const acceptedFuzz = (await metric(metrics, 'crux_wire_accepted_total')) - acceptedBefore
  const after = rssKb(target.child.pid!)
  t.log(`${sent} sent, ${arrived} reached the fulcrum and were dropped; rss ${before} → ${after} kB`)
  t.true(arrived >= N)
  t.is(target.child.exitCode, null, 'still running')
  // Only the flock's own traffic was accepted meanwhile — beats, check-ins and, on a loaded machine,
  // the odd liveness check: at most 4 packets per heartbeat of the run — while the genuine packet
  // opened once and its ~16 700 replays never.
  const heartbeats = (Date.now() - startedAt) / 200
  t.true(acceptedFuzz < 4 * heartbeats + 20, `accepted ${acceptedFuzz} in ${heartbeats.toFixed(0)} HB`)
  t.true(after - before < 64 * 1024, `rss grew by ${after - before} kB`)
  t.true(agreed(fs, 3))
})
