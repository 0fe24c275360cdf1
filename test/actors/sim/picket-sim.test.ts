/**
 * Picket in the simulator (`crux sim --services K --run R`): every node's picket machine runs R
 * services on a simulated run edge, some crashing, some hanging, one failing its bundle, under a
 * partition and a crashed member; the picket checker's verdict, an independent look at every live
 * node's machine and catalog at the end, and determinism (same seed, same JSON and a byte-identical
 * trace holding the picket steps, which `crux replay` replays and `crux check` judges as the run did).
 */
import test from 'ava'
import { join } from 'node:path'
import type { FlockActor } from '../../../actors/flock/flock.actor.js'
import { planPicket } from '../../../actors/sim/picket-plan.js'
import { runSim } from '../../../actors/sim/simulator.js'
import { checkTrace } from '../../../actors/sim/trace-check.js'
import type { PicketContext } from '../../../machines/picket/types.js'
import type { ReeveContext } from '../../../machines/reeve/rules.js'
import type { CatalogEndpoint } from '../../../machines/steward/types.js'
import { crux, simTwice, tempDir } from '../../fixtures/sim-cli.js'

/** A live node at a heartbeat: its picket's services, and its reeve's entries for them. */
type Seen = { addr: string; picket: PicketContext; served: Record<string, CatalogEndpoint | undefined> }

test('crashes, hangs and a failed bundle under a partition and a crashed member: no violation, the bounds hold, and every live machine ends with its services running or failed', async (t) => {
  // The live nodes at the last heartbeat (the hosts are closed once the run ends).
  let last: Seen[] = []
  const seen = (nodes: readonly FlockActor[]) =>
    nodes.flatMap((n, i) => {
      try {
        const me = n.context().me.id
        const picket = structuredClone(n.host.state(`${me}/picket`).context as PicketContext)
        const reeve = n.host.state(`${me}/reeve`).context as ReeveContext
        const ids = Object.values(picket.services).flatMap((x) => (x.manifest === null ? [] : [`${picket.input.nodeIdPrefix}/${x.manifest.service}/${x.manifest.api}`]))
        return [{ addr: `n${i}`, picket, served: Object.fromEntries(ids.map((id) => [id, structuredClone(reeve.catalog.endpoints[id])])) }]
      } catch {
        return [] // crashed: its host is closed
      }
    })
  const s = await runSim({ nodes: 6, seed: 5, services: 1, run: 3, partition: { atHb: 6, groups: 2, healHb: 10 }, crashMemberAtHb: 14, onHb: (_hb, _o, nodes) => void (last = seen(nodes)) })
  t.deepEqual(s.violations, [])
  const p = s.picket!
  t.deepEqual(p.violations, [])
  t.true(p.restarts > 0, 'some services crashed and were restarted')
  t.true(p.killed_hung > 0, 'some hung and were killed')
  t.true(p.failed >= 1, 'a bundle failed')
  t.true(p.hung_kill_hb_max >= 3 && p.hung_kill_hb_max <= 4, `a hung run is killed within its ttl (3 HB) + 1 HB: ${p.hung_kill_hb_max}`)
  t.true(p.restart_hb_max > 0 && p.restart_hb_max <= 3, `restart_hb_max ${p.restart_hb_max}`)
  // Independently of the checker: the machines and catalogs of the live nodes at the end.
  t.is(last.length, 5, 'one member crashed')
  const plan = planPicket(5, 6, 3, 10, 1000)
  for (const { addr, picket, served } of last) {
    for (const want of plan.filter((x) => `n${x.node}` === addr)) {
      const svc = picket.services[want.name]!
      if (want.failBundle) {
        t.like(svc, { state: 'failed', restarts: 0, current: null }, `${addr} ${want.name}`)
        continue
      }
      t.is(svc.state, 'running', `${addr} ${want.name}`)
      t.true(svc.current!.registered)
      const e = served[`${picket.input.nodeIdPrefix}/Job/${svc.manifest!.api}`]
      t.like(e, { state: 'up', address: svc.current!.address! }, 'its own catalog serves it at its current address')
    }
  }
})

test('same seed → same JSON and a byte-identical trace with the picket steps, which replays and checks clean; the text line', (t) => {
  const dir = tempDir(t, 'crux-picket-sim-')
  const args = ['--nodes', '5', '--services', '1', '--run', '3', '--seed', '4', '--loss', '0.05']
  const { a, trace, bytes } = simTwice(t, dir, args)
  t.regex(a.trace_sha256, /^[0-9a-f]{64}$/)
  const text = bytes.toString('utf8')
  for (const ev of ['picket.start', 'bundle.ready', 'bundle.failed', 'run.alive', 'run.exited', 'reeve.registered']) t.true(text.includes(`"type":"${ev}"`), ev)
  t.regex(text, /"actor":"[^"]+\/picket"/)
  t.deepEqual(a.picket.violations, [])
  t.like(a.picket, { services: 15 })
  const replay = crux('replay', trace, '--json')
  t.is(replay.status, 0, replay.stdout + replay.stderr)
  t.false(JSON.parse(replay.stdout).diverged)
  const check = crux('check', trace, '--json')
  t.is(check.status, 0, check.stdout + check.stderr)
  t.deepEqual(JSON.parse(check.stdout).picket, a.picket, 'the trace tells the picket checker what the run told it live')
  const other = JSON.parse(crux('sim', ...args.slice(0, -4), '--seed', '5', '--loss', '0.05', '--json').stdout)
  t.not(JSON.stringify(other.picket), JSON.stringify(a.picket), 'another seed, another run')
  const line = crux('sim', ...args)
  t.regex(line.stdout, /^picket: 15 services, \d+ restart\(s\) each within [\d.]+ HB, \d+ hung killed within [\d.]+ HB of their last beat, \d+ failed bundle\(s\); 0 violation\(s\)$/m)
})

test('a checker bound too tight fails the run: the violations are in the summary, counted by kind, and crux check finds the same in the trace', async (t) => {
  const trace = join(tempDir(t, 'crux-picket-sim-'), 'tight.ndjson')
  const s = await runSim({ nodes: 4, seed: 2, services: 1, run: 3, picketCheck: { hungHb: -0.5 }, trace })
  t.true(s.picket!.killed_hung > 0)
  t.true(s.picket!.violations.length > 0)
  t.is(s.violation_kinds['picket-hung-late' as keyof typeof s.violation_kinds], s.picket!.violations.length)
  t.true(s.violations.includes(s.picket!.violations[0]!))
  const c = checkTrace(trace)
  t.false(c.diverged)
  t.deepEqual(c.picket, s.picket)
  t.deepEqual(c.violations, s.violations)
})

test('usage: --run needs --services; a bad --run is a usage error', (t) => {
  const r = crux('sim', '--nodes', '3', '--run', '2')
  t.is(r.status, 2)
  t.is(r.stderr, 'crux: --run needs --services (picket registers its services with the reeve and beats through the heartbeater)\n')
  const bad = crux('sim', '--nodes', '3', '--services', '1', '--run', 'x')
  t.is(bad.status, 2)
  t.regex(bad.stderr, /^crux: --run must be an integer/)
  t.regex(crux('sim', '--help').stdout, /crux sim --nodes 10 --services 2 --run 3 --json/)
})
