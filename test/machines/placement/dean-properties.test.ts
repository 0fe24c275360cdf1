/**
 * The dean against a model of its node's picket, over random runs (fast-check): assignments with
 * random names, bundles and terms; services started or reset by hand beside it; picket answering
 * each request truthfully (OK, ALREADY_EXISTS for a name it runs, NOT_FOUND for one it does not), or
 * refusing for now (UNAVAILABLE), or the road failing; the edge telling it what picket has after a
 * hand-made change; retries firing. Invariants at every step: at most one request on its way; a delete or an
 * upgrade only of a name the dean started; a start never of a name picket runs by hand. And once
 * picket answers everything OK, the node runs exactly what was last assigned, bar the blocked names.
 */
import test from 'ava'
import fc from 'fast-check'
import { deanLogic } from '../../../machines/dean.machine.js'
import type { Effect } from '../../../machines/effects.js'
import { stepper } from '../strew-harness.js'

const H = (c: string) => `sha256:${c.repeat(64)}`
const NAMES = ['a-1', 'a-2', 'b-1', 'c-1']
const HASHES = [H('1'), H('2')]
const PROGRAM = { version: 1, text: 'pick(a, 1, ALL)\n', bundles: { a: H('1') } }

type Cmd = { kind: 'assign'; services: Record<string, string>; term: number } | { kind: 'answer'; code: 'OK' | 'UNAVAILABLE' | 'FAILED' } | { kind: 'retry' } | { kind: 'hand' | 'handReset'; name: string }

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ kind: fc.constant('assign' as const), services: fc.dictionary(fc.constantFrom(...NAMES), fc.constantFrom(...HASHES), { maxKeys: 4 }), term: fc.integer({ min: 1, max: 4 }) }),
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('answer' as const), code: fc.constantFrom('OK' as const, 'OK' as const, 'OK' as const, 'UNAVAILABLE' as const, 'FAILED' as const) }) },
  fc.record({ kind: fc.constant('retry' as const) }),
  fc.record({ kind: fc.constantFrom('hand' as const, 'handReset' as const), name: fc.constantFrom(...NAMES) }),
)

const requests = (out: Effect[]) => out.flatMap((e) => (e.type === 'send' && e.to === 'n1/picket' ? [e.event as { type: string; id: number; name: string; hash?: string }] : []))

test('the dean keeps one request on its way, touches only what it started, and converges on its assignment', (t) => {
  fc.assert(
    fc.property(fc.array(cmd, { maxLength: 40 }), (cmds) => {
      const d = stepper(deanLogic, { node: 'n1', now: 0, picket: 'n1/picket', keyId: 'K', proctor: 'n1/proctor', self: 'n1/dean', retryMs: 10, restored: null })
      // The model picket: what runs, and which names were started by hand.
      const runs = new Map<string, string>()
      const byHand = new Set<string>()
      let now = 0
      let pending = null as { type: string; id: number; name: string; hash?: string } | null
      let id = 0
      const take = (out: Effect[]) => {
        const reqs = requests(out)
        if (reqs.length > 1 || (reqs.length === 1 && pending !== null)) throw new Error(`two requests on their way: ${JSON.stringify([pending, ...reqs])}`)
        for (const r of reqs) {
          if ((r.type === 'picket.reset' || r.type === 'picket.upgrade') && d.context().managed[r.name] === undefined) throw new Error(`${r.type} of ${r.name}, which the dean did not start`)
          pending = r
        }
      }
      // The picket's answer to the pending request, with `code` (OK is picket's own verdict).
      const answer = (code: string) => {
        const r = pending!
        pending = null
        let verdict = code
        if (code === 'OK') {
          if (r.type === 'picket.start') verdict = runs.has(r.name) ? 'ALREADY_EXISTS' : 'OK'
          else verdict = runs.has(r.name) ? 'OK' : 'NOT_FOUND'
        }
        if (verdict === 'OK') {
          if (r.type === 'picket.reset') runs.delete(r.name)
          else runs.set(r.name, r.hash!)
        }
        if (code === 'FAILED') return take(d.send({ type: 'call.failed', id: r.id, code: 'UNAVAILABLE', message: 'road' }, ++now))
        if (verdict === 'OK') return take(d.send({ type: 'picket.answer', id: r.id, code: 'OK', message: '', service: null }, ++now))
        take(d.send({ type: 'call.refused', id: r.id, code: verdict, message: verdict }, ++now))
      }
      take(d.start)
      for (const c of cmds) {
        if (c.kind === 'assign') take(d.send({ type: 'dean.assign', id: ++id, from: `reply:${id}`, caller: 'P', term: c.term, program: PROGRAM, services: c.services }, ++now))
        else if (c.kind === 'answer' && pending !== null) answer(c.code)
        else if (c.kind === 'retry') take(d.send({ type: 'timer.fired', name: 'retry' }, (now += 20)))
        else if (c.kind === 'hand' && !runs.has(c.name) && pending?.name !== c.name && d.context().managed[c.name] === undefined) {
          runs.set(c.name, H('9'))
          byHand.add(c.name)
          take(d.send({ type: 'dean.picket', services: Object.fromEntries(runs) }, ++now))
        } else if (c.kind === 'handReset' && !byHand.has(c.name) && pending?.name !== c.name && runs.delete(c.name)) take(d.send({ type: 'dean.picket', services: Object.fromEntries(runs) }, ++now))
      }
      // From here picket answers everything OK and retries fire: the dean must settle on its assignment.
      for (let i = 0; i < 50 && (pending !== null || i < 2); i++) {
        if (pending !== null) answer('OK')
        else take(d.send({ type: 'timer.fired', name: 'retry' }, (now += 20)))
      }
      const ctx = d.context()
      if (pending !== null) throw new Error('still busy after 50 answers')
      for (const name of byHand) if (runs.get(name) !== H('9')) throw new Error(`the hand-started ${name} was touched`)
      const want = Object.fromEntries(Object.entries(ctx.assigned as Record<string, string>).filter(([n]) => ctx.blocked[n] === undefined))
      const ours = Object.fromEntries([...runs].filter(([n]) => !byHand.has(n)))
      if (JSON.stringify(Object.entries(ours).sort()) !== JSON.stringify(Object.entries(want).sort())) throw new Error(`runs ${JSON.stringify(ours)}, assigned ${JSON.stringify(want)}`)
      for (const n of Object.keys(ctx.blocked)) if (!byHand.has(n)) throw new Error(`${n} blocked but not started by hand`)
    }),
    { numRuns: 400 },
  )
  t.pass()
})
