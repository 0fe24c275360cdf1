/**
 * The flock machine: one node's membership protocol (original-crux.md §1, changes in
 * docs/PROTOCOL.md). One machine with member and leader states rather than two machines: in the
 * original a node is leader exactly when its leader is itself, and every rule can flip that, so two
 * machines would hand a node back and forth on almost every merge.
 *
 * The protocol work happens in plain functions over the context (flock/*.ts), mutating it in place so
 * that a heartbeat batch or a prune costs O(changes), never a copy of ten thousand members. The
 * statechart names where the node stands — `leader.alone`, `leader.forming`,
 * `leader.stable`, `member.syncing`, `member.following`, `rebooting`, `left` — and eventless
 * transitions at the root move it there after every step, so a trace reads like prose.
 */
import { enqueueActions, setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect, EventOf } from './effects.js'
import { CMD_LEAVE, CMD_REBOOT, VOTE_MAX } from './flock/constants.js'
import { adminInfo, checkpoint, createContext, isLeader, mon, ping, startOver } from './flock/context.js'
import { answerConfab } from './flock/confab.js'
import { answerListPull, applyListChunk } from './flock/list-sync.js'
import type { FlockEvent } from './flock/events.js'
import { receive } from './flock/receive.js'
import { below } from './flock/random.js'
import { arm, onCheckpoint, onHeartbeat, onKeyPeriod, onPrune, onProbe, onRebootDone } from './flock/ticks.js'
import type { FlockContext, FlockInput } from './flock/types.js'
import { isEvent } from './step.js'

/** Where a node stands, as a state path. */
export type FlockRole = 'rebooting' | 'leader.alone' | 'leader.forming' | 'leader.stable' | 'member.syncing' | 'member.following'

export function roleOf(ctx: FlockContext): FlockRole {
  if (ctx.rebootUntil !== null) return 'rebooting'
  if (isLeader(ctx)) return ctx.memCount === 0 ? 'leader.alone' : ctx.vote === VOTE_MAX ? 'leader.stable' : 'leader.forming'
  return ctx.pulling !== null || ctx.pending !== null || ctx.list.size === 0 ? 'member.syncing' : 'member.following'
}

type Ctx = FlockContext & { at: FlockRole | 'left'; lastRule: string }

/** A rule of the machine: handles one event, pushes effects, names the rule that fired (for the trace). */
type Run<E> = (ctx: Ctx, event: E, now: number, out: Effect[]) => string | void

function act<E extends FlockEvent>(fn: Run<E>, take: (event: FlockEvent) => event is E): any {
  // Typed loosely on the way out: XState's action generics do not survive being built by a helper.
  return enqueueActions(({ context, event, enqueue }: { context: Ctx; event: FlockEvent; enqueue: { emit: (e: never) => void } }) => {
    if (!take(event)) return
    const out: Effect[] = []
    const rule = fn(context, event, event.now ?? 0, out)
    if (typeof rule === 'string') context.lastRule = rule
    for (const e of out) enqueue.emit(e as never)
  })
}

/** The action for events of `type`: its rule sees that member of {@link FlockEvent}. */
const run = <T extends FlockEvent['type']>(type: T, fn: Run<EventOf<FlockEvent, T>>): any => act(fn, (ev) => isEvent(ev, type))

const onInfo: Run<EventOf<FlockEvent, 'info'>> = (ctx, ev, now, out) => receive(ctx, ev.info, now, out)

const onBatch: Run<EventOf<FlockEvent, 'heartbeat.batch'>> = (ctx, ev, now, out) => {
  let rule = 'batch'
  for (const beat of ev.beats) rule = receive(ctx, beat.info, now, out)
  return rule
}

const onTimer: Run<EventOf<FlockEvent, 'timer.fired'>> = (ctx, ev, now, out) => {
  const name = ev.name
  if (name === 'reboot') {
    onRebootDone(ctx, now, out)
    return 'reboot-done'
  }
  if (ctx.rebootUntil !== null) {
    // Rebooting: timers keep their rhythm but do nothing; prune lapses until we lead again (leadList).
    if (name === 'hb' || name === 'probe' || name === 'checkpoint' || name === 'key') arm(ctx, out, name)
    return 'rebooting'
  }
  switch (name) {
    case 'hb':
      return onHeartbeat(ctx, now, out)
    case 'probe':
      onProbe(ctx, now, out)
      return 'probe-round'
    case 'prune':
      return onPrune(ctx, now, out)
    case 'checkpoint':
      onCheckpoint(ctx, out)
      return 'checkpoint'
    case 'key':
      onKeyPeriod(ctx, out)
      return 'key-period'
    default:
      return 'unknown-timer'
  }
}

const start: Run<FlockEvent> = (ctx, _ev, _now, out) => {
  const now = ctx.leaderExpires // createContext left the spawn time here
  startOver(ctx, out, now, 'start')
  // Random phases, so nodes started together do not beat in lockstep.
  out.push({ type: 'timer.set', name: 'hb', ms: 1 + below(ctx, ctx.cfg.hbMs) })
  // The first probe round comes within half a heartbeat: a new node has nothing better to do.
  out.push({ type: 'timer.set', name: 'probe', ms: 1 + below(ctx, Math.max(1, Math.floor(ctx.cfg.hbMs / 2))) })
  arm(ctx, out, 'checkpoint')
  arm(ctx, out, 'key')
  return 'start'
}

/** Leaving gracefully: a member tells its leader (which drops it at once), says Exit, checkpoints. */
const onLeave: Run<EventOf<FlockEvent, 'leave'>> = (ctx, _ev, now, out) => {
  if (!isLeader(ctx)) ping(ctx, out, ctx.leader, 'admin', now, { vote: 0, lvote: CMD_LEAVE })
  mon(ctx, out, 'Exit', now, 'leave')
  checkpoint(ctx, out)
  return 'leave'
}

const at = (role: Ctx['at']) => ({ context }: { context: Ctx }) => {
  context.at = role
}

const goTo = (role: FlockRole) => ({
  guard: ({ context }: { context: Ctx }) => context.at !== 'left' && context.at !== role && roleOf(context) === role,
  target: `.${role}`,
})

export const flockLogic = setup({
  types: {} as { context: Ctx; events: FlockEvent; input: FlockInput & { now: number } },
}).createMachine({
  id: 'flock',
  context: ({ input }) => {
    const ctx = createContext(input) as Ctx
    ctx.leaderExpires = input.now
    ctx.at = 'leader.alone'
    ctx.lastRule = 'start'
    return ctx
  },
  entry: act(start, (ev): ev is FlockEvent => ev !== undefined),
  initial: 'leader',
  always: [goTo('rebooting'), goTo('leader.alone'), goTo('leader.forming'), goTo('leader.stable'), goTo('member.syncing'), goTo('member.following')],
  on: {
    info: { actions: run('info', onInfo) },
    'heartbeat.batch': { actions: run('heartbeat.batch', onBatch) },
    'list.pull': { actions: run('list.pull', (ctx, ev, _now, out) => (answerListPull(ctx, ev.pull, out) ? 'list-answered' : 'list-pull-ignored')) },
    'list.chunk': { actions: run('list.chunk', (ctx, ev, now) => (applyListChunk(ctx, ev.chunk, now) ? 'list-synced' : 'list-chunk')) },
    'timer.fired': { actions: run('timer.fired', onTimer) },
    'confab.query': { actions: run('confab.query', (ctx, ev, now, out) => answerConfab(ctx, ev.query, ev.from, now, roleOf(ctx), out)) },
    'admin.reboot': {
      actions: run('admin.reboot', (ctx, _ev, now, out) => receive(ctx, adminInfo(ctx, CMD_REBOOT, ctx.me, now), now, out)),
    },
    // Leaving: say so, and persist the checkpoint a restart resumes from.
    leave: { target: '.left', actions: run('leave', onLeave) },
  },
  states: {
    leader: {
      initial: 'alone',
      states: {
        alone: { entry: at('leader.alone') },
        forming: { entry: at('leader.forming') },
        stable: { entry: at('leader.stable') },
      },
    },
    member: {
      initial: 'syncing',
      states: {
        syncing: { entry: at('member.syncing') },
        following: { entry: at('member.following') },
      },
    },
    rebooting: { entry: at('rebooting') },
    left: { entry: at('left'), type: 'final' },
  },
})

/** The flock machine as the runtime knows it. Bump the version when old journals would replay differently. */
export const flockMachine = defineMachine('flock', '6', flockLogic)
