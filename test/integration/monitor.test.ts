/**
 * Monitoring with real processes: fulcrums send MonInfo to a beacon, `crux watch` judges the flock
 * stable, `crux dump` files a node's ring buffer, `crux replay --moninfo` rebuilds the picture from
 * the capture, and a beacon fed garbage keeps running and counts it.
 */
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import { ENVELOPE_TYPE } from '../../runtime/secondary-channel.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'
import { encodeMonitor } from '../../actors/monitor/codec.js'
import { agreed, FulcrumPool, until } from '../fixtures/fulcrums.js'

const BOUND = 60_000
const cruxJs = fileURLToPath(new URL('../../bin/crux.js', import.meta.url))
const crux = (...args: string[]) => spawnSync(process.execPath, [cruxJs, ...args], { encoding: 'utf8', timeout: BOUND })
/** Runs crux asynchronously (the test keeps serving its own UDP sockets meanwhile). */
const cruxAsync = (...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [cruxJs, ...args])
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    // 'close', not 'exit': the output may still be on its way when the process has exited.
    c.on('close', (status) => resolve({ status, stdout, stderr }))
  })
const lines = (path: string): Array<Record<string, unknown>> =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) : []

test('5 fulcrums report to a beacon; crux watch judges one stable flock of 5; crux dump files a ring buffer; the capture replays', async (t) => {
  const pool = new FulcrumPool(t)
  const beaconAddr = '127.77.35.9:28351'
  const out = join(pool.dir, 'mon.ndjson')
  const started = crux('beacon', '--listen', beaconAddr, '--secret-file', pool.secretFile, '--out', out, '--json')
  t.is(started.status, 0, started.stderr)
  t.is((JSON.parse(started.stdout) as { address: string }).address, beaconAddr)
  t.teardown(() => void crux('beacon', 'stop', '--listen', beaconAddr))
  const fs = [1, 2, 3, 4, 5].map((i) => pool.start(`127.77.35.${i}:23123`, '127.77.35.0/29', ['--beacon', beaconAddr]))
  await until(() => agreed(fs, 5), BOUND, 'one flock of 5')

  const watch = await cruxAsync('watch', '--beacon', beaconAddr, '--secret-file', pool.secretFile, '--stable', '2', '--expect', '5', '--timeout', '45s', '--json')
  t.is(watch.status, 0, watch.stderr)
  const last = JSON.parse(watch.stdout.trim().split('\n').at(-1)!) as { flocks: Array<{ nodes: number; stable: boolean; leader: string }> }
  t.is(last.flocks.length, 1)
  t.true(last.flocks[0]!.stable)
  t.is(last.flocks[0]!.nodes, 5)
  t.is(last.flocks[0]!.leader, fs[0]!.view()!.leader)
  t.is(new Set(lines(out).map((l) => l.from)).size, 5, 'records from all 5 fulcrums')

  const dumped = crux('dump', '--target', '127.77.35.2:23123', '--to', beaconAddr, '--secret-file', pool.secretFile, '--json')
  t.is(dumped.status, 0, dumped.stderr)
  const node = (JSON.parse(dumped.stdout) as { node: string }).node
  await until(() => lines(out).some((l) => l.dump === true && l.node === node), BOUND, 'the dump filed')
  const replayed = crux('replay', '--moninfo', out, '--stable', '2', '--json')
  t.is(replayed.status, 0, replayed.stderr)
  const views = replayed.stdout.trim().split('\n').map((l) => JSON.parse(l) as typeof last)
  t.true(views.some((v) => v.flocks.length === 1 && v.flocks[0]!.stable && v.flocks[0]!.nodes === 5), 'the capture shows the stable flock of 5')
})

test('a beacon fed garbage and wrongly keyed datagrams keeps running, counts them, and files only the genuine', async (t) => {
  const pool = new FulcrumPool(t)
  const beaconAddr = '127.77.36.9:28351'
  const out = join(pool.dir, 'mon.ndjson')
  t.is(crux('beacon', '--listen', beaconAddr, '--secret-file', pool.secretFile, '--out', out).status, 0)
  t.teardown(() => void crux('beacon', 'stop', '--listen', beaconAddr))
  const secret = new Uint8Array(Buffer.from(readFileSync(pool.secretFile, 'utf8').trim(), 'base64'))
  const record = { op: 'LeaderHeart' as const, node: 'x', flock: 'F', leader: 'x', n: 0, oflock: '', t: 1, cause: 'test' }
  const batch = encodeMonitor({ type: 'batch', events: [record], index: 0, count: 1, dump: false })
  const right = createSealedTransport({ transport: await createUdpTransport({ host: '127.77.36.1', port: 0 }) }, { secret, keyId: 1, startCounter: 0, type: ENVELOPE_TYPE.monitor })
  const wrong = createSealedTransport({ transport: await createUdpTransport({ host: '127.77.36.2', port: 0 }) }, { secret: new Uint8Array(32).fill(3), keyId: 2, startCounter: 0, type: ENVELOPE_TYPE.monitor })
  const raw = createSocket('udp4')
  await new Promise<void>((r) => raw.bind(0, '127.77.36.3', () => r()))
  for (let i = 0; i < 200; i++) {
    raw.send(Buffer.from(Array.from({ length: (i * 37) % 1500 }, (_, k) => (k * i) & 0xff)), 28351, '127.77.36.9')
    wrong.send(beaconAddr, batch)
    if (i % 20 === 0) right.send(beaconAddr, batch)
  }
  right.send(beaconAddr, new Uint8Array([0xff, 0xff])) // sealed right, but no MonPacket
  await until(() => lines(out).length >= 10, BOUND, 'the genuine batches filed')
  raw.close()
  await Promise.all([right.close(), wrong.close()])
  const stop = crux('beacon', 'stop', '--listen', beaconAddr)
  t.is(stop.status, 0, stop.stderr)
  const stopped = lines(`${out}.log`).find((l) => l.msg === 'beacon stopped') as { datagrams: number; records: number; dropped: Record<string, number> } | undefined
  t.truthy(stopped, 'the beacon ran until told to stop, and said what it saw')
  t.is(stopped!.records, 10)
  // Past its derivation budget (docs/LIMITS.md), a wrongly keyed datagram drops before any crypto.
  t.true(stopped!.dropped.tag! + stopped!.dropped['key-budget']! >= 200, JSON.stringify(stopped!.dropped))
  t.is(stopped!.dropped.decode, 1)
  t.true(stopped!.datagrams >= 400)
  t.is(lines(out).length, 10)
})

test('bad beacon and watch flags: one clear line, exit 2', (t) => {
  const r = crux('beacon', '--listen', 'nowhere')
  t.is(r.status, 2)
  t.regex(r.stderr, /^crux: --listen must be HOST:PORT/)
  const s = crux('beacon', 'stop', '--listen', '127.77.36.200:1')
  t.is(s.status, 2)
  t.regex(s.stderr, /^crux: no beacon is known to listen at 127\.77\.36\.200:1/)
  const w = crux('watch', '--secret-file', '/nonexistent', '--beacon', '127.77.36.9:1')
  t.is(w.status, 2)
  t.regex(w.stderr, /^crux: cannot read secret file/)
})
