/**
 * One duration syntax on every command (bin/flags.ts): `500ms`, `5s`, `1.5s`, `2m`; a bare number
 * keeps the unit its flag's metavar states, and `--timeout` (once ms on some commands, s on others)
 * refuses a bare number. Addresses: 127.77.110.x, where nothing listens.
 */
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { duration, formatDuration } from '../../bin/flags.js'

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.bundle.mjs', ...args], { encoding: 'utf8', timeout: 30_000 })
/** Runs commands side by side (the ones that wait for an answer would add up). */
const cruxAsync = (...args: string[]) =>
  new Promise<{ status: number | null; stderr: string; ms: number }>((resolve) => {
    const t0 = Date.now()
    const child = spawn(process.execPath, ['dist/bin/crux.bundle.mjs', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (status) => resolve({ status, stderr, ms: Date.now() - t0 }))
  })

const dir = mkdtempSync(join(tmpdir(), 'crux-durations-'))
const secret = join(dir, 'flock.secret')
crux('keygen', 'secret', '--out', secret)

test('duration: a number with ms, s, m or h, decimals allowed, in whole milliseconds', (t) => {
  const d = duration('--x', { bare: 'refuse', min: 0, max: 86_400_000 })
  t.is(d('500ms'), 500)
  t.is(d('5s'), 5000)
  t.is(d('1.5s'), 1500)
  t.is(d(' 2m '), 120_000)
  t.is(d('1h'), 3_600_000)
  t.is(d('0.25ms'), 0)
  for (const bad of ['', 's', '5x', '-1s', '5 seconds', '1e3ms', '0x10s', '5s5']) t.throws(() => d(bad), { message: /^--x must be a duration such as 500ms, 5s, 1\.5s or 2m, got / }, bad)
})

test('duration: a bare number is the metavar’s unit, or refused', (t) => {
  t.is(duration('--heartbeat', { bare: 'ms', min: 50, max: 60_000 })('250'), 250)
  t.is(duration('--ttl', { bare: 's', min: 1, max: 10_000_000 })('1.5'), 1500)
  t.throws(() => duration('--timeout', { bare: 'refuse', min: 100, max: 120_000 })('3000'), { message: '--timeout needs a unit, e.g. 500ms or 5s, got "3000"' })
  t.throws(() => duration('--heartbeat', { bare: 'ms', min: 50, max: 60_000 })('2m'), { message: '--heartbeat must be from 50ms to 1m (a bare number is milliseconds), got "2m"' })
})

test('formatDuration writes what duration reads', (t) => {
  const d = duration('--x', { bare: 'refuse', min: 0, max: 1e12 })
  for (const ms of [0, 1, 500, 999, 1000, 1500, 15_000, 60_000, 90_000, 3_600_000, 5_400_000, 86_400_000]) t.is(d(formatDuration(ms)), ms, `${ms} → ${formatDuration(ms)}`)
  t.is(formatDuration(1500), '1.5s')
  t.is(formatDuration(120_000), '2m')
})

const TIMEOUTS: string[][] = [
  ['names', '--target', '127.77.110.1:23123', '--secret-file', secret],
  ['members', '--target', '127.77.110.1:23123', '--secret-file', secret],
  ['admin', 'reboot', '--target', '127.77.110.1:23123', '--secret-file', secret],
  ['admin', 'candidate', '--target', '127.77.110.1:23123', '--introduce', '127.77.110.2:23123', '--secret-file', secret],
  ['admin', 'forget', 'n0123456789abcdef', '--target', '127.77.110.1:50059', '--secret-file', secret],
  ['dump', '--target', '127.77.110.1:23123', '--to', '127.77.110.3:28351', '--secret-file', secret],
  ['watch', '--beacon', '127.77.110.3:28351', '--secret-file', secret],
  ['demo', '--base', '127.77.110.1', '--no-viz'],
]

for (const args of TIMEOUTS) {
  const name = args[0] === 'admin' ? `admin ${args[1]}` : args[0]
  test(`crux ${name} --timeout: a bare number is refused, one line, exit 2`, (t) => {
    const r = crux(...args, '--timeout', '3000')
    t.is(r.status, 2)
    t.is(r.stderr, 'crux: --timeout needs a unit, e.g. 500ms or 5s, got "3000"\n')
  })
}

test('crux names, members, admin, dump: --timeout with a unit is how long they wait for an answer', async (t) => {
  const runs = await Promise.all(TIMEOUTS.slice(0, 4).concat([TIMEOUTS[5]!]).map((args) => cruxAsync(...args, '--timeout', '0.4s')))
  for (const r of runs) {
    t.is(r.status, 1)
    t.regex(r.stderr, /^crux: no answer from 127\.77\.110\.1:23123 within 400 ms/)
    t.true(r.ms < 10_000)
  }
})

test('crux admin forget --timeout with a unit: nothing at the address fails within it', async (t) => {
  const r = await cruxAsync(...TIMEOUTS[4]!, '--timeout', '500ms')
  t.is(r.status, 1)
  t.regex(r.stderr, /^crux: /)
  t.true(r.ms < 10_000)
})

test('crux demo --timeout takes a unit (the run stops at the next flag)', (t) => {
  const r = crux('demo', '--timeout', '2m', '--nodes', '0')
  t.is(r.status, 2)
  t.regex(r.stderr, /^crux: --nodes must be/)
})

test('crux watch with no beacon answering gives up after --timeout: one line naming the address, exit 1', async (t) => {
  const r = await cruxAsync(...TIMEOUTS[6]!, '--timeout', '1s')
  t.is(r.status, 1)
  t.is(r.stderr.split('\n')[0]!.replace(/ \(.*$/, ''), 'crux: no beacon answered at 127.77.110.3:28351 within 1s')
  t.true(r.ms >= 1000 && r.ms < 10_000, `${r.ms} ms`)
})

test('crux watch waits 30s by default, not forever', (t) => {
  t.regex(crux('watch', '--help').stdout, /--timeout <DURATION>[\s\S]*\(default: 30s\)/)
})

test('the other duration flags take units too: --stable, --ttl, --heartbeat, --hb, --skew, --delay', (t) => {
  // Each flag is followed by a bad one: the error is about the second, so the first was accepted.
  t.regex(crux('watch', '--stable', '1500ms', '--expect', '0').stderr, /^crux: --expect must be/)
  t.regex(crux('viz', '--stable', '2m', '--listen', 'x').stderr, /^crux: --listen must be/)
  t.regex(crux('replay', '--stable', '0.5s', '--until', '0').stderr, /^crux: --until must be/)
  t.regex(crux('service', 'heartbeat', '--ttl', '90s', '--api', 'lower').stderr, /^crux: --api must be/)
  t.regex(crux('fulcrum', '--heartbeat', '0.5s', '--ring', '0').stderr, /^crux: --ring must be/)
  t.regex(crux('demo', '--heartbeat', '250ms', '--nodes', '0').stderr, /^crux: --nodes must be/)
  const sim = crux('sim', '--nodes', '3', '--hb', '0.5s', '--skew', '20ms', '--delay', '1ms-3ms', '--json')
  t.is(sim.status, 0, sim.stderr)
  t.is(JSON.parse(sim.stdout).sim_s % 0.5, 0, 'heartbeats of 500 ms')
  t.regex(crux('sim', '--nodes', '3', '--hb', '5').stderr, /^crux: --hb must be from 10ms to 1m/)
})
