import test from 'ava'
import { flockMachine } from '../../machines/flock.machine.js'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FlockChecker } from '../../actors/sim/check.js'
import { createContext } from '../../machines/flock/context.js'
import { VOTE_MAX } from '../../machines/flock/constants.js'
import type { FlockContext } from '../../machines/flock/types.js'

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 120_000 })

/** A context for node `node` leading itself in `flock`. */
function leader(node: string, flock: string): FlockContext {
  const c = createContext({ self: { addr: node, id: node }, config: {}, probe: { seeds: [], ranges: [], density: 1 }, seed: node })
  c.flock = flock
  c.vote = VOTE_MAX
  c.lvote = VOTE_MAX
  c.epoch = '3-aa'
  return c
}

test('two leaders of one flock in one connected group past the settle bound is a violation', (t) => {
  const k = new FlockChecker({ settleHb: 5 })
  const a = leader('a', '_f')
  const b = leader('b', '_f')
  for (let hb = 1; hb <= 4; hb++) k.observe(hb, [{ node: 'a', ctx: a }, { node: 'b', ctx: b }], false)
  t.deepEqual(k.violations, [])
  k.observe(6, [{ node: 'a', ctx: a }, { node: 'b', ctx: b }], false)
  t.is(k.violations.length, 1)
  t.regex(k.violations[0]!, /2 leaders \(a, b\) of flock _f/)
})

test('two leaders of one flock on two sides of a partition are not a violation', (t) => {
  const k = new FlockChecker({ settleHb: 2 })
  k.fault(1, { kind: 'partition', groups: [['a'], ['b']] })
  for (let hb = 2; hb <= 10; hb++) k.observe(hb, [{ node: 'a', ctx: leader('a', '_f') }, { node: 'b', ctx: leader('b', '_f') }], false)
  t.deepEqual(k.violations, [])
})

test('an epoch going back under the same leader is a violation', (t) => {
  const k = new FlockChecker()
  const a = leader('a', '_f')
  k.observe(1, [{ node: 'a', ctx: a }], true)
  a.epoch = '2-bb'
  k.observe(2, [{ node: 'a', ctx: a }], true)
  t.is(k.violations.length, 1)
  t.regex(k.violations[0]!, /epoch went back from 3 to 2/)
})

test('no agreement within the bound after the last fault is a violation', (t) => {
  const k = new FlockChecker({ healBoundHb: 10 })
  k.fault(5, { kind: 'heal' })
  for (let hb = 6; hb <= 20; hb++) k.observe(hb, [{ node: 'a', ctx: leader('a', '_f') }], false)
  t.deepEqual(k.finish(20), ['no agreement within 10 HB of the last fault at HB 5'])
})

test('agreement seen at the heartbeat of the last fault does not count as agreement after it', (t) => {
  const k = new FlockChecker({ healBoundHb: 10 })
  k.fault(5, { kind: 'drop-link', nodes: ['a', 'b'] })
  for (let hb = 5; hb <= 20; hb++) k.observe(hb, [{ node: 'a', ctx: leader('a', '_f') }], hb === 5)
  t.deepEqual(k.finish(20), ['no agreement within 10 HB of the last fault at HB 5'])
  t.deepEqual(k.kinds(), { 'no-agreement': 1 })
})

test('crux check: a clean simulator trace passes; impossible bounds fail with exit 1', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-check-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const trace = join(dir, 'p.ndjson')
  t.is(crux('sim', '--nodes', '30', '--partition', '15:2:40', '--loss', '0.05', '--trace', trace, '--json').status, 0)
  const ok = crux('check', trace, '--json')
  t.is(ok.status, 0, ok.stdout)
  const r = JSON.parse(ok.stdout)
  t.deepEqual(r.violations, [])
  t.is(r.diverged, false)
  t.true(r.marks > 40)
  const strict = crux('check', trace, '--list-lag-hb', '1', '--json')
  t.is(strict.status, 1)
  t.true(JSON.parse(strict.stdout).violations.length > 0)
})

test('crux check of a trace without marks says so', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-check-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'empty.ndjson')
  writeFileSync(path, JSON.stringify({ format: 'crux-trace', version: 1, node: null, seed: 1, config: {}, machines: { flock: flockMachine.version } }) + '\n')
  const r = crux('check', path)
  t.is(r.status, 1)
  t.regex(r.stderr, /no heartbeat marks/)
})
