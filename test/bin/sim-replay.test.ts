import test from 'ava'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { crux, tempDir } from '../fixtures/sim-cli.js'

test('crux sim --json prints the CLI.md summary fields', (t) => {
  const r = crux('sim', '--nodes', '15', '--seed', '3', '--json')
  t.is(r.status, 0, r.stderr)
  const s = JSON.parse(r.stdout)
  for (const k of ['nodes', 'seed', 'agreed', 'agreed_hb', 'flocks', 'leaders', 'packets', 'bytes', 'sim_s', 'wall_s', 'violations', 'trace_sha256']) t.true(k in s, k)
  t.is(s.nodes, 15)
  t.true(s.agreed)
  t.is(s.trace_sha256, null)
})

test('crux sim with bad flags: one line naming the flag, exit 2', (t) => {
  for (const args of [['--nodes', 'x'], ['--nodes', '5', '--loss', '1.5'], ['--nodes', '5', '--partition', '10:1:20'], ['--nodes', '5', '--delay', '9-3'], ['--nodes', '5', '--seeded', '1', '--probe-density', '0.5'], ['--nodes', '5', '--run', '2']]) {
    const r = crux('sim', ...args)
    t.is(r.status, 2, args.join(' '))
    t.is(r.stderr.trim().split('\n').length, 1)
    t.regex(r.stderr, /^crux: /)
  }
})

test('crux replay reproduces a simulator trace bit for bit, and reports an altered one', (t) => {
  const dir = tempDir(t, 'crux-cli-')
  const trace = join(dir, 'run.ndjson')
  t.is(crux('sim', '--nodes', '12', '--loss', '0.05', '--trace', trace, '--json').status, 0)
  const ok = crux('replay', trace, '--json')
  t.is(ok.status, 0, ok.stderr)
  const report = JSON.parse(ok.stdout)
  t.is(report.diverged, false)
  t.is(report.nodes, 12)
  t.is(report.verified, report.events)

  const lines = readFileSync(trace, 'utf8').split('\n')
  const i = lines.findIndex((l) => l.includes('"in":{"type":"timer.fired","name":"hb"') && l.includes('"node":"n5"'))
  t.true(i > 0)
  lines[i] = lines[i]!.replace('"name":"hb"', '"name":"prune"')
  const altered = join(dir, 'altered.ndjson')
  writeFileSync(altered, lines.join('\n'))
  const bad = crux('replay', altered, '--json')
  t.is(bad.status, 1)
  t.is(JSON.parse(bad.stdout).diverged.seq, JSON.parse(lines[i]!).seq)
})

test('crux replay of a missing or corrupt file: one line, non-zero exit', (t) => {
  const dir = tempDir(t, 'crux-cli-')
  t.is(crux('replay', join(dir, 'none')).status, 2)
  writeFileSync(join(dir, 'junk'), 'not json\n')
  const r = crux('replay', join(dir, 'junk'))
  t.is(r.status, 1)
  t.regex(r.stderr, /^crux: line 1: not valid JSON/)
})
