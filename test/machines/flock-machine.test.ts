/**
 * The flock machine as a statechart: an actor on a clock that throws if the machine ever asks for a
 * real timer, driven by host events with explicit `now`, its effects collected with `actor.on('*')`.
 * Asserts the state paths docs/PROTOCOL.md lists: leader.alone → leader.forming → leader.stable,
 * member.syncing → member.following, rebooting → leader.alone, left (final).
 */
import test from 'ava'
import { createActor, type AnyActorRef, type EventFrom } from 'xstate'
import type { Effect, HostEvent } from '../../machines/effects.js'
import type { FlockEvent, InfoEvent } from '../../machines/flock/events.js'
import { flockLogic } from '../../machines/flock.machine.js'
import { VOTE_MAX } from '../../machines/flock/constants.js'
import { answerListPull } from '../../machines/flock/list-sync.js'
import { digestOf } from '../../machines/flock/member-list.js'
import type { FlockContext, FlockInput, ListPull } from '../../machines/flock/types.js'
import {
  BIGGER,
  HB,
  info,
  infoSends,
  input,
  leaderWith,
  mon,
  monOps,
  node,
  persists,
  SELF,
  selfAs,
  sends,
  timers,
} from '../fixtures/flock-fixtures.js'

const noRealTimers = {
  setTimeout(): never {
    throw new Error('the flock machine must not use real timers')
  },
  clearTimeout(): void {},
}

interface Node {
  actor: AnyActorRef
  /** Every effect emitted so far. */
  effects: Effect[]
  /** Sends an event at `now`; returns the effects of that step. */
  send(ev: FlockEvent, now: number): Effect[]
  path(): string
  ctx(): FlockContext & { lastRule: string; at: string }
}

function spawn(over: Partial<FlockInput> = {}): Node {
  const effects: Effect[] = []
  const actor = createActor(flockLogic, { input: { ...input(over), now: 0 }, clock: noRealTimers })
  actor.on('*', (e) => effects.push(e as unknown as Effect))
  actor.start()
  return {
    actor,
    effects,
    send(ev, now) {
      const from = effects.length
      actor.send({ ...ev, now })
      return effects.slice(from)
    },
    path() {
      const v = actor.getSnapshot().value as string | Record<string, string>
      return typeof v === 'string' ? v : Object.entries(v).map(([k, s]) => `${k}.${s}`)[0]!
    },
    ctx: () => actor.getSnapshot().context,
  }
}

const L = node('L')
const info$ = (i: ReturnType<typeof info>): InfoEvent => ({ type: 'info', info: i })
const fire = (name: string): FlockEvent => ({ type: 'timer.fired', name })

/** A member's beat to the node under test (its leader). */
function beatFrom(n: Node, id: string, sent: number): InfoEvent {
  const c = n.ctx()
  return info$(info({ kind: 'beat', flock: c.flock, epoch: c.epoch, me: node(id), leader: c.me, vote: 1, lvote: c.lvote, sent }))
}

// ---- start ----

test('the machine declares its events: a packet with a wrong or missing field does not type-check', (t) => {
  type Taken = EventFrom<typeof flockLogic>
  // @ts-expect-error an info event carries `info`, not `packet`
  const wrong: Taken = { type: 'info', packet: {} }
  // @ts-expect-error a Confab query is answered to `from`, so it must carry it
  const anonymous: Taken = { type: 'confab.query', query: { nonce: 1, ask: 'names', introduce: '', time: 0, target: '', page: 0, pad: 0 } }
  // @ts-expect-error no event of this type reaches the flock
  const unknown: Taken = { type: 'endpoints.update' }
  const right: Taken = { type: 'timer.fired', name: 'hb', now: 1 }
  t.deepEqual([wrong.type, anonymous.type, unknown.type, right.type], ['info', 'confab.query', 'endpoints.update', 'timer.fired'])
})

test('start: leader.alone, leading a fresh flock of one', (t) => {
  const n = spawn()
  t.is(n.path(), 'leader.alone')
  const c = n.ctx()
  t.is(c.lastRule, 'start')
  t.deepEqual(c.leader, c.me)
  t.regex(c.flock, /^_\w+_\w+$/)
  t.true(c.vote >= 1 && c.vote < VOTE_MAX)
  t.is(c.promotedAt, 0)
})

test('start: arms every timer (hb and probe with a random first phase), LeaderStart, Epoch, checkpoint', (t) => {
  const n = spawn()
  const ts = timers(n.effects)
  t.deepEqual(
    ts.map((x) => x.name),
    ['prune', 'hb', 'probe', 'checkpoint', 'key'], // prune is armed by leading (start-over), before the phases
  )
  t.true(ts[0]!.ms >= 1 && ts[0]!.ms <= HB)
  t.true(ts[1]!.ms >= 1 && ts[1]!.ms <= 3 * HB)
  t.like(mon(n.effects, 'LeaderStart'), { cause: 'start', n: 0, t: 0 })
  t.is(n.effects.filter((e) => e.type === 'emit' && e.record.type === 'Epoch').length, 1)
  t.is(persists(n.effects).length, 1)
})

test('start: the same seed gives the same node (deterministic)', (t) => {
  const a = spawn({ seed: 7 })
  const b = spawn({ seed: 7 })
  t.deepEqual(a.effects, b.effects)
  t.is(a.ctx().flock, b.ctx().flock)
})

// ---- leader path ----

test('leader.alone → leader.forming on the first member beat (in a heartbeat batch)', (t) => {
  const n = spawn()
  n.send({ type: 'heartbeat.batch', beats: [beatFrom(n, 'a', 100)] }, 100)
  t.is(n.path(), 'leader.forming')
  t.is(n.ctx().lastRule, 'member-beat')
  t.is(n.ctx().memCount, 1)
})

test('heartbeat.batch: every beat in the batch is applied', (t) => {
  const n = spawn()
  n.send({ type: 'heartbeat.batch', beats: [beatFrom(n, 'a', 100), beatFrom(n, 'b', 100), beatFrom(n, 'c', 100)] }, 100)
  t.is(n.ctx().memCount, 3)
  t.is(n.ctx().list.size, 4)
})

test('leader.forming → leader.stable when promoted at 6 HB; leader-beats every HB', (t) => {
  const n = spawn()
  for (let k = 1; k <= 6; k++) {
    n.send({ type: 'heartbeat.batch', beats: [beatFrom(n, 'a', k * HB - 10)] }, k * HB - 10)
    const out = n.send(fire('hb'), k * HB)
    t.deepEqual(infoSends(out), [['addr-a', 'leader-beat']])
    t.deepEqual(timers(out), [{ name: 'hb', ms: HB }])
    t.is(n.path(), k < 6 ? 'leader.forming' : 'leader.stable', `at ${k} HB`)
  }
  t.is(n.ctx().vote, VOTE_MAX)
})

test('leader.stable → leader.alone when its last member is pruned', (t) => {
  const n = spawn()
  n.send(beatFrom(n, 'a', 10), 10)
  n.send(fire('hb'), 6 * HB)
  t.is(n.path(), 'leader.stable')
  n.send(fire('prune'), 20 * HB)
  t.is(n.ctx().lastRule, 'suspect-member')
  t.is(n.path(), 'leader.stable') // suspected (since it lapsed, at 2.25 HB), not yet removed
  const out = n.send(fire('prune'), 20.5 * HB) // silent far longer than any window: removed
  t.is(n.ctx().lastRule, 'suspicion-confirmed')
  t.is(n.path(), 'leader.alone')
  t.deepEqual(monOps(out), ['LeaderDelta'])
})

// ---- member path ----

/** Node `self` joins `~big` led by L (lvote VOTE_MAX beats any vote); returns the leader's context. */
function joinBig(n: Node): FlockContext {
  const ldr = leaderWith([SELF, 'a', 'b', 'c'], 0, { flock: BIGGER, vote: VOTE_MAX, lvote: VOTE_MAX, epoch: 'e7' }, { self: selfAs('L'), config: { hbMs: HB, listChunkBytes: 40 } })
  n.send(info$(info({ flock: BIGGER, me: node('p'), leader: L, lvote: VOTE_MAX, vote: 5, epoch: 'e7' })), 500)
  return ldr
}

/** A packet one node sent, as the other's bridge delivers it (the wire codec checks it there). */
const delivered = (ev: HostEvent): FlockEvent => ev as FlockEvent

function checkIn(ldr: FlockContext, sent: number): InfoEvent {
  return info$(
    info({ kind: 'leader-beat', flock: BIGGER, me: L, leader: L, vote: VOTE_MAX, lvote: VOTE_MAX, epoch: ldr.epoch, sent, listVersion: ldr.list.version, listDigest: digestOf(ldr.list) }),
  )
}

test('joining a bigger flock → member.syncing (the copy of the member list is empty)', (t) => {
  const n = spawn()
  const from = n.effects.length
  joinBig(n)
  const out = n.effects.slice(from)
  t.is(n.path(), 'member.syncing')
  t.is(n.ctx().lastRule, 'join-bigger-flock')
  t.deepEqual(n.ctx().leader, L)
  t.true(infoSends(out).some(([to, kind]) => to === 'addr-L' && kind === 'beat'))
})

test('member.syncing → member.following once every list chunk is in (chunks out of order)', (t) => {
  const n = spawn()
  const ldr = joinBig(n)
  const out = n.send(checkIn(ldr, 1000), 1000)
  t.is(n.ctx().lastRule, 'leader-check-in')
  const pull = sends(out).find((s) => s.event.type === 'list.pull')
  t.truthy(pull)
  t.is(pull!.to, 'addr-L')
  const answer: Effect[] = []
  t.true(answerListPull(ldr, pull!.event.pull as ListPull, answer))
  const chunks = sends(answer).map((s) => delivered(s.event))
  t.true(chunks.length >= 3)
  for (const c of chunks.slice(1)) {
    n.send(c, 1100)
    t.is(n.path(), 'member.syncing')
  }
  n.send(chunks[0]!, 1100)
  t.is(n.path(), 'member.following')
  t.is(n.ctx().lastRule, 'list-synced')
  t.deepEqual(n.ctx().list, ldr.list)
})

test('member.following: the next check-in with the same list sends no pull', (t) => {
  const n = spawn()
  const ldr = joinBig(n)
  const out = n.send(checkIn(ldr, 1000), 1000)
  const answer: Effect[] = []
  answerListPull(ldr, sends(out).find((s) => s.event.type === 'list.pull')!.event.pull as ListPull, answer)
  for (const s of sends(answer)) n.send(delivered(s.event), 1100)
  const again = n.send(checkIn(ldr, 2000), 2000)
  t.is(n.path(), 'member.following')
  t.deepEqual(
    sends(again).filter((s) => s.event.type === 'list.pull'),
    [],
  )
})

test('member: hb beats to the leader; a silent leader → start over → leader.alone', (t) => {
  const n = spawn()
  joinBig(n)
  const beat = n.send(fire('hb'), 1000)
  t.deepEqual(infoSends(beat), [['addr-L', 'beat']])
  t.is(n.ctx().lastRule, 'beat')
  // Joined at 500: no check-in for 3 HB → suspected; past 4 HB and a window (3 HB: a new node
  // assumes 10 % loss) later → given up.
  n.send(fire('hb'), 500 + 3 * HB + 1)
  t.is(n.ctx().lastRule, 'suspect-leader')
  n.send(fire('hb'), 500 + 5 * HB + 1)
  t.is(n.ctx().lastRule, 'suspect-leader')
  const out = n.send(fire('hb'), 500 + 6 * HB + 1)
  t.is(n.ctx().lastRule, 'leader-expired')
  t.is(n.path(), 'leader.alone')
  t.like(mon(out, 'LeaderStart'), { oflock: BIGGER, cause: 'leader-expired' })
  t.deepEqual(infoSends(out), [['addr-L', 'ping']])
})

test('a list.pull from a non-member is ignored', (t) => {
  const n = spawn()
  const out = n.send({ type: 'list.pull', pull: { flock: n.ctx().flock, me: node('stranger'), since: 0 } }, 10)
  t.is(n.ctx().lastRule, 'list-pull-ignored')
  t.deepEqual(out, [])
})

// ---- reboot ----

test('admin.reboot → rebooting, with a reboot timer of 3.2–4.8 HB', (t) => {
  const n = spawn()
  const out = n.send({ type: 'admin.reboot' }, 1000)
  t.is(n.path(), 'rebooting')
  t.is(n.ctx().lastRule, 'admin-reboot')
  const [r] = timers(out)
  t.is(r!.name, 'reboot')
  t.true(r!.ms >= 3200 && r!.ms <= 4800)
  t.deepEqual(monOps(out), ['Reboot'])
})

test('rebooting: packets are ignored', (t) => {
  const n = spawn()
  n.send({ type: 'admin.reboot' }, 1000)
  const flock = n.ctx().flock
  const out = n.send(info$(info({ flock: BIGGER, leader: L, lvote: VOTE_MAX })), 1500)
  t.is(n.ctx().lastRule, 'rebooting')
  t.is(n.ctx().flock, flock)
  t.deepEqual(out, [])
  t.is(n.path(), 'rebooting')
})

test('rebooting: timers keep their rhythm (re-armed) but do nothing; prune lapses until we lead again', (t) => {
  const n = spawn()
  n.send(beatFrom(n, 'a', 10), 10)
  n.send({ type: 'admin.reboot' }, 1000)
  const cfg = n.ctx().cfg
  for (const [name, every] of [
    ['hb', 1],
    ['probe', cfg.probeEveryHb],
    ['checkpoint', cfg.checkpointEveryHb],
    ['key', cfg.keyPeriodHb],
  ] as const) {
    const out = n.send(fire(name), 2000)
    t.deepEqual(out, [{ type: 'timer.set', name, ms: every * HB }], name)
  }
  t.deepEqual(n.send(fire('prune'), 2000), [])
  t.is(n.path(), 'rebooting')
})

test('rebooting → leader.alone when the reboot timer fires (a new flock)', (t) => {
  const n = spawn()
  const flock = n.ctx().flock
  n.send({ type: 'admin.reboot' }, 1000)
  const out = n.send(fire('reboot'), 5000)
  t.is(n.path(), 'leader.alone')
  t.is(n.ctx().lastRule, 'reboot-done')
  t.is(n.ctx().rebootUntil, null)
  t.not(n.ctx().flock, flock)
  t.like(mon(out, 'LeaderStart'), { oflock: flock, cause: 'reboot' })
})

test('a member that is rebooted forgets its leader after the reboot', (t) => {
  const n = spawn()
  joinBig(n)
  n.send({ type: 'admin.reboot' }, 1000)
  t.is(n.path(), 'rebooting')
  n.send(fire('reboot'), 5000)
  t.is(n.path(), 'leader.alone')
  t.deepEqual(n.ctx().leader, n.ctx().me)
})

// ---- leave ----

test('leave → left, a final state: Exit MonInfo, the actor is done', (t) => {
  const n = spawn()
  const out = n.send({ type: 'leave' }, 3000)
  t.is(n.path(), 'left')
  t.is(n.actor.getSnapshot().status, 'done')
  t.like(mon(out, 'Exit'), { cause: 'leave', t: 3000 })
})

test('left: later events change nothing', (t) => {
  const n = spawn()
  n.send({ type: 'leave' }, 3000)
  const out = n.send(fire('hb'), 4000)
  t.deepEqual(out, [])
  t.is(n.path(), 'left')
})
