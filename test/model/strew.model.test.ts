/**
 * Model-based tests of the reeve, steward and heartbeater machines, bounded (test/model/walk.ts
 * walks them the way test/model/flock.model.test.ts walks the flock). For each: an alphabet of abstract
 * events made concrete for the machine's context, invariants checked at every reached world, a graph
 * walk over abstract states whose paths replay identically on a live actor, and an exhaustive walk.
 */
import test from 'ava'
import type { HostEvent } from '../../machines/effects.js'
import { heartbeaterLogic } from '../../machines/heartbeater.machine.js'
import { reeveLogic } from '../../machines/reeve.machine.js'
import { stewardLogic } from '../../machines/steward.machine.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { walker, type Spec, type World } from './walk.js'

const FP = 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'
/** An inbound call; its id (and `reply:` address) is the step's number, so a path replays with the same events. */
const call = (type: string, caller: string, fields: Record<string, unknown>, now: number): HostEvent => ({ type, id: now, from: `reply:${now}`, caller, ...fields, now })
const sendsOf = (w: World, type: string) => w.out.filter((e) => e.type === 'send' && e.event.type === type).map((e) => (e as { to: string; event: HostEvent }))

// ---------------------------------------------------------------- the reeve

const R_KEY = `/Reeve1_0/r1/keys/${FP}`
const S_KEY = (s: string) => `/Steward1_0/${s}/keys/${FP}`
const rep = (svc: string, state: 'up' | 'down' = 'up'): CatalogEndpoint => ({ nodeId: `/b/h1/r1/${svc}/${svc}1`, netId: '', horde: 'h1', api: `${svc}1`, instance: svc, address: 'r1:5000', state, keyId: '' })

/** Another node's endpoint, in every whole push. */
const N2: CatalogEndpoint = { nodeId: '/b/h1/n2/B/B1', netId: '', horde: 'h1', api: 'B1', instance: 'B', address: 'n2:5000', state: 'up', keyId: '' }

const reeveSpec: Spec = {
  logic: reeveLogic,
  input: { node: 'r1', reeve: '/b/h1/r1/Reeve/Reeve1', address: 'r1:50059', horde: 'h1', keyId: R_KEY, retryMs: 1_000, batchMs: 10, now: 0 },
  stepMs: 100,
  alphabet: ['register-A', 'register-B-beat', 'register-foreign', 'deregister-A', 'service-down-A', 'steward-s1', 'steward-s2', 'updated', 'failed', 'refused', 'stale-answer', 'timer.batch', 'timer.retry', 'push-full', 'push-raised', 'push-drops-ours', 'members-all', 'members-no-n2', 'watch', 'keys-pull'],
  concrete(e, w, now) {
    const c = w.ctx
    const sending = c.sending as { id: number; term: number } | null
    const s = c.steward as { term: number; keyId: string } | null
    switch (e) {
      case 'register-A':
        return call('reeve.register', R_KEY, { endpoint: rep('A') }, now)
      case 'register-B-beat':
        return call('reeve.register', R_KEY, { endpoint: rep('B'), heartbeat: { uuid: 'ub', holdMs: 2_000 } }, now)
      case 'register-foreign':
        return call('reeve.register', S_KEY('s1'), { endpoint: rep('C') }, now)
      case 'deregister-A':
        return call('reeve.deregister', R_KEY, { nodeId: rep('A').nodeId }, now)
      case 'service-down-A':
        return { type: 'service.state', nodeId: rep('A').nodeId, state: 'down', now }
      case 'steward-s1':
        return { type: 'reeve.steward', address: 's1:50059', term: 1, keyId: S_KEY('s1'), key: 'czE=', now }
      case 'steward-s2':
        return { type: 'reeve.steward', address: 's2:50059', term: 2, keyId: S_KEY('s2'), key: 'czI=', now }
      case 'updated':
        return { type: 'endpoints.updated', id: sending?.id ?? 0, term: sending?.term ?? 0, version: 1, now }
      case 'failed':
        return { type: 'call.failed', id: sending?.id ?? 0, request: 'endpoints.update', code: 'UNAVAILABLE', message: 'down', now }
      case 'refused':
        return { type: 'call.failed', id: sending?.id ?? 0, request: 'endpoints.update', code: 'FAILED_PRECONDITION', message: 'send everything', now }
      case 'stale-answer':
        return { type: 'endpoints.updated', id: 999, term: 1, version: 1, now }
      case 'timer.batch':
      case 'timer.retry':
        return { type: 'timer.fired', name: e.slice('timer.'.length), now }
      case 'push-full':
        return call('catalog.push', s?.keyId ?? '', { term: s?.term ?? 0, version: c.catalog.version + 1, full: true, base: 0, endpoints: [...Object.values(c.local), N2], remove: [], rules: [] }, now)
      case 'members-all':
        return { type: 'reeve.members', nodes: ['n2', 'r1'], now }
      case 'members-no-n2':
        return { type: 'reeve.members', nodes: ['r1'], now }
      case 'push-raised':
        // Its registry raised the steward's term (machines/registry/rules.ts raiseAbove): the whole catalog under it.
        return call('catalog.push', s?.keyId ?? '', { term: 50, version: c.catalog.version, full: true, base: 0, endpoints: Object.values(c.local), remove: [], rules: [] }, now)
      case 'push-drops-ours':
        return call('catalog.push', s?.keyId ?? '', { term: s?.term ?? 0, version: c.catalog.version + 1, full: false, base: c.catalog.version, endpoints: [], remove: Object.keys(c.local), rules: [] }, now)
      case 'watch':
        return call('catalog.watch', R_KEY, {}, now)
      default:
        return call('keys.pull', s?.keyId ?? '', { keyId: R_KEY, challenge: 'Y2g=' }, now)
    }
  },
  check(w, prev) {
    const bad: string[] = []
    const c = w.ctx
    const pending = c.pending.full || Object.keys(c.pending.upsert).length > 0 || Object.keys(c.pending.remove).length > 0
    if ((w.path === 'detached') !== (c.steward === null)) bad.push(`state ${w.path} with steward ${JSON.stringify(c.steward)}`)
    if ((w.path === 'sending') !== (c.sending !== null)) bad.push(`state ${w.path} with sending ${JSON.stringify(c.sending)}`)
    if (w.path === 'idle' && pending) bad.push('idle with changes pending')
    const forwards = sendsOf(w, 'endpoints.update')
    if (forwards.length > 1) bad.push(`${forwards.length} forwards in one step`)
    if (forwards.length === 1 && (w.path !== 'sending' || forwards[0]!.event.id !== c.sending?.id)) bad.push('a forward that is not the one on its way')
    if (forwards.length === 1 && prev?.path === 'sending' && prev.ctx.sending.id === c.sending.id) bad.push('a second forward while one was on its way')
    for (const f of forwards) if (f.to !== `grpc://${c.steward.address}/steward` || f.event.term !== c.steward.term) bad.push(`a forward to ${f.to} under term ${f.event.term}, not the steward's`)
    // What is registered here is what was persisted.
    const stored = Object.keys(w.store).filter((k) => k.startsWith('local')).map((k) => k.slice('local'.length)).sort()
    if (JSON.stringify(stored) !== JSON.stringify(Object.keys(c.local).sort())) bad.push(`persisted ${stored} ≠ local ${Object.keys(c.local)}`)
    // A catalog never goes back to an older (term, version); a raised term is the one forwards go under.
    const was = prev?.ctx.catalog
    if (was !== undefined && (c.catalog.term < was.term || (c.catalog.term === was.term && c.catalog.version < was.version))) bad.push(`catalog went back (${was.term}, ${was.version}) → (${c.catalog.term}, ${c.catalog.version})`)
    if (c.steward !== null && c.catalog.term > c.steward.term && sendsOf(w, 'reeve.behind').length === 0 && w.event?.type === 'catalog.push' && w.event.term === c.steward.term) bad.push('a push of a term below the catalog, not told to the follower')
    for (const r of sendsOf(w, 'reeve.raised')) if (r.event.term !== c.steward?.term || r.event.term !== c.catalog.term) bad.push('raised to a term not the steward’s and catalog’s')
    // The flock's node list changes what is served, never the catalog or what is to be forwarded; a
    // watcher is told of exactly the endpoints whose node left or came back.
    if (w.event?.type === 'reeve.members' && prev !== null) {
      if (JSON.stringify([c.catalog, c.pending, c.sending]) !== JSON.stringify([prev.ctx.catalog, prev.ctx.pending, prev.ctx.sending])) bad.push('a node list changed the catalog or the forwards')
      const was = prev.ctx.listed?.n2 === true || prev.ctx.listed === null
      const is = c.listed?.n2 === true || c.listed === null
      const deltas = sendsOf(w, 'catalog.delta')
      const expected = was !== is && c.catalog.endpoints[N2.nodeId] !== undefined ? Object.keys(c.watchers).length : 0
      if (deltas.length !== expected) bad.push(`${deltas.length} deltas for a node list change, ${expected} owed`)
      for (const d of deltas) if (JSON.stringify(is ? (d.event.endpoints as CatalogEndpoint[]).map((e) => e.nodeId) : d.event.removed) !== JSON.stringify([N2.nodeId])) bad.push(`a delta ${JSON.stringify(d.event)} not of n2`)
    }
    // Only the steward's key may change the catalog.
    if (w.event?.type === 'catalog.push' && w.event.caller !== c.steward?.keyId && JSON.stringify(c.catalog) !== JSON.stringify(prev?.ctx.catalog)) bad.push('a push from another key was taken')
    return bad
  },
  key(w) {
    const c = w.ctx
    return JSON.stringify([w.path, c.steward?.term ?? null, c.listed === null ? null : Object.keys(c.listed).sort(), c.pending.full, Object.keys(c.pending.upsert).length > 0, Object.keys(c.pending.remove).length > 0, Object.keys(c.local).sort(), c.sending?.full ?? null, c.callback !== null, Object.keys(c.watchers).length > 0])
  },
}

// ---------------------------------------------------------------- the steward

const reeveId = (n: string) => `/b/h1/${n}/Reeve/Reeve1`
const sep = (n: string, svc = 'Pastiche'): CatalogEndpoint => ({ nodeId: `/b/h1/${n}/${svc}/${svc}1`, netId: '', horde: 'h1', api: `${svc}1`, instance: n, address: `${n}:5000`, state: 'up', keyId: '' })
const upd = (n: string, term: number, full: boolean, upsert: CatalogEndpoint[], now: number, caller = `/Reeve1_0/${n}/keys/${FP}`) =>
  call('endpoints.update', caller, { term, update: { reeve: reeveId(n), address: `${n}:50059`, horde: 'h1', full, upsert, remove: [] } }, now)

const stewardSpec: Spec = {
  logic: stewardLogic,
  input: { node: 'st', batchMs: 50, now: 0 },
  stepMs: 100,
  alphabet: ['lead', 'lead-again', 'raise', 'retire', 'n1-full', 'n1-delta', 'n2-full', 'n2-delta', 'old-term', 'bad-caller', 'members-all', 'members-no-n2', 'pushed', 'push-failed', 'timer.push'],
  concrete(e, w, now) {
    const c = w.ctx
    const inflight = Object.keys(c.pushes).map(Number).sort((a, b) => a - b)[0]
    const slot = inflight === undefined ? undefined : c.reeves[c.pushes[String(inflight)]]
    switch (e) {
      case 'lead':
        return { type: 'steward.lead', term: 10, now }
      case 'lead-again':
        return { type: 'steward.lead', term: 20, now }
      case 'raise':
        return { type: 'steward.raise', term: 30, now }
      case 'retire':
        return { type: 'steward.retire', now }
      case 'n1-full':
        return upd('n1', c.term, true, [sep('n1')], now)
      case 'n1-delta':
        return upd('n1', c.term, false, [sep('n1', 'Dean')], now)
      case 'n2-full':
        return upd('n2', c.term, true, [sep('n2')], now)
      case 'n2-delta':
        return upd('n2', c.term, false, [sep('n2', 'Dean')], now)
      case 'old-term':
        return upd('n1', c.term - 1, true, [], now)
      case 'bad-caller':
        return upd('n1', c.term, true, [sep('n1')], now, `/Reeve1_0/n2/keys/${FP}`)
      case 'members-all':
        return { type: 'steward.members', members: [{ node: 'n1', host: 'n1' }, { node: 'n2', host: 'n2' }], now }
      case 'members-no-n2':
        return { type: 'steward.members', members: [{ node: 'n1', host: 'n1' }], now }
      case 'pushed':
        return { type: 'catalog.pushed', id: inflight ?? 0, version: slot?.inflight?.version ?? 0, now }
      case 'push-failed':
        return { type: 'call.failed', id: inflight ?? 0, request: 'catalog.push', code: 'UNAVAILABLE', message: 'x', now }
      default:
        return { type: 'timer.fired', name: 'push', now }
    }
  },
  check(w, prev) {
    const bad: string[] = []
    const c = w.ctx
    if ((w.path === 'idle') !== (c.term === 0)) bad.push(`state ${w.path} with term ${c.term}`)
    if (w.path === 'idle' && Object.keys(c.endpoints).length > 0) bad.push('an idle steward holds endpoints')
    for (const [id, e] of Object.entries(c.endpoints) as Array<[string, { reeve: string }]>) {
      const slot = c.reeves[e.reeve]
      if (slot === undefined || slot.retired) bad.push(`endpoint ${id} of a ${slot === undefined ? 'unknown' : 'retired'} reeve`)
      if (slot !== undefined && c.members !== null && c.members[slot.node] === undefined) bad.push(`endpoint ${id} of a node the flock does not list`)
    }
    for (const [reeve, slot] of Object.entries(c.reeves) as Array<[string, { inflight: { id: number } | null }]>) {
      if (slot.inflight !== null && c.pushes[String(slot.inflight.id)] !== reeve) bad.push(`${reeve}'s push ${slot.inflight.id} is not on record`)
    }
    if (Object.keys(c.pushes).length !== Object.values(c.reeves).filter((s: any) => s.inflight !== null).length) bad.push('pushes on record ≠ pushes on their way')
    // One push at a time per reeve.
    const to = sendsOf(w, 'catalog.push').map((s) => s.to)
    if (new Set(to).size !== to.length) bad.push(`two pushes to one reeve in a step: ${to}`)
    for (const s of sendsOf(w, 'catalog.push')) if (s.event.term !== c.term) bad.push('a push under another term')
    // Within a term the version only grows; an update of another term is never taken.
    if (prev !== null && prev.ctx.term === c.term && c.version < prev.ctx.version) bad.push(`version went back ${prev.ctx.version} → ${c.version}`)
    if (w.event?.type === 'endpoints.update' && w.event.term !== prev?.ctx.term && sendsOf(w, 'endpoints.updated').length > 0) bad.push('an update of another term was taken')
    for (const s of sendsOf(w, 'endpoints.updated')) if (s.event.term !== c.term) bad.push('answered under another term')
    // A raise keeps the catalog, and owes every reeve the whole of it.
    if (w.event?.type === 'steward.raise' && prev !== null && prev.path === 'active' && c.term > prev.ctx.term) {
      if (JSON.stringify(c.endpoints) !== JSON.stringify(prev.ctx.endpoints)) bad.push('a raise changed the catalog')
      for (const [r, slot] of Object.entries(c.reeves) as Array<[string, { version: number; queue: unknown[] }]>) if (slot.version !== -1 || slot.queue.length > 0) bad.push(`${r} not owed the whole catalog after a raise`)
    }
    if (w.event?.type === 'steward.raise' && prev !== null && (prev.path !== 'active' || !(Number(w.event.term) > prev.ctx.term)) && c.term !== prev.ctx.term) bad.push('a raise taken while idle or not higher')
    return bad
  },
  key(w) {
    const c = w.ctx
    const reeves = Object.keys(c.reeves).sort().map((r) => { const s = c.reeves[r]; return [r.split('/')[3], s.retired, s.owed, s.inflight !== null, s.queue.length, s.version === -1] })
    return JSON.stringify([w.path, c.term, Object.keys(c.endpoints).sort(), reeves, c.dirty, c.members === null ? null : Object.keys(c.members).sort()])
  },
}

// ---------------------------------------------------------------- the heartbeater

const H_KEY = R_KEY
const hnode = (u: string) => `/b/h1/r1/S${u}/S${u}1`
const beat = (uuid: string, state: 'up' | 'down') => ({ uuid, state, netId: '', atMs: 0, expiresMs: 2_500, various: '' })

const heartbeaterSpec: Spec = {
  logic: heartbeaterLogic,
  input: { node: 'r1', keyId: H_KEY, kept: [{ uuid: 'r', nodeId: hnode('r'), holdMs: 1_500 }], now: 0 },
  stepMs: 1_000,
  alphabet: ['keep-a', 'keep-b', 'keep-a2', 'unkeep-a', 'unkeep-a-but-a2', 'beats-a', 'beats-down-a', 'beats-unknown', 'beats-foreign', 'timer.sweep'],
  concrete(e, _w, now) {
    switch (e) {
      case 'keep-a':
        return { type: 'heartbeat.keep', uuid: 'a', nodeId: hnode('a'), holdMs: 2_500, now }
      case 'keep-b':
        return { type: 'heartbeat.keep', uuid: 'b', nodeId: hnode('b'), holdMs: 1_000, now }
      case 'keep-a2':
        return { type: 'heartbeat.keep', uuid: 'a2', nodeId: hnode('a'), holdMs: 2_500, now }
      case 'unkeep-a':
        return { type: 'heartbeat.unkeep', nodeId: hnode('a'), now }
      case 'unkeep-a-but-a2':
        return { type: 'heartbeat.unkeep', nodeId: hnode('a'), but: 'a2', now }
      case 'beats-a':
        return call('heartbeat.beats', H_KEY, { beats: [beat('a', 'up'), beat('r', 'up')] }, now)
      case 'beats-down-a':
        return call('heartbeat.beats', H_KEY, { beats: [beat('a', 'down')] }, now)
      case 'beats-unknown':
        return call('heartbeat.beats', H_KEY, { beats: [beat('a', 'up'), beat('zz', 'up')] }, now)
      case 'beats-foreign':
        return call('heartbeat.beats', S_KEY('x'), { beats: [beat('a', 'up')] }, now)
      default:
        return { type: 'timer.fired', name: 'sweep', now }
    }
  },
  check(w, prev) {
    const bad: string[] = []
    const c = w.ctx
    const services = Object.values(c.services) as Array<{ uuid: string; nodeId: string; state: string; until: number }>
    const ups = services.filter((s) => s.state === 'up').map((s) => s.until)
    const earliest = ups.length === 0 ? null : Math.min(...ups)
    if (c.armedFor !== earliest) bad.push(`sweep armed for ${c.armedFor}, earliest lapse ${earliest}`)
    // What is kept is what was persisted (the restored one was persisted before the restart).
    const stored = Object.keys(w.store).map((k) => k.slice('beat/'.length))
    const kept = services.map((s) => s.uuid).filter((u) => u !== 'r' || w.store['beat/r'] !== undefined)
    if (JSON.stringify(stored.sort()) !== JSON.stringify(kept.sort())) bad.push(`persisted ${stored} ≠ kept ${kept}`)
    // A refused batch of beats changes nothing.
    if (w.out.some((e) => e.type === 'send' && e.event.type === 'call.refused') && JSON.stringify(c.services) !== JSON.stringify(prev?.ctx.services)) bad.push('a refused batch changed what is kept')
    // Every change of state is told to the reeve, as a send.
    for (const s of services) {
      const was = prev?.ctx.services[s.uuid]
      if (was !== undefined && was.state !== s.state && !sendsOf(w, 'service.state').some((m) => m.event.nodeId === s.nodeId && m.event.state === s.state && m.to === 'r1/reeve')) bad.push(`${s.uuid} went ${s.state} untold`)
    }
    return bad
  },
  key(w) {
    const c = w.ctx
    return JSON.stringify([Object.values(c.services).map((s: any) => [s.uuid, s.state, s.until - w.now]).sort(), Object.keys(w.store).sort()])
  },
}

// ---------------------------------------------------------------- the walks

const cases: Array<[string, Spec, number, number, string[]]> = [
  ['reeve', reeveSpec, 8, 3, ['backoff', 'detached', 'holding', 'idle', 'sending']],
  ['steward', stewardSpec, 8, 4, ['active', 'idle']],
  ['heartbeater', heartbeaterSpec, 6, 4, ['watching']],
]

for (const [name, spec, graphDepth, exhaustiveDepth, states] of cases) {
  test.serial(`${name}: graph walk — every abstract state within ${graphDepth} steps holds the invariants and replays on a live actor`, (t) => {
    const w = walker(spec)
    const started = performance.now()
    const g = w.graph(graphDepth)
    t.deepEqual(w.violations, [])
    t.deepEqual(g.replayMismatches, [])
    t.deepEqual(Object.keys(g.perState).sort(), states, 'every state of the chart is reached')
    t.log(`${g.vertices} abstract states, ${g.edges} transitions, ${w.steps()} machine steps in ${((performance.now() - started) / 1000).toFixed(2)} s; per state ${JSON.stringify(g.perState)}`)
  })

  test.serial(`${name}: exhaustive walk — every sequence of up to ${exhaustiveDepth} events holds the invariants`, (t) => {
    const w = walker(spec)
    const sequences = w.exhaustive(exhaustiveDepth)
    t.deepEqual(w.violations, [])
    const n = spec.alphabet.length
    t.is(sequences, (n ** (exhaustiveDepth + 1) - 1) / (n - 1))
    t.log(`${sequences} sequences, ${w.steps()} machine steps`)
  })
}
