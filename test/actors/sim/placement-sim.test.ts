/**
 * Placement in the simulator (`crux sim --services K --run R --place P`): every node's dean and
 * proctor place P services over the flock; a quarter of the nodes crash, or the leader does, and the
 * services are placed again. The placement checker's verdict, an independent look at every live
 * node's picket at the end, determinism (same seed, same JSON and a byte-identical trace, which
 * `crux check` judges as the run did), a checker bound too tight failing the run, and the usage.
 */
import test from 'ava'
import { join } from 'node:path'
import type { FlockActor } from '../../../actors/flock/flock.actor.js'
import { planPlacement } from '../../../actors/sim/placement-plan.js'
import { runSim } from '../../../actors/sim/simulator.js'
import { checkTrace } from '../../../actors/sim/trace-check.js'
import type { PicketContext } from '../../../machines/picket/types.js'
import type { ProctorContext } from '../../../machines/placement/types.js'
import { crux, simTwice, tempDir } from '../../fixtures/sim-cli.js'

const ARGS = ['--nodes', '8', '--services', '1', '--run', '1', '--place', '2', '--crash', '20:0.25', '--until-hb', '60']

/** Per live node at a heartbeat: the placed instances its picket runs up, and whether its proctor leads (solved ok). */
type Seen = { addr: string; up: string[]; leading: boolean; ok: boolean }
const seen = (nodes: readonly FlockActor[]): Seen[] =>
  nodes.flatMap((n, i) => {
    try {
      const me = n.context().me.id
      const picket = n.host.state(`${me}/picket`).context as PicketContext
      const proctor = n.host.state(`${me}/proctor`).context as ProctorContext
      const up = Object.values(picket.services).filter((s) => /^p\d+-\d+$/.test(s.name) && s.state === 'running' && s.current?.registered === true)
      return [{ addr: `n${i}`, up: up.map((s) => s.name), leading: proctor.leading, ok: proctor.solved?.ok === true }]
    } catch {
      return [] // crashed: its host is closed
    }
  })

test('a quarter of the nodes crash: no violation, every placed service whole again, its instances on distinct live nodes', async (t) => {
  let last: Seen[] = []
  const s = await runSim({ nodes: 8, seed: 1, services: 1, run: 1, place: 2, crash: { atHb: 20, fraction: 0.25 }, untilHb: 60, onHb: (_hb, _o, nodes) => void (last = seen(nodes)) })
  t.deepEqual(s.violations, [])
  const p = s.placement!
  t.like(p, { services: 2, whole: true, violations: [] })
  t.true(p.moved >= 1, 'a crashed node’s instance was placed again')
  t.true(p.whole_hb_max > 0 && p.whole_hb_max <= 10, `whole_hb_max ${p.whole_hb_max}`)
  // Independently of the checker: the live pickets at the end run each service's count, one per node.
  const plan = planPlacement(1, 8, 2, 1000)
  t.is(p.wanted, plan.services.reduce((a, x) => a + x.count, 0))
  t.true(last.length < 8, 'some nodes crashed')
  t.is(last.filter((x) => x.leading).length, 1, 'one proctor leads')
  t.true(last.find((x) => x.leading)!.ok, 'and its last solve placed the program')
  for (const svc of plan.services) {
    const hosts = last.filter((x) => x.up.some((n) => n.startsWith(`${svc.service}-`)))
    t.is(hosts.length, svc.count, svc.service)
    t.true(hosts.every((x) => x.up.filter((n) => n.startsWith(`${svc.service}-`)).length === 1), `${svc.service}: one instance per node`)
  }
})

test('the leader crashes: its instances are placed again by the next proctor, no violation', async (t) => {
  const s = await runSim({ nodes: 8, seed: 1, services: 1, run: 1, place: 2, crashLeaderAtHb: 20, untilHb: 60 })
  t.deepEqual(s.violations, [])
  t.like(s.placement, { services: 2, whole: true, violations: [] })
  t.true(s.placement!.moved >= 1, 'the leader ran an instance, placed again elsewhere')
  t.true(s.placement!.whole_hb_max >= 3, `after the new proctor's settle: ${s.placement!.whole_hb_max}`)
})

test('same seed → same JSON and a byte-identical trace with the dean and proctor steps, which crux check judges as the run did; the text line', (t) => {
  const dir = tempDir(t, 'crux-placement-sim-')
  const { a, trace, bytes } = simTwice(t, dir, ARGS)
  const text = bytes.toString('utf8')
  for (const ev of ['placement.apply', 'dean.assign', 'proctor.view', 'proctor.inventory', 'dean.assigned']) t.true(text.includes(`"type":"${ev}"`), ev)
  t.regex(text, /"actor":"[^"]+\/dean"/)
  t.like(a.placement, { services: 2, whole: true, violations: [] })
  const check = crux('check', trace, '--json')
  t.is(check.status, 0, check.stdout + check.stderr)
  const c = JSON.parse(check.stdout)
  t.deepEqual(c.placement, a.placement, 'the trace tells the placement checker what the run told it live')
  t.deepEqual(c.picket, a.picket)
  const line = crux('sim', ...ARGS)
  t.regex(line.stdout, /^placement: 2 services \(\d instances\) applied at HB \d+(\.\d+)?, whole at the end, \d+ moved, whole again within [\d.]+ HB of a crash; 0 violation\(s\)$/m)
})

test('a checker bound too tight fails the run: placement-short in the summary, counted by kind, and crux check finds the same', async (t) => {
  const trace = join(tempDir(t, 'crux-placement-sim-'), 'tight.ndjson')
  const s = await runSim({ nodes: 6, seed: 2, services: 1, run: 1, place: 2, crash: { atHb: 16, fraction: 0.3 }, untilHb: 30, placementCheck: { periodHb: 0, settleHb: 0, startHb: 0 }, trace })
  t.true(s.placement!.violations.length > 0)
  t.is(s.violation_kinds['placement-short' as keyof typeof s.violation_kinds], s.placement!.violations.length)
  t.true(s.violations.includes(s.placement!.violations[0]!))
  const c = checkTrace(trace)
  t.false(c.diverged)
  t.deepEqual(c.placement, s.placement)
  t.deepEqual(c.violations, s.violations)
})

test('usage: --place needs --services and --run', (t) => {
  for (const args of [['--place', '2'], ['--services', '1', '--place', '2'], ['--run', '1', '--place', '2']]) {
    const r = crux('sim', '--nodes', '3', ...args)
    t.is(r.status, 2, args.join(' '))
    if (!args.includes('--services')) continue
    t.is(r.stderr, 'crux: --place needs --services and --run (the dean drives picket, the proctor reads the musters in the catalog)\n')
  }
  t.regex(crux('sim', '--help').stdout, /--place <P>/)
})
