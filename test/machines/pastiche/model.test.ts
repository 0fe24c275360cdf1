/**
 * Model-based tests of the pastiche machine (the walker of test/model/walk.ts, as
 * test/model/strew.model.test.ts walks the reeve, steward and heartbeater): an alphabet of abstract events made concrete for the
 * machine's context, invariants checked at every reached world, a graph walk over abstract states whose
 * paths replay identically on a live actor, an exhaustive walk, and random long runs (fast-check) that
 * must hold the invariants and, once the world turns fair, end with every holding held.
 */
import test from 'ava'
import fc from 'fast-check'
import type { HostEvent } from '../../../machines/effects.js'
import { A, B, pastiche, STORE, T } from './harness.js'
import { pasticheLogic } from '../../../machines/pastiche.machine.js'
import { walker, type Spec, type World } from '../../model/walk.js'

const SIZE: Record<string, number> = { [A]: 300, [B]: 200 }
const CONFIG = { perBlob: 2, perPeer: 2, total: 3, minRange: 100, gatherMs: 150, backoffMs: 100, backoffMaxMs: 400, askEveryMs: 300, askFanout: 8, tickMs: 100 }
const first = (o: Record<string, unknown>): number | undefined => {
  const ids = Object.keys(o).map(Number)
  return ids.length === 0 ? undefined : Math.min(...ids)
}
const rangeOf = (c: any, id: number) => Object.values(c.wants).flatMap((w: any) => w.ranges).find((r: any) => r.id === id) as { length: number } | undefined
const assembling = (c: any) => Object.values(c.wants).find((w: any) => w.assembling !== null) as { assembling: number } | undefined

/** The event named `e`, made concrete for context `c` at `now`. */
function concrete(e: string, c: any, now: number): HostEvent {
  const t = first(c.transfers)
  const a = first(c.asks)
  switch (e) {
    case 'want-A':
      return { type: 'want', hash: A, bytes: SIZE[A], now }
    case 'want-B':
      return { type: 'want', hash: B, now }
    case 'unwant-A':
      return { type: 'unwant', hash: A, now }
    case 'unwant-B':
      return { type: 'unwant', hash: B, now }
    case 'held-A':
      return { type: 'blob.held', hash: A, bytes: SIZE[A], now }
    case 'gone-A':
      return { type: 'blob.gone', hash: A, now }
    case 'gone-B':
      return { type: 'blob.gone', hash: B, now }
    case 'peers-p1':
      return { type: 'peers', peers: [{ node: 'p1', address: 'p1:1', holds: [{ hash: A }] }], now }
    case 'peers-both':
      return { type: 'peers', peers: [{ node: 'p1', address: 'p1:1', holds: [{ hash: A }] }, { node: 'p2', address: 'p2:1', holds: [{ hash: A }, { hash: B }] }], now }
    case 'peers-none':
      return { type: 'peers', peers: [], now }
    case 'has-yes':
    case 'has-no':
    case 'has-failed':
      return { type: 'has.answer', id: a ?? 999, ok: e !== 'has-failed', held: e === 'has-yes', bytes: a === undefined ? 0 : SIZE[c.asks[a].hash]!, now }
    case 'fetched-ok':
    case 'fetched-bad':
    case 'fetched-failed':
      return { type: 'fetched', id: t ?? 999, result: e.slice('fetched-'.length) as 'ok', bytes: t === undefined ? 0 : rangeOf(c, t)?.length ?? 0, now }
    case 'fetched-stale':
      return { type: 'fetched', id: 999, result: 'ok', bytes: 100, now }
    case 'assembled-ok':
    case 'assembled-bad':
      return { type: 'assembled', id: assembling(c)?.assembling ?? 999, ok: e === 'assembled-ok', now }
    default:
      return { type: 'timer.fired', name: 'tick', now }
  }
}

/** What must hold after every step. */
function check(path: string, c: any, out: any[], prev: any | null): string[] {
  const bad: string[] = []
  const ranges = new Map<number, { hash: string; from: string }>()
  const perPeer: Record<string, number> = {}
  let missing = false
  for (const [hash, w] of Object.entries<any>(c.wants)) {
    if (w.phase !== 'held') missing = true
    let inFlight = 0
    let end = 0
    for (const r of w.ranges) {
      if (r.offset !== end) bad.push(`${hash.slice(7, 8)}: ranges leave a gap or overlap at ${end}`)
      end = r.offset + r.length
      if (r.id === null) continue
      inFlight++
      if (ranges.has(r.id)) bad.push(`transfer ${r.id} carries two ranges`)
      ranges.set(r.id, { hash, from: r.from })
      perPeer[r.from] = (perPeer[r.from] ?? 0) + 1
      if (w.excluded.includes(r.from)) bad.push(`an excluded peer serves a range of ${hash.slice(7, 8)}`)
      if (r.done) bad.push('a range in and in flight')
    }
    if (w.ranges.length > 0 && w.bytes !== null && end !== w.bytes) bad.push(`ranges cover ${end} of ${w.bytes} bytes`)
    if (inFlight > CONFIG.perBlob) bad.push(`${inFlight} ranges of one blob in flight`)
    if (c.held[hash] !== undefined && w.phase !== 'held') bad.push(`${hash.slice(7, 8)} held and wanted but ${w.phase}`)
    if (w.phase === 'held' && c.pinned[hash] === undefined) bad.push(`${hash.slice(7, 8)} held for a holding, not pinned`)
  }
  for (const [n, k] of Object.entries(perPeer)) if (k > CONFIG.perPeer) bad.push(`${k} ranges in flight from ${n}`)
  if (ranges.size > CONFIG.total) bad.push(`${ranges.size} ranges in flight on the node`)
  for (const [h, hs] of Object.entries<any>(c.holders)) {
    if (Object.keys(hs).length === 0) bad.push('an empty holder set kept')
    for (const n of Object.keys(hs)) if (c.peers[n] === undefined) bad.push(`${n} holds ${h.slice(7, 8)} but is not a known peer`)
  }
  const asking: Record<string, number> = {}
  for (const a of Object.values<any>(c.asks)) asking[a.hash] = (asking[a.hash] ?? 0) + 1
  if (JSON.stringify(Object.entries(asking).sort()) !== JSON.stringify(Object.entries(c.asking).sort())) bad.push(`asks per blob ${JSON.stringify(c.asking)}, in flight ${JSON.stringify(asking)}`)
  for (const id of Object.keys(c.transfers)) if (!ranges.has(Number(id))) bad.push(`transfer ${id} has no range`)
  for (const id of ranges.keys()) if (c.transfers[id] === undefined) bad.push(`range in flight as ${id}, unknown to transfers`)
  for (const h of Object.keys(c.pinned)) if (c.wants[h] === undefined || c.held[h] === undefined) bad.push(`${h.slice(7, 8)} pinned but not wanted and held`)
  if (c.ticking !== missing) bad.push(`tick armed ${c.ticking} while missing ${missing}`)
  if (path !== (missing ? 'working' : 'idle')) bad.push(`state ${path} while missing ${missing}`)
  for (const e of out) {
    if (e.type === 'send' && e.to !== T && e.to !== STORE) bad.push(`send to ${e.to}`)
    if (e.type === 'send' && e.event.type === 'fetch') {
      const w = c.wants[e.event.hash]
      if (c.transfers[e.event.id] === undefined) bad.push('a fetch sent but not in flight')
      if (w !== undefined && w.excluded.some((n: string) => c.peers[n]?.address === e.event.from)) bad.push('a fetch to an excluded peer')
    }
    if (e.type === 'send' && e.event.type === 'fetch.cancel' && c.transfers[e.event.id] !== undefined) bad.push('a cancelled transfer still in flight')
    if (e.type === 'send' && e.event.type === 'pin' && c.held[e.event.hash] === undefined) bad.push('pinned what is not held')
    if (e.type === 'emit' || e.type === 'log') bad.push(`a ${e.type} effect`)
  }
  if (prev !== null) for (const [k, v] of Object.entries<number>(c.counters)) if (v < prev.counters[k]) bad.push(`counter ${k} went down`)
  return bad
}

const spec: Spec = {
  logic: pasticheLogic,
  input: { node: 'me', now: 0, config: CONFIG },
  stepMs: 100,
  alphabet: ['want-A', 'want-B', 'unwant-A', 'unwant-B', 'held-A', 'gone-A', 'gone-B', 'peers-p1', 'peers-both', 'peers-none', 'has-yes', 'has-no', 'has-failed', 'fetched-ok', 'fetched-bad', 'fetched-failed', 'fetched-stale', 'assembled-ok', 'assembled-bad', 'tick'],
  concrete: (e, w, now) => concrete(e, w.ctx, now),
  check: (w: World, prev: World | null) => check(w.path, w.ctx, w.out, prev?.ctx ?? null),
  // Its effects go to its ports, not the strew addresses: `check` judges them.
  effects: () => [],
  key(w) {
    const c = w.ctx
    const wants = Object.values<any>(c.wants).map((x) => [x.hash.slice(7, 8), x.phase, x.bytes, x.ranges.map((r: any) => `${r.done ? 'd' : r.id !== null ? `f${r.from}` : r.notBefore > w.now ? 'b' : '-'}`), x.excluded, x.suspects, x.assembling !== null])
    const peers = Object.keys(c.peers).map((n) => [n, Object.keys(c.holders).filter((h) => c.holders[h][n] !== undefined).sort()])
    return JSON.stringify([w.path, wants.sort(), peers, Object.keys(c.held).sort(), Object.keys(c.pinned).sort(), Object.keys(c.asks).length > 0])
  },
}

test.serial('graph walk: every abstract state within 5 steps holds the invariants and replays on a live actor', (t) => {
  const w = walker(spec)
  const started = performance.now()
  const g = w.graph(5)
  t.deepEqual(w.violations, [])
  t.deepEqual(g.replayMismatches, [])
  t.deepEqual(Object.keys(g.perState).sort(), ['idle', 'working'], 'both states of the chart are reached')
  t.log(`${g.vertices} abstract states, ${w.steps()} machine steps in ${((performance.now() - started) / 1000).toFixed(2)} s; per state ${JSON.stringify(g.perState)}`)
})

test.serial('exhaustive walk: every sequence of up to 3 events holds the invariants', (t) => {
  const w = walker(spec)
  const sequences = w.exhaustive(3)
  t.deepEqual(w.violations, [])
  const n = spec.alphabet.length
  t.is(sequences, (n ** 4 - 1) / (n - 1))
})

test.serial('random runs of up to 60 events hold the invariants, and a fair world then completes every holding', (t) => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...spec.alphabet), { maxLength: 60 }), (events) => {
      const m = pastiche(CONFIG)
      let now = 0
      let prev: any = structuredClone(m.context())
      const step = (e: string) => {
        now += 100
        const out = m.send(concrete(e, m.context(), now), now)
        const bad = check(m.state(), m.context(), out, prev)
        prev = structuredClone(m.context())
        if (bad.length > 0) throw new Error(`[${events.join(', ')}] then ${e}: ${bad.join('; ')}`)
      }
      for (const e of events) step(e)
      // Fair from now on: both peers hold both blobs and every answer is good.
      m.send({ type: 'peers', peers: [{ node: 'p1', address: 'p1:1', holds: [{ hash: A }, { hash: B }] }, { node: 'p2', address: 'p2:1', holds: [{ hash: A }, { hash: B }] }] }, (now += 100))
      for (let i = 0; i < 200 && m.state() === 'working'; i++) {
        const c = m.context()
        if (first(c.asks) !== undefined) step('has-yes')
        else if (first(c.transfers) !== undefined) step('fetched-ok')
        else if (assembling(c) !== undefined) step('assembled-ok')
        else step('tick')
      }
      const c = m.context()
      const open = Object.values<any>(c.wants).filter((w) => w.phase !== 'held' && w.excluded.length < 2)
      if (open.length > 0) throw new Error(`[${events.join(', ')}]: ${open.map((w) => w.hash.slice(7, 8)).join(', ')} never held`)
    }),
    { numRuns: 300, seed: 16 },
  )
  t.pass()
})
