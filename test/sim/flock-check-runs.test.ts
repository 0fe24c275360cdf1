/**
 * The checker's liveness rules on real simulator runs. Runs change with the protocol, so each test
 * either uses a bound no protocol can meet (then the rule must fire), or recounts the rule from the
 * observer's per-heartbeat verdicts and asserts that the checker agrees (then the test means the same
 * before and after a protocol change; on the protocol of this commit these runs do fire the rule).
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runSim, type SimOptions } from '../../actors/sim/simulator.js'

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 120_000 })

/** Runs `o` and returns its summary with the observer's flock count and verdict at every heartbeat. */
async function observed(o: SimOptions) {
  const flocks: number[] = []
  const agreed: boolean[] = []
  const s = await runSim({ ...o, onHb: (hb, obs) => ((flocks[hb] = obs.flocks), (agreed[hb] = obs.agreed)) })
  return { s, flocks, agreed }
}

/** Islands recounted without partitions: a run of HB with >1 flock lasting `bound` from its start (or the fault). */
function islands(flocks: number[], lastFault: number, bound: number): boolean {
  let since: number | null = null
  for (let hb = 1; hb < flocks.length; hb++) {
    if (hb === lastFault) since = null // a fault restarts the bound
    if (flocks[hb]! < 2) since = null
    else if (hb - (since ??= Math.max(hb >= lastFault ? lastFault : 0, hb - 1)) >= bound) return true
  }
  return false
}

/** Steady state recounted: agreement after the last fault, then > `bound` HB in a row without it, or none at the end. */
function steadyBroken(agreed: boolean[], lastFault: number, bound: number): boolean {
  let reached = false
  let off = 0
  for (let hb = Math.max(1, lastFault); hb < agreed.length; hb++) {
    if (agreed[hb]) (reached = true), (off = 0)
    else if (reached && ++off > bound) return true
  }
  return reached && off > 0
}

test('islands: sparse probing (density 0.01) forms one flock of 100 in more than 5 HB, and the checker says so', async (t) => {
  const tight = await runSim({ nodes: 100, seed: 1, probeDensity: 0.01, hbMs: 500, check: { oneFlockHb: 5 } })
  t.true((tight.violation_kinds.islands ?? 0) >= 1, JSON.stringify(tight.violations))
  t.regex(tight.violations.join('\n'), /flocks among the 100 live nodes of one connected group, split since the start \(5 HB\)/)
})

test('islands are judged per connected group: a partition never healed is no violation', async (t) => {
  const s = await runSim({ nodes: 30, seed: 2, partition: { atHb: 20, groups: 3, healHb: 10_000 }, untilHb: 80 })
  t.is(s.flocks, 3)
  t.is(s.violation_kinds.islands, undefined, JSON.stringify(s.violations))
})

test('islands after a crash of 30 % with one seed address each: the checker agrees with a recount of the observed flocks', async (t) => {
  // On the protocol of this commit this run ends in 8 flocks: nodes whose seed crashed stay alone.
  const { s, flocks } = await observed({ nodes: 30, seed: 4, seeded: 1, crash: { atHb: 20, fraction: 0.3 }, untilHb: 150 })
  const expected = islands(flocks, 20, 30)
  t.is(s.violation_kinds.islands !== undefined, expected, `flocks by HB: ${flocks.slice(1).join(' ')}; ${JSON.stringify(s.violations)}`)
})

test('live-removed: rebooted members of a leader the storm spared leave it; only the fault grace excuses that', async (t) => {
  let judged = 0
  for (const seed of [5, 6, 7]) {
    // Who led when the storm hit, and whether the storm spared it: a rebooted leader excuses everyone.
    let spared = false
    const o: SimOptions = { nodes: 30, seed, reboot: { atHb: 20, fraction: 0.3 }, untilHb: 40 }
    const tight = await runSim({ ...o, check: { faultGraceHb: 1 }, onHb: (hb, _o, nodes) => {
      const leader = nodes.map((n) => n.context()).find((c) => c.leader.id === c.me.id)
      if (hb === 20) spared = leader !== undefined && leader.rebootUntil === null && nodes.some((n) => n.context().rebootUntil !== null)
    } })
    if (!spared) continue
    judged++
    t.true((tight.violation_kinds['live-removed'] ?? 0) >= 1, JSON.stringify(tight.violations))
    t.regex(tight.violations.join('\n'), /removed its live, reachable member|started over though its leader \S+ is live and reachable/)
    const graced = await runSim(o)
    t.is(graced.violation_kinds['live-removed'], undefined, JSON.stringify(graced.violations))
  }
  t.true(judged > 0, 'the storm hit the leader in every seed: pick other seeds')
})

test('steady-state under 20 % loss: the checker agrees with a recount of the observed agreement', async (t) => {
  // On the protocol of this commit live members are pruned and re-added here, so agreement flaps.
  const { s, agreed } = await observed({ nodes: 30, seed: 3, seeded: 1, loss: 0.2, dup: 0.05, reorder: 0.1, untilHb: 100 })
  const expected = steadyBroken(agreed, 0, 3)
  t.is(s.violation_kinds['steady-state'] !== undefined, expected, `agreed by HB: ${agreed.slice(1).map(Number).join('')}`)
  t.true((s.violation_kinds['steady-state'] ?? 0) <= 1, 'reported once per run')
})

test('crux check judges the steady state exactly when the trace header has untilHb', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-check-steady-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const fixed = join(dir, 'fixed.ndjson')
  const open = join(dir, 'open.ndjson')
  t.is(crux('sim', '--nodes', '10', '--until-hb', '20', '--trace', fixed, '--json').status, 0)
  t.is(crux('sim', '--nodes', '10', '--trace', open, '--json').status, 0)
  const a = JSON.parse(crux('check', fixed, '--json').stdout)
  const b = JSON.parse(crux('check', open, '--json').stdout)
  t.like(a, { steady: true, violations: [], violation_kinds: {} })
  t.like(b, { steady: false, violations: [], violation_kinds: {} })
})
