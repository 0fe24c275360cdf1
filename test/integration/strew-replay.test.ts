/**
 * The journal of a real fulcrum replays its strew actors bit for bit: follower, reeve, heartbeater,
 * steward and registry steps are recorded like the flock's (every gRPC call arrives as an event, every
 * answer is a send), so `crux replay` re-runs them and compares every state and every effect. The run
 * covers registrations, heartbeats, a deregistration and a steward change (the leader stopped).
 */
import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { agreed, crux, FulcrumPool, until, type RunningFulcrum } from '../fixtures/fulcrums.js'

const at = (f: RunningFulcrum) => ['--target', f.addr.replace(/:\d+$/, ':50059'), '--data-dir', f.dataDir]
const STREW = ['follower', 'reeve', 'heartbeater', 'steward', 'registry']

/** Steps recorded per strew actor in a journal (lines naming `<node>/<name>` with an input). */
function stepsByActor(trace: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /"actor":"[^"/]+\/([a-z]+)","(?:in|timer|event)"/.exec(line) ?? /"actor":"[^"/]+\/([a-z]+)"/.exec(line)
    if (m !== null && line.includes('"seq"')) out[m[1]!] = (out[m[1]!] ?? 0) + 1
  }
  return out
}

test('journals of 3 fulcrums replay their strew actors without divergence, across registrations, heartbeats, a deregistration and a steward change', async (t) => {
  t.timeout(180_000)
  const pool = new FulcrumPool(t)
  const traces = [1, 2, 3].map((i) => join(pool.dir, `s${i}.ndjson`))
  const fs = [1, 2, 3].map((i) => pool.start(`127.77.241.${i}:23123`, '127.77.241.0/29', ['--trace', traces[i - 1]!]))
  await until(() => agreed(fs, 3), 30_000, 'one flock of 3')
  const leader = fs.find((f) => f.view()?.role?.startsWith('leader'))!
  const members = fs.filter((f) => f !== leader)
  // A registration kept by heartbeats, one without, and a deregistration, at a member.
  const kept = await crux('service', 'register', ...at(members[0]!), '--api', 'Kept1', '--instance', 'k1', '--addr', '127.77.241.9:8001', '--ttl', '2')
  t.is(kept.status, 0, kept.stderr)
  const plain = await crux('service', 'register', ...at(members[0]!), '--api', 'Plain1', '--instance', 'p1', '--addr', '127.77.241.9:8002')
  t.is(plain.status, 0, plain.stderr)
  const beat = await crux('service', 'heartbeat', ...at(members[0]!), '--api', 'Kept1', '--ttl', '2')
  t.is(beat.status, 0, beat.stderr)
  const gone = await crux('service', 'deregister', ...at(members[0]!), '--api', 'Plain1')
  t.is(gone.status, 0, gone.stderr)
  // The leader stops: a member leads, starts its steward, and every reeve registers and re-sends to it.
  leader.child.kill('SIGTERM')
  t.is(await leader.exited, 0)
  await until(() => agreed(members, 2), 30_000, 'one flock of the 2 left')
  const again = await crux('service', 'register', ...at(members[1]!), '--api', 'After1', '--instance', 'a1', '--addr', '127.77.241.9:8003')
  t.is(again.status, 0, again.stderr)
  // The reeve answers once the registration is in its log: the new steward has worked only once the
  // other member's catalog holds it (stopping before, on a loaded machine, left its journal without it).
  const seen = async () => {
    const ls = await crux('registry', 'ls', ...at(members[0]!), '--api', 'After1', '--json')
    return ls.status === 0 && ls.stdout.includes('127.77.241.9:8003')
  }
  const deadline = Date.now() + 30_000
  while (!(await seen())) {
    if (Date.now() > deadline) return t.fail('the registration after the steward change never reached the other member')
    await new Promise((r) => setTimeout(r, 200))
  }
  for (const f of members) f.child.kill('SIGTERM')
  t.deepEqual(await Promise.all(members.map((f) => f.exited)), [0, 0])

  let stewards = 0
  for (const trace of traces) {
    const r = await crux('replay', trace, '--json')
    t.is(r.status, 0, r.stdout + r.stderr)
    const out = JSON.parse(r.stdout) as { events: number; verified: number; diverged: unknown }
    t.false(out.diverged, `${trace} diverged: ${JSON.stringify(out.diverged)}`)
    const steps = stepsByActor(trace)
    for (const name of ['follower', 'reeve']) t.true((steps[name] ?? 0) > 1, `${trace}: ${name} recorded ${steps[name] ?? 0} steps`)
    if ((steps['steward'] ?? 0) > 2 && (steps['registry'] ?? 0) > 2) stewards++
    t.true(STREW.every((n) => steps[n] !== undefined), `${trace}: every strew actor is in the journal (${JSON.stringify(steps)})`)
  }
  // The first leader's steward and the one that took over both worked, and both journals replayed.
  t.true(stewards >= 2, `${stewards} journals hold a working steward and registry`)
  const member = stepsByActor(traces[fs.indexOf(members[0]!)]!)
  t.true((member['heartbeater'] ?? 0) >= 2, `the member's heartbeater took the registration and the beat (${member['heartbeater'] ?? 0} steps)`)
})
