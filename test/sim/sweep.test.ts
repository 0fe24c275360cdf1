/**
 * The sweep benchmark's code path on a small sample: a seed's mix is a pure function of the seed, its
 * command line repeats the run, and the one JSON line and the failures file have their shape. Whether
 * the sample is free of violations is test/sim/sweep-sample.test.ts.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VIOLATION_KINDS } from '../../actors/sim/check.js'
import { commandOf, mixOf, run, sweepSeed } from '../../bench/sweep.js'

test('a seed fixes its mix; the mixes cover the ranges and every kind of fault', (t) => {
  t.deepEqual(mixOf(7), mixOf(7))
  t.notDeepEqual(mixOf(7), mixOf(8))
  const mixes = Array.from({ length: 200 }, (_, i) => mixOf(i + 1, 30))
  for (const o of mixes) {
    t.true(o.nodes >= 10 && o.nodes <= 30 && o.loss! <= 0.3 && o.dup! <= 0.05 && o.reorder! <= 0.1 && (o.skewMs ?? 0) <= 2000, JSON.stringify(o))
    if (o.crash !== undefined) t.is(o.seeded, 1)
    const last = Math.max(o.partition?.healHb ?? 0, o.reboot?.atHb ?? 0, o.crash?.atHb ?? 0, o.crashLeaderAtHb ?? 0)
    t.is(o.untilHb, last + 60)
  }
  for (const has of [(o: (typeof mixes)[0]) => o.partition, (o: (typeof mixes)[0]) => o.crash, (o: (typeof mixes)[0]) => o.reboot, (o: (typeof mixes)[0]) => o.crashLeaderAtHb, (o: (typeof mixes)[0]) => o.skewMs]) {
    t.true(mixes.some((o) => has(o) !== undefined))
  }
  t.true(mixes.some((o) => o.partition === undefined && o.crash === undefined && o.reboot === undefined && o.crashLeaderAtHb === undefined))
})

test('a seed run twice gives the same verdict, and its crux sim command line repeats it', async (t) => {
  const seed = [2, 3, 4, 6, 7, 8].find((s) => commandOf(mixOf(s, 12)) !== null)!
  const a = await sweepSeed(seed, 12)
  t.deepEqual(await sweepSeed(seed, 12), a)
  const args = a.command!.split(' ').slice(1) // without the leading "crux"
  const cli = spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 120_000 })
  const s = JSON.parse(cli.stdout)
  t.deepEqual({ violations: s.violations, kinds: s.violation_kinds, agreed: s.agreed }, { violations: a.violations, kinds: a.kinds, agreed: a.agreed })
})

test('npm run bench -- sweep: one JSON record of counts by kind, and every failing seed in the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-sweep-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'failures.ndjson')
  const r = await run(['--seeds', '6', '--from', '11', '--nodes-max', '12', '--jobs', '2', '--out', out])
  t.like(r, { seeds: 6, from: 11, nodes_max: 12, jobs: 2, failures_file: out })
  t.true(typeof r.wall_s === 'number')
  const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  t.is(lines.length, r.failed as number)
  const byKind: Record<string, number> = {}
  for (const l of lines) {
    t.true(l.violations.length > 0)
    t.deepEqual(l.options, mixOf(l.seed, 12))
    for (const [k, n] of Object.entries(l.kinds as Record<string, number>)) byKind[k] = (byKind[k] ?? 0) + n
  }
  t.deepEqual(r.violations_by_kind, byKind)
  for (const k of Object.keys(byKind)) t.true((VIOLATION_KINDS as readonly string[]).includes(k), k)
})
