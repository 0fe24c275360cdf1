/**
 * Model-based tests of the flock machine (machines/flock.machine.ts), bounded.
 *
 * The world: our node `me` and three peers with fixed ids and addresses, an alphabet of abstract
 * events (packets from the peers, timers, admin reboot, leave), each turned into a concrete event for
 * the node's current context, and a clock that advances one heartbeat (500 ms) per step. From the
 * start state we explore
 *
 * - with @xstate/graph (getAdjacencyMap, breadth-first): every abstract state reachable within
 *   GRAPH_DEPTH steps, an abstract state being the state value plus leader id, flock name (ours /
 *   a peer's), memCount, vote === VOTE_MAX, rebootUntil !== null, lvote === VOTE_MAX and list size
 *   (`keyOf`); each is kept with the first concrete world that reached it, whose event path is then
 *   replayed on a fresh live actor and must end in exactly the same state and context. (Not
 *   getShortestPaths: with a lossy serializeState it reports, as a path's end state, the *last*
 *   concrete world met with that key, which need not be where the path's events lead.)
 * - exhaustively, by our own depth-first walk: every event sequence up to EXHAUSTIVE_DEPTH steps.
 *
 * Every step of both walks checks the invariants in `check` below.
 *
 * Why not @xstate/graph on `flockLogic` directly: the graph utilities step machines with a mock actor
 * scope whose action executor does nothing, and the flock machine (a) mutates its context in place
 * (so a stored snapshot would change under the walk) and (b) routes with eventless transitions whose
 * guards read `context.at`, which only the states' entry actions keep current: custom actions that
 * run in a real actor but not in XState's pure `transition()`. So the graph walks a small
 * `fromTransition` logic over a *world* value, and each step of the world restores the flock machine
 * from a deep-cloned persisted snapshot into a real XState actor (exactly as runtime/actor-cell.ts
 * runs it: no clock, effects collected from `emit`) and sends it one event.
 */
import test from 'ava'
import { getAdjacencyMap } from '@xstate/graph'
import { createActor, fromTransition, type AnyActorRef } from 'xstate'
import { EFFECT_TYPES, type Effect, type SendEffect } from '../../machines/effects.js'
import type { FlockEvent } from '../../machines/flock/events.js'
import { VOTE_MAX } from '../../machines/flock/constants.js'
import { digestOf, emptyList, entryOf, listPut } from '../../machines/flock/member-list.js'
import type { FlockConfig, FlockContext, FlockInput, Info, InfoKind, ListChunk, NodeId } from '../../machines/flock/types.js'
import { flockLogic, roleOf } from '../../machines/flock.machine.js'

// ---- the abstract world ----

/** One step of the model is one heartbeat. */
const HB = 500
/** Promotion after 2 HB (default 6) so that `leader.stable` is within reach of the bound. */
const CONFIG: Partial<FlockConfig> = { hbMs: HB, stableLeaderHb: 2 }
const GRAPH_DEPTH = 10
const EXHAUSTIVE_DEPTH = 4

const ME: NodeId = { id: 'me', addr: 'n0', horde: '' }
/** Leads the bigger-named flocks; the better leader P2 reports following. Its id sorts above ours. */
const P1: NodeId = { id: 'p1', addr: 'n1', horde: '' }
/** A peer in our flock (prober, stable leader, member); its id sorts below ours. */
const P2: NodeId = { id: 'k2', addr: 'n2', horde: '' }
/** Wants us as its leader. */
const P3: NodeId = { id: 'q3', addr: 'n3', horde: '' }

const INPUT: FlockInput & { now: number } = {
  self: { addr: ME.addr, id: ME.id },
  config: CONFIG,
  probe: { seeds: [P1.addr, P2.addr, P3.addr], ranges: [], density: 1 },
  seed: 'flock-model',
  now: 0,
}

/** Peer flock names, all above our own `_xxx_yyy` names ('_' < 'x'); a bigger-flock packet uses the first above ours. */
const BIG_FLOCKS = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9']
/** Below every generated name. */
const SMALL_FLOCK = '!small'

const EVENT_TYPES = [
  'bigger', // P1, leading the next bigger-named flock with a strong vote: we join and follow it
  'bigger-weak', // P1, leading a bigger-named flock with vote 1: we join and lead inside it
  'smaller', // P2 from a smaller-named flock: we ping it back
  'higher-vote', // P2 in our flock, a stable leader of itself (vote = lvote = VOTE_MAX)
  'check-in', // our leader's leader-beat, listing {leader, us} at version 2 (our own packet when we lead)
  'leader-moved', // our leader reports following another (P2, or P1 when P2 is our leader)
  'list-chunk', // that list from our leader, as one full chunk
  'member-beat', // P3 beats to us, naming us its leader
  'member-beat-2', // P2 beats to us, naming us its leader
  'better-leader', // P2 reports following P1 with an lvote one above ours
  'better-leader-us', // P2 reports following us with an lvote one above ours
  'timer.hb',
  'timer.probe',
  'timer.prune',
  'timer.key',
  'timer.checkpoint',
  'timer.reboot',
  'admin.reboot',
  'leave',
] as const
type AbstractEvent = { type: (typeof EVENT_TYPES)[number] }
const ALPHABET: AbstractEvent[] = EVENT_TYPES.map((type) => ({ type }))

type Ctx = FlockContext & { at: string; lastRule: string }

/** The world after some steps: the flock actor's persisted snapshot and what the last step did. */
interface World {
  persisted: { status: string; value: unknown; context: Ctx }
  /** State path: `leader.alone`, `rebooting`, `left`. */
  path: string
  ctx: Ctx
  done: boolean
  error: string | null
  out: Effect[]
  now: number
  trace: AbstractEvent['type'][]
}

function pathOf(value: unknown): string {
  if (typeof value === 'string') return value
  const [k, v] = Object.entries(value as Record<string, unknown>)[0]!
  return `${k}.${pathOf(v)}`
}

function packet(ctx: Ctx, now: number, kind: InfoKind, from: NodeId, fields: Partial<Info>): FlockEvent {
  const info: Info = {
    kind,
    flock: ctx.flock,
    dest: ME,
    me: from,
    leader: from,
    lvote: ctx.lvote,
    vote: ctx.lvote,
    sent: now,
    epoch: '',
    steward: '',
    registry: '',
    yurt: '',
    beacon: '',
    listVersion: 0,
    listDigest: '',
    n: 0,
    ...fields,
  }
  return { type: 'info', info, now }
}

/** The list our leader `leader` holds in the model: itself and us, version 2. */
function leaderList(leader: NodeId) {
  const list = emptyList()
  listPut(list, entryOf(leader))
  listPut(list, entryOf(ME))
  list.version = 2
  return { entries: Object.values(list.entries).sort((a, b) => (a.id < b.id ? -1 : 1)), version: 2, digest: digestOf(list), size: list.size }
}

/** The concrete event for `e` in context `ctx` at time `now`. */
function concrete(e: AbstractEvent['type'], ctx: Ctx, now: number): FlockEvent {
  const above = Math.min(ctx.lvote + 1, VOTE_MAX)
  switch (e) {
    case 'bigger':
    case 'bigger-weak': {
      const flock = BIG_FLOCKS.find((f) => f > ctx.flock) ?? `${ctx.flock}~`
      const vote = e === 'bigger' ? VOTE_MAX - 1 : 1
      return packet(ctx, now, 'probe', P1, { flock, vote, lvote: vote, epoch: '3-00000000000000a1' })
    }
    case 'smaller':
      return packet(ctx, now, 'probe', P2, { flock: SMALL_FLOCK, vote: 10, lvote: 10 })
    case 'higher-vote':
      return packet(ctx, now, 'probe', P2, { vote: VOTE_MAX, lvote: VOTE_MAX, epoch: '2-00000000000000b2' })
    case 'check-in': {
      const l = leaderList(ctx.leader)
      return packet(ctx, now, 'leader-beat', ctx.leader, { listVersion: l.version, listDigest: l.digest, n: l.size, epoch: ctx.epoch })
    }
    case 'leader-moved': {
      const other = ctx.leader.id === P2.id ? P1 : P2
      return packet(ctx, now, 'ping', ctx.leader, { leader: other, vote: 1, lvote: Math.min(ctx.lvote + 1, VOTE_MAX) })
    }
    case 'list-chunk': {
      const l = leaderList(ctx.leader)
      const chunk: ListChunk = { flock: ctx.flock, leader: ctx.leader, version: l.version, digest: l.digest, full: true, since: 0, index: 0, count: 1, added: l.entries, removed: [] }
      return { type: 'list.chunk', chunk, now }
    }
    case 'member-beat':
      return packet(ctx, now, 'beat', P3, { leader: ME, vote: 1 })
    case 'member-beat-2':
      return packet(ctx, now, 'beat', P2, { leader: ME, vote: 1 })
    case 'better-leader':
      return packet(ctx, now, 'ping', P2, { leader: P1, vote: 1, lvote: above })
    case 'better-leader-us':
      return packet(ctx, now, 'ping', P2, { leader: ME, vote: 1, lvote: above })
    case 'timer.hb':
    case 'timer.probe':
    case 'timer.prune':
    case 'timer.key':
    case 'timer.checkpoint':
    case 'timer.reboot':
      return { type: 'timer.fired', name: e.slice('timer.'.length), now }
    case 'admin.reboot':
      return { type: 'admin.reboot', now }
    case 'leave':
      return { type: 'leave', now }
  }
}

// ---- running the real machine ----

const noClock = {
  setTimeout(): never {
    throw new Error('the flock machine must not use delayed events')
  },
  clearTimeout(): void {},
}

/** A started actor (from `snapshot`, or fresh) with its emitted effects and failure collected, as in runtime/actor-cell.ts. */
function startActor(snapshot?: unknown): { actor: AnyActorRef; out: Effect[]; failure: () => string | null } {
  const actor: AnyActorRef =
    snapshot === undefined ? createActor(flockLogic, { input: INPUT, clock: noClock as never }) : createActor(flockLogic, { snapshot: snapshot as never, input: INPUT, clock: noClock as never })
  const out: Effect[] = []
  let failure: string | null = null
  actor.on('*', (e: unknown) => out.push(e as Effect))
  actor.subscribe({ error: (err: unknown) => (failure = err instanceof Error ? err.message : String(err)) })
  actor.start()
  return { actor, out, failure: () => failure ?? (actor.getSnapshot().status === 'error' ? String(actor.getSnapshot().error) : null) }
}

function worldOf(actor: AnyActorRef, out: Effect[], error: string | null, now: number, trace: World['trace']): World {
  const persisted = actor.getPersistedSnapshot() as unknown as World['persisted']
  return { persisted, path: pathOf(persisted.value), ctx: persisted.context, done: persisted.status === 'done', error, out, now, trace }
}

let steps = 0
const violations: string[] = []

function initial(): World {
  const { actor, out, failure } = startActor()
  const w = worldOf(actor, out, failure(), 0, [])
  actor.stop()
  record(w)
  return w
}

function step(w: World, e: AbstractEvent): World {
  const now = w.now + HB
  const trace = [...w.trace, e.type]
  // A failed or finished machine takes no more events (the host drops them).
  if (w.done || w.error !== null) return { ...w, out: [], now, trace }
  steps++
  const { actor, out, failure } = startActor(structuredClone(w.persisted))
  let error: string | null = null
  try {
    actor.send(concrete(e.type, w.ctx, now))
    error = failure()
  } catch (err) {
    error = `threw: ${err instanceof Error ? err.message : String(err)}`
  }
  const next = worldOf(actor, out, error, now, trace)
  actor.stop()
  record(next)
  return next
}

/** The invariants every reached state satisfies; returns what is broken. */
function check(w: World): string[] {
  const bad: string[] = []
  const c = w.ctx
  const p = w.path
  if (w.error !== null) return [`the machine failed: ${w.error}`]
  if (c.at !== p) bad.push(`context.at ${c.at} ≠ state ${p}`)
  if (p !== 'left' && roleOf(c) !== p) bad.push(`state ${p} ≠ roleOf(context) ${roleOf(c)}`)
  if (p === 'left' && !w.done) bad.push('left but the machine is not done')
  const leading = c.leader.id === c.me.id
  if (p.startsWith('leader.') !== (leading && p !== 'rebooting' && p !== 'left')) bad.push(`state ${p} but leader ${c.leader.id}`)
  if (p.startsWith('leader.')) {
    if (c.list.entries[c.me.id] === undefined) bad.push("a leader's list lacks the leader")
    if (c.list.size !== c.memCount + 1) bad.push(`a leader's list.size ${c.list.size} ≠ memCount ${c.memCount} + 1`)
  }
  const mems = Object.keys(c.mems).length
  const byAddr = Object.keys(c.memByAddr).length
  if (c.memCount !== mems || c.memCount !== byAddr) bad.push(`memCount ${c.memCount}, mems ${mems}, memByAddr ${byAddr}`)
  if (Object.keys(c.list.entries).length !== c.list.size) bad.push(`list.size ${c.list.size} ≠ ${Object.keys(c.list.entries).length} entries`)
  if (p !== 'left' && (p === 'rebooting') !== (c.rebootUntil !== null)) bad.push(`state ${p} but rebootUntil ${c.rebootUntil}`)
  for (const e of w.out) {
    if (!EFFECT_TYPES.has(e.type)) bad.push(`effect of unknown type ${JSON.stringify(e.type)}`)
    else if (e.type === 'send' && (typeof e.to !== 'string' || e.to === '' || e.to === c.me.addr)) bad.push(`send to ${JSON.stringify(e.to)}`)
    else if (e.type === 'timer.set' && !(Number.isFinite(e.ms) && e.ms > 0)) bad.push(`timer ${e.name} set to ${e.ms} ms`)
  }
  return bad
}

function record(w: World): void {
  const bad = check(w)
  if (bad.length > 0 && violations.length < 20) violations.push(`[${w.trace.join(', ')}] → ${w.path}: ${bad.join('; ')}`)
}

// ---- abstraction ----

/** Our own flock names (`_xxx_yyy`, random) are one class; peer flock names are kept. */
function flockClass(flock: string): string {
  return flock.startsWith('_') ? 'own' : flock
}

/**
 * The abstract state, what the graph walk treats as one vertex: the state value, leader id, flock
 * name, memCount, vote === VOTE_MAX, rebootUntil !== null, and also lvote === VOTE_MAX and the list
 * size (which tell a member following a stable leader with its list from one that is not). A failed
 * machine is its own class; every `left` world is one vertex (it takes no more events).
 */
function keyOf(w: World): string {
  if (w.error !== null) return JSON.stringify(['failed', w.error])
  if (w.done) return JSON.stringify([w.path])
  const c = w.ctx
  return JSON.stringify([w.path, c.leader.id, flockClass(c.flock), c.memCount, c.vote === VOTE_MAX, c.rebootUntil !== null, c.lvote === VOTE_MAX, c.list.size])
}

const worldLogic = fromTransition((w: World, e: AbstractEvent) => step(w, e), () => initial())

// ---- tests ----

test.serial('graph walk: every abstract state within the bound holds the invariants, and replays on a live actor', (t) => {
  const before = steps
  const started = performance.now()
  // Breadth-first, so each abstract state is first met (and kept, with the concrete world that reached
  // it) at its least depth; states at the bound are not expanded.
  const adjacency = getAdjacencyMap(worldLogic, {
    events: ALPHABET,
    serializeState: (s) => keyOf(s.context),
    stopWhen: (s) => s.context.trace.length >= GRAPH_DEPTH || s.context.done || s.context.error !== null,
  })
  const explored = steps - before
  const vertices = Object.values(adjacency)
  const edges = vertices.reduce((n, v) => n + Object.keys(v.transitions).length, 0)
  t.deepEqual(violations, [])

  // Replay each abstract state's path on one live actor, checking the invariants after every step:
  // the restore-per-step harness must not differ from an actor that runs the whole path.
  const reached = new Map<string, number>()
  for (const { state } of vertices) {
    const end = state.context
    const { actor, out, failure } = startActor()
    let w: World = worldOf(actor, out.splice(0), failure(), 0, [])
    for (const e of end.trace) {
      if (w.done || w.error !== null) break
      const now = w.now + HB
      actor.send(concrete(e, actor.getSnapshot().context as Ctx, now))
      w = worldOf(actor, out.splice(0), failure(), now, [...w.trace, e])
      record(w)
    }
    t.is(w.error, end.error, `[${end.trace.join(', ')}]`)
    t.is(w.path, end.path, `[${end.trace.join(', ')}]`)
    t.is(JSON.stringify(w.ctx), JSON.stringify(end.ctx), `[${end.trace.join(', ')}]`)
    actor.stop()
    reached.set(end.path, (reached.get(end.path) ?? 0) + 1)
  }
  t.deepEqual(violations, [])
  // Every state of the chart is reached within the bound.
  t.deepEqual([...reached.keys()].sort(), ['leader.alone', 'leader.forming', 'leader.stable', 'left', 'member.following', 'member.syncing', 'rebooting'])
  const depths = vertices.map((v) => v.state.context.trace.length)
  t.log(
    `${vertices.length} abstract states (one path each, longest ${Math.max(...depths)} steps) and ${edges} transitions within ${GRAPH_DEPTH} steps over ${ALPHABET.length} events; ` +
      `${explored} machine steps checked in ${((performance.now() - started) / 1000).toFixed(2)} s; abstract states per chart state: ${JSON.stringify(Object.fromEntries([...reached].sort()))}`,
  )
})

test.serial(`exhaustive walk: every sequence of up to ${EXHAUSTIVE_DEPTH} events holds the invariants`, (t) => {
  const before = steps
  const started = performance.now()
  let sequences = 0
  const walk = (w: World, depth: number): void => {
    sequences++
    if (depth === EXHAUSTIVE_DEPTH) return
    for (const e of ALPHABET) walk(step(w, e), depth + 1)
  }
  walk(initial(), 0)
  t.deepEqual(violations, [])
  t.is(sequences, (ALPHABET.length ** (EXHAUSTIVE_DEPTH + 1) - 1) / (ALPHABET.length - 1))
  t.log(`${sequences} sequences (${ALPHABET.length} events, lengths 0–${EXHAUSTIVE_DEPTH}), ${steps - before} machine steps checked in ${((performance.now() - started) / 1000).toFixed(2)} s`)
})

// ---- regressions ----

test('a stable leader that yields to a higher leader id (rule 9) draws a normal vote again', (t) => {
  // member-beat: we lead P3 (leader.forming); timer.hb at 2 HB: promoted (leader.stable, vote = lvote =
  // VOTE_MAX); better-leader: P2 follows P1 with lvote VOTE_MAX → rule 9, 'p1' > 'me', we follow P1.
  // Like rules 6 and 10 for a promoted node that stops leading, rule 9 must re-draw our vote: a member
  // keeping VOTE_MAX would outvote its leader (rule 10) at every node whose lvote is below VOTE_MAX.
  let w = initial()
  for (const type of ['member-beat', 'timer.hb', 'better-leader'] as const) w = step(w, { type })
  t.is(w.path, 'member.syncing')
  t.is(w.ctx.leader.id, P1.id)
  t.true(w.ctx.vote < VOTE_MAX, `a member of P1 with vote ${w.ctx.vote}`)
  w = step(w, { type: 'timer.hb' })
  const beat = w.out.find((e): e is SendEffect => e.type === 'send' && e.to === P1.addr)
  t.true(beat !== undefined && (beat.event.info as Info).vote < VOTE_MAX, `its beat to P1 carries vote ${(beat?.event.info as Info | undefined)?.vote}`)
})
