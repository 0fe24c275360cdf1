/**
 * Model-based tests of the picket machine (the walker of test/model/walk.ts, as the pastiche model test
 * uses it): one service `svc` driven by an alphabet of abstract events made concrete for the machine's
 * context (requests, the run edge's news, the reeve's and heartbeater's answers, the muster's answers, each of its timers,
 * news of a stale run), invariants checked at every reached world (its states, its runs, what it
 * persisted, where its effects go), a graph walk over abstract states whose paths replay identically
 * on a live actor, an exhaustive walk, and random long runs (fast-check) that must hold the invariants
 * and, once the world turns fair, end with the service running, stopped, failed or gone.
 */
import test from 'ava'
import fc from 'fast-check'
import type { Effect, HostEvent } from '../../../machines/effects.js'
import { picketLogic, viewOf } from '../../../machines/picket.machine.js'
import { musterTags } from '../../../machines/picket/muster.js'
import type { Manifest } from '../../../machines/picket/types.js'
import { walker, type Spec, type World } from '../../model/walk.js'
import { A, B, HB, KEY, manifest, picket, REEVE, RUN } from './harness.js'

const CONFIG = { backoffMinMs: 100, backoffMaxMs: 400, backoffResetMs: 500, hbMs: 100 }
const M: Manifest = manifest({ ttlMs: 300, startMs: 300, stopMs: 200, graceMs: 200 })
const TIMERS = ['start', 'upstart', 'hb', 'reset', 'backoff', 'stop', 'grace', 'retire', 'reg']
const NAME = /^[a-z][a-z0-9_-]{0,62}$/

/** A request; its id (and `reply:` address) is the time, so a path replays with the same events. */
const req = (type: string, now: number, fields: Record<string, unknown>, caller = KEY): HostEvent => ({ type: `picket.${type}`, id: now, from: `reply:${now}`, caller, name: 'svc', ...fields, now })
const firstCall = (c: any, kind: string): number => Object.keys(c.calls).map(Number).filter((id) => c.calls[id].kind === kind).sort((a, b) => a - b)[0] ?? 999

/** The event named `e`, made concrete for context `c` at `now`. */
function concrete(e: string, c: any, now: number): HostEvent {
  const s = c.services.svc
  const cur: number = s?.current?.run ?? 999
  const next: number = s?.next?.run ?? 999
  const awaiting = s?.state === 'preparing' ? { run: cur, hash: s.hash } : s?.next !== null && s?.next !== undefined && s.next.manifest === null ? { run: next, hash: s.next.hash } : { run: 999, hash: A }
  if (e.startsWith('fire-') && e !== 'fire-muster') return { type: 'timer.fired', name: `${e.slice(5)}:svc`, now }
  switch (e) {
    case 'start':
      return req('start', now, { hash: A })
    case 'start-stranger':
      return req('start', now, { name: 'other', hash: A }, 'KEY-stranger')
    case 'stop':
    case 'reset':
      return req(e, now, {})
    case 'upgrade':
      return req('upgrade', now, { hash: s?.hash === A ? B : A })
    case 'ready':
      return { type: 'bundle.ready', ...awaiting, manifest: awaiting.run === next ? { ...M, instance: 'svc_2' } : M, now }
    case 'bundle-failed':
      return { type: 'bundle.failed', ...awaiting, reason: 'no such blob', now }
    case 'listening-cur':
    case 'listening-next':
      return { type: 'run.listening', run: e === 'listening-cur' ? cur : next, address: `10.0.0.1:${e === 'listening-cur' ? cur : next}`, now }
    case 'alive-cur':
      return { type: 'run.alive', run: cur, now }
    case 'exit-cur':
      return { type: 'run.exited', run: cur, code: 1, signal: null, now }
    case 'exit-next':
      return { type: 'run.exited', run: next, code: 1, signal: null, now }
    case 'exit-old':
      return { type: 'run.exited', run: s?.old?.run ?? 999, code: 0, signal: null, now }
    case 'registered':
      return { type: 'reeve.registered', id: firstCall(c, 'register'), heartbeater: true, now }
    case 'refused':
      return { type: 'call.refused', id: firstCall(c, 'register'), code: 'UNAVAILABLE', message: 'no', now }
    case 'deregistered':
      return { type: 'reeve.deregistered', id: firstCall(c, 'deregister'), heartbeater: true, now }
    case 'hb-ok':
      return { type: 'heartbeat.ok', id: firstCall(c, 'beat'), now }
    case 'muster-ok':
      return { type: 'reeve.registered', id: c.muster?.sending?.id ?? 999, heartbeater: false, now }
    case 'muster-refused':
      return { type: 'call.refused', id: c.muster?.sending?.id ?? 999, code: 'UNAVAILABLE', message: 'no', now }
    case 'fire-muster':
      return { type: 'timer.fired', name: 'muster', now }
    default:
      return { type: 'run.exited', run: 999, code: 0, signal: null, now }
  }
}

const runsOf = (s: any) => [s.current, s.next, s.old].filter((r: any) => r !== null)

/** What must hold of the context after every step, and of the step's effects. */
function check(path: string, c: any, out: Effect[], event: HostEvent | null, store: Record<string, any>, prev: any | null): string[] {
  const bad: string[] = []
  let busy = false
  for (const [name, s] of Object.entries<any>(c.services)) {
    if (!NAME.test(name) || s.name !== name) bad.push(`service ${name} under a bad name`)
    if (s.next !== null || s.old !== null || !['running', 'stopped', 'failed'].includes(s.state)) busy = true
    const runs = runsOf(s).map((r: any) => r.run)
    if (new Set(runs).size !== runs.length || runs.some((r: number) => r >= c.nextRun)) bad.push(`${name}: runs ${runs} (next run ${c.nextRun})`)
    if (s.state === 'preparing' && (s.current === null || s.manifest !== null)) bad.push(`${name}: preparing without its run, or with a manifest`)
    if ((s.state === 'starting' || s.state === 'running') && (s.current === null || s.manifest === null)) bad.push(`${name}: ${s.state} without a run or manifest`)
    if (s.state === 'running' && !s.current.quitting && !s.current.registered && s.current.registering === null) bad.push(`${name}: running, neither registered nor registering`)
    if (s.state === 'backoff' && s.current !== null) bad.push(`${name}: a current run in backoff`)
    if ((s.state === 'stopped' || s.state === 'failed') && runsOf(s).length > 0) bad.push(`${name}: ${s.state} with runs`)
    if (s.state === 'stopping' && runsOf(s).length === 0) bad.push(`${name}: stopping with no run left`)
    if (s.next !== null && !['starting', 'running', 'backoff', 'stopping'].includes(s.state)) bad.push(`${name}: an upgrade while ${s.state}`)
    if (s.old !== null && s.old.registered) bad.push(`${name}: the walking dead still registered`)
    if (s.next !== null && s.next.registered && s.state !== 'stopping') bad.push(`${name}: the next run registered but not promoted`)
    if (s.state === 'running' && s.current.since > s.current.lastBeat) bad.push(`${name}: a beat before its spawn`)
    if (s.failures < 0 || s.restarts < 0) bad.push(`${name}: negative counts`)
    const p = prev?.services[name]
    if (p !== undefined && s.restarts < p.restarts) bad.push(`${name}: restarts went down`)
    // What a restart would find.
    const kept = store[`svc/${name}`]
    if (s.resetting === true) {
      if (kept !== undefined) bad.push(`${name}: resetting, still persisted`)
    } else if (kept === undefined) bad.push(`${name}: not persisted`)
    else {
      const stopped = s.state === 'stopped' || s.state === 'stopping'
      if (kept.stopped !== stopped || kept.hash !== s.hash) bad.push(`${name}: persisted ${JSON.stringify(kept)} while ${s.state} on ${s.hash.slice(7, 8)}`)
    }
  }
  for (const k of Object.keys(store)) if (c.services[k.slice(4)] === undefined) bad.push(`${k} persisted for a service not here`)
  for (const id of Object.keys(c.calls)) if (Number(id) >= c.nextId) bad.push(`call ${id} not yet made`)
  // The muster: one registration at a time, and none owed unless one is on its way or a refusal's wait runs.
  const m = c.muster
  const musterSends = out.filter((e) => e.type === 'send' && e.event.type === 'reeve.register' && (e.event as any).endpoint.api === 'Picket1')
  if (musterSends.length > 1 || (musterSends.length === 1 && m.sending?.id !== (musterSends[0] as any).event.id)) bad.push('more than one muster registration, or one not followed')
  const now = musterTags(c, viewOf)
  if (m.sending === null && c.now >= m.notBefore && JSON.stringify(m.announced) !== JSON.stringify(now)) bad.push(`muster ${JSON.stringify(m.announced)} stale: ${JSON.stringify(now)} owed`)
  if (m.sending !== null && c.calls[m.sending.id] !== undefined) bad.push("the muster's registration taken for a run's")
  if (path !== (busy ? 'busy' : 'idle')) bad.push(`state ${path} while busy ${busy}`)
  for (const e of out) {
    if (e.type === 'timer.set' && !(Number.isFinite(e.ms) && e.ms >= 0 && (TIMERS.includes(e.name.split(':')[0]!) || e.name === 'muster'))) bad.push(`timer ${e.name} ${e.ms}`)
    if (e.type === 'persist' && !/^svc\/[a-z]/.test(e.key)) bad.push(`persist ${e.key}`)
    if (e.type !== 'send') continue
    if (![RUN, REEVE, HB].includes(e.to) && !e.to.startsWith('reply:')) bad.push(`send to ${e.to}`)
    if (e.cls !== 'control') bad.push(`a ${e.event.type} not of the control class`)
    const ev = e.event as any
    if (ev.type === 'spawn') {
      const s = c.services[ev.name]
      if (s === undefined || (s.current?.run !== ev.run && s.next?.run !== ev.run)) bad.push(`spawned run ${ev.run}, neither current nor next`)
    }
    if (ev.type === 'forget' && c.services[ev.name] !== undefined) bad.push('forgot a service still here')
    if (ev.type === 'reeve.register' && ev.endpoint.api !== 'Picket1') {
      const call = c.calls[ev.id]
      const r = call === undefined ? undefined : runsOf(c.services[call.name] ?? { current: null, next: null, old: null }).find((x: any) => x.run === call.run)
      if (r === undefined || r.quitting || r.registering !== ev.id) bad.push('registered a run not followed, quitting, or not waiting for it')
    }
    if ((ev.type === 'reeve.register' || ev.type === 'heartbeat.beats' || ev.type === 'reeve.deregister') && (ev.from !== 'n1/picket' || ev.caller !== KEY)) bad.push(`${ev.type} not as the node`)
  }
  // A request is answered exactly once; a stale run's news is not news.
  const from = event?.from
  if (typeof from === 'string' && out.filter((e) => e.type === 'send' && e.to === from).length !== 1) bad.push(`${event!.type} not answered once`)
  // (A muster owed since a refusal's wait ended goes with whatever step comes next.)
  if (event?.type === 'run.exited' && event.run === 999 && out.length > musterSends.length) bad.push('news of a stale run made effects')
  return bad
}

const spec: Spec = {
  logic: picketLogic,
  input: { node: 'n1', now: 0, config: CONFIG, reeve: REEVE, heartbeater: HB, keyId: KEY, self: 'n1/picket', nodeIdPrefix: '/b/h/n1', horde: 'h', services: [], address: '10.0.0.1:50059' },
  stepMs: 100,
  alphabet: ['start', 'start-stranger', 'stop', 'reset', 'upgrade', 'ready', 'bundle-failed', 'listening-cur', 'listening-next', 'alive-cur', 'exit-cur', 'exit-next', 'exit-old', 'registered', 'refused', 'deregistered', 'hb-ok', 'muster-ok', 'muster-refused', 'fire-muster', ...TIMERS.map((t) => `fire-${t}`), 'stale'],
  concrete: (e, w, now) => concrete(e, w.ctx, now),
  check: (w: World, prev: World | null) => check(w.path, w.ctx, w.out, w.event, w.store, prev?.ctx ?? null),
  // Its effects go to its port, the reeve, the heartbeater and request replies: `check` judges them.
  effects: () => [],
  key(w) {
    const s = w.ctx.services.svc
    const m = [w.ctx.muster.sending !== null, w.ctx.now < w.ctx.muster.notBefore]
    if (s === undefined) return JSON.stringify([w.path, Object.keys(w.store), m])
    const run = (r: any) => (r === null ? null : [r.registered, r.registering !== null, r.address !== null, r.quitting, 'manifest' in r ? r.manifest !== null : null])
    const calls = Object.values<any>(w.ctx.calls).map((x) => x.kind).sort()
    return JSON.stringify([w.path, s.state, s.hash === A, run(s.current), run(s.next), run(s.old), Math.min(s.failures, 3), s.resetting === true, calls, m])
  },
}

test.serial('graph walk: every abstract state within 10 steps holds the invariants and replays on a live actor', (t) => {
  const w = walker(spec)
  const started = performance.now()
  const g = w.graph(10)
  t.deepEqual(w.violations, [])
  t.deepEqual(g.replayMismatches, [])
  t.deepEqual(Object.keys(g.perState).sort(), ['busy', 'idle'], 'both states of the chart are reached')
  t.log(`${g.vertices} abstract states, ${w.steps()} machine steps in ${((performance.now() - started) / 1000).toFixed(2)} s; per state ${JSON.stringify(g.perState)}`)
})

test.serial('exhaustive walk: every sequence of up to 3 events holds the invariants', (t) => {
  const w = walker(spec)
  const sequences = w.exhaustive(3)
  t.deepEqual(w.violations, [])
  const n = spec.alphabet.length
  t.is(sequences, (n ** 4 - 1) / (n - 1))
})

/** The next event of a fair world: the edge, the reeve and the heartbeater answer, timers fire, the runs beat and exit when asked. */
function fair(c: any): string {
  const s = c.services.svc
  if (c.muster.sending !== null) return 'muster-ok'
  if (s === undefined) return 'fire-muster'
  if (firstCall(c, 'register') !== 999) return 'registered'
  if (firstCall(c, 'deregister') !== 999) return 'deregistered'
  if (firstCall(c, 'beat') !== 999) return 'hb-ok'
  if (s.state === 'preparing' || (s.next !== null && s.next.manifest === null)) return 'ready'
  if (s.state === 'backoff') return 'fire-backoff'
  if (s.old !== null) return 'exit-old'
  if (s.state === 'stopping') return s.current !== null ? 'exit-cur' : 'exit-next'
  if (s.current !== null && s.current.quitting) return 'exit-cur'
  if (s.current !== null && s.current.address === null) return 'listening-cur'
  if (s.next !== null && s.next.address === null) return 'listening-next'
  const unregistered = (r: any) => r !== null && !r.registered && r.registering === null
  if (unregistered(s.current) || unregistered(s.next)) return 'fire-reg'
  return 'alive-cur'
}

const settled = (s: any) => s === undefined || s.state === 'stopped' || s.state === 'failed' || (s.state === 'running' && s.current.registered && s.next === null && s.old === null)

test.serial('random runs of a start and up to 60 events hold the invariants, and a fair world then settles the service', (t) => {
  let steps = 0
  const ends: Record<string, number> = {}
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...spec.alphabet), { minLength: 10, maxLength: 60 }), (rest) => {
      const events = ['start', ...rest]
      const m = picket(CONFIG, [], '10.0.0.1:50059')
      let now = 0
      let prev: any = structuredClone(m.context())
      const store: Record<string, unknown> = {}
      const step = (e: string) => {
        steps++
        now += 100
        const event = concrete(e, m.context(), now)
        const out = m.send(event, now)
        for (const x of out) if (x.type === 'persist') x.value === null ? delete store[x.key] : (store[x.key] = x.value)
        const bad = check(m.state(), m.context(), out, event, store, prev)
        prev = structuredClone(m.context())
        if (bad.length > 0) throw new Error(`[${events.join(', ')}] then ${e}: ${bad.join('; ')}`)
      }
      for (const e of events) step(e)
      const owed = (c: any) => JSON.stringify(c.muster.announced) !== JSON.stringify(musterTags(c, viewOf))
      for (let i = 0; i < 200 && (!settled(m.context().services.svc) || owed(m.context())); i++) step(fair(m.context()))
      const s = m.context().services.svc
      if (!settled(s)) throw new Error(`[${events.join(', ')}]: never settled, ${s.state}`)
      if (owed(m.context())) throw new Error(`[${events.join(', ')}]: the muster never caught up`)
      ends[s?.state ?? 'gone'] = (ends[s?.state ?? 'gone'] ?? 0) + 1
    }),
    { numRuns: 300, seed: 17 },
  )
  t.log(`${steps} steps; ends ${JSON.stringify(ends)}`)
  t.true(ends.running! > 0 && ends.stopped! > 0, 'both running and stopped ends are reached')
})
