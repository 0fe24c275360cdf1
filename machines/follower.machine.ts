/**
 * The follower (one per node, `<node>/follower`): strew's side of the flock. The edge sends it what the
 * flock says (`flock.view`) after each flock step that changed it. Two regions:
 *
 * - `lead`: `notLeading` → `settling` (led for less than the settle window) → `leading` (the local
 *   steward and registry active under a new term, fed the member list) → `notLeading` (retired).
 * - `follow`: `unnamed` → `settling` (the named steward must hold for the window) → `registering`
 *   (`calling`: waiting for BUSY; `proving`: the call-back under way) → `following` (the reeve
 *   forwards there), or `retrying` (a heartbeat after a failure); a new steward named goes back to
 *   `settling`, a refusal reported by the reeve back to `registering`, and so does the reeve finding
 *   its steward's term below the catalog it holds (`reeve.behind`).
 *
 * Whatever the state, it keeps the highest steward term followed (DONE, `reeve.raised`) for the next
 * registration, its registry's raised term for the next lead (`follower.raised`), and tells the reeve
 * the nodes its flock lists (`reeve.members`).
 *
 * Rules in machines/follower/rules.ts.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { acting, actingOnAny, is } from './strew/act.js'
import type { FollowerEvent, FollowerInput } from './strew/events.js'
import { behind, busy, createFollowerContext, failed, lead, namedBy, register, registered, retire, sameNamed, seen, sendMembers, sendReeveMembers, settle, type FollowerContext } from './follower/rules.js'

const S = setup({ types: {} as { context: FollowerContext; events: FollowerEvent; input: FollowerInput; emitted: Effect } })
type Ev<T extends FollowerEvent['type']> = Extract<FollowerEvent, { type: T }>

/** An action for events of type `type` (machines/strew/act.ts `acting`). */
const act = <T extends FollowerEvent['type']>(type: T, rule: (ctx: FollowerContext, ev: Ev<T>, out: Effect[]) => void) => S.enqueueActions(acting<FollowerContext, FollowerEvent, T>(type, rule))

/** An action for any event. */
const any = (rule: (ctx: FollowerContext, out: Effect[]) => void) => S.enqueueActions(actingOnAny<FollowerContext, FollowerEvent>(rule))

/** A guard for events of type `type`. */
const when = <T extends FollowerEvent['type']>(type: T, pred: (ctx: FollowerContext, ev: Ev<T>) => boolean) =>
  ({ context, event }: { context: FollowerContext; event: FollowerEvent }) => is(event, type) && pred(context, event)

const timer = (name: string) => when('timer.fired', (_ctx, ev) => ev.name === name)
const cancel = (name: string) => any((_ctx, out) => void out.push({ type: 'timer.cancel', name }))
const setTimer = (name: string, ms: (ctx: FollowerContext) => number) => any((ctx, out) => void out.push({ type: 'timer.set', name, ms: ms(ctx) }))
const view = act('flock.view', (ctx, ev, out) => {
  ctx.members = ev.members
  sendReeveMembers(ctx, ev, out)
})
/** The view names a steward other than the one registered (or being registered) with. */
const namesAnother = when('flock.view', (ctx, ev) => namedBy(ev) !== null && !sameNamed(namedBy(ev), ctx.target))
const startSettling = act('flock.view', (ctx, ev, out) => settle(ctx, namedBy(ev)!, out))
/** An answer to the registration under way. */
const callId = (ev: FollowerEvent): number | undefined => ('id' in ev ? ev.id : undefined)
const answer = <T extends 'registry.busy' | 'registry.done' | 'registry.failed' | 'call.failed' | 'call.refused'>(type: T, pred: (ctx: FollowerContext, ev: Ev<T>) => boolean = () => true) =>
  when(type, (ctx, ev) => ctx.call !== null && callId(ev) === ctx.call.id && pred(ctx, ev))
const failure = <T extends 'registry.busy' | 'registry.done' | 'registry.failed' | 'call.failed' | 'call.refused'>(type: T, why: (ev: Ev<T>) => string) => ({
  guard: answer(type),
  target: '#follower.follow.retrying' as const,
  actions: act(type, (ctx, ev, out) => failed(ctx, why(ev), out)),
})
/** Outside `following`: a term the reeve holds, told at the next registration. */
const behindSeen = act('reeve.behind', (ctx, ev) => seen(ctx, ev.address, ev.term, false))
const ofLeader = (ctx: FollowerContext, stewardNode: string) => ctx.target !== null && stewardNode === ctx.target.leader

export const followerLogic = S.createMachine({
  id: 'follower',
  context: ({ input }) => createFollowerContext(input),
  type: 'parallel',
  on: {
    'reeve.raised': { actions: act('reeve.raised', (ctx, ev) => seen(ctx, ev.address, ev.term, true)) },
    'follower.raised': { actions: act('follower.raised', (ctx, ev) => void (ctx.lastTerm = Math.max(ctx.lastTerm, ev.term))) },
  },
  states: {
    lead: {
      initial: 'notLeading',
      states: {
        notLeading: {
          on: {
            'flock.view': [{ guard: when('flock.view', (_c, ev) => ev.leading), target: 'settling', actions: [view, setTimer('lead', (ctx) => ctx.settleMs)] }, { actions: view }],
          },
        },
        settling: {
          on: {
            'flock.view': [{ guard: when('flock.view', (_c, ev) => !ev.leading), target: 'notLeading', actions: [view, cancel('lead')] }, { actions: view }],
            'timer.fired': { guard: timer('lead'), target: 'leading', actions: any((ctx, out) => lead(ctx, out)) },
          },
        },
        leading: {
          on: {
            'flock.view': [
              { guard: when('flock.view', (_c, ev) => !ev.leading), target: 'notLeading', actions: [view, any((ctx, out) => retire(ctx, out))] },
              { actions: [view, any((ctx, out) => sendMembers(ctx, out))] },
            ],
          },
        },
      },
    },
    follow: {
      initial: 'unnamed',
      states: {
        unnamed: {
          on: { 'flock.view': { guard: when('flock.view', (_c, ev) => namedBy(ev) !== null), target: 'settling', actions: startSettling }, 'reeve.behind': { actions: behindSeen } },
        },
        settling: {
          on: {
            'reeve.behind': { actions: behindSeen },
            'flock.view': [
              { guard: when('flock.view', (ctx, ev) => namedBy(ev) === null || sameNamed(namedBy(ev), ctx.candidate)) },
              // Back to what was registered with before the window ran out: nothing to do again.
              { guard: when('flock.view', (ctx, ev) => sameNamed(namedBy(ev), ctx.target) && sameNamed(ctx.steward, ctx.target)), target: 'following', actions: [cancel('settle'), any((ctx) => void (ctx.candidate = null))] },
              { guard: when('flock.view', (ctx, ev) => sameNamed(namedBy(ev), ctx.target)), target: 'registering', actions: [cancel('settle'), any((ctx) => void (ctx.candidate = null))] },
              { target: 'settling', reenter: true, actions: startSettling },
            ],
            'timer.fired': {
              guard: timer('settle'),
              target: 'registering',
              actions: any((ctx) => {
                ctx.target = { address: ctx.candidate!.address, leader: ctx.candidate!.leader }
                ctx.candidate = null
              }),
            },
          },
        },
        registering: {
          entry: any((ctx, out) => register(ctx, out)),
          initial: 'calling',
          on: {
            'reeve.behind': { actions: behindSeen },
            'flock.view': { guard: namesAnother, target: 'settling', actions: startSettling },
            'registry.done': [
              { guard: answer('registry.done', (ctx, ev) => ofLeader(ctx, ev.stewardNode) && (ctx.call!.busy === null || ctx.call!.busy.keyId === ev.stewardKeyId)), target: 'following', actions: act('registry.done', (ctx, ev, out) => registered(ctx, ev, out)) },
              failure('registry.done', (ev) => `the steward ${ev.stewardNode} is not the flock's leader`),
            ],
            'registry.failed': failure('registry.failed', (ev) => ev.error),
            'call.failed': failure('call.failed', (ev) => `${ev.code}: ${ev.message}`),
            'call.refused': failure('call.refused', (ev) => `${ev.code}: ${ev.message}`),
          },
          states: {
            calling: {
              on: {
                'registry.busy': [
                  { guard: answer('registry.busy', (ctx, ev) => ofLeader(ctx, ev.stewardNode)), target: 'proving', actions: act('registry.busy', (ctx, ev, out) => busy(ctx, ev.stewardKeyId, ev.stewardKey, out)) },
                  failure('registry.busy', (ev) => `the steward ${ev.stewardNode} is not the flock's leader`),
                ],
              },
            },
            proving: {},
          },
        },
        retrying: {
          on: {
            'reeve.behind': { actions: behindSeen },
            'timer.fired': { guard: timer('retry'), target: 'registering' },
            'flock.view': { guard: namesAnother, target: 'settling', actions: [cancel('retry'), startSettling] },
          },
        },
        following: {
          on: {
            'flock.view': { guard: namesAnother, target: 'settling', actions: startSettling },
            // The steward pushes under a term below the catalog the reeve holds: register again, telling it.
            'reeve.behind': [
              { guard: when('reeve.behind', (ctx, ev) => ctx.steward !== null && ev.address === ctx.steward.address), target: 'registering', actions: act('reeve.behind', (ctx, ev, out) => behind(ctx, ev, out)) },
              { actions: behindSeen },
            ],
            'reeve.refused': {
              guard: when('reeve.refused', (ctx, ev) => ctx.steward !== null && ev.address === ctx.steward.address),
              target: 'registering',
              actions: act('reeve.refused', (_ctx, ev, out) => void out.push({ type: 'log', level: 'warn', msg: 'steward refused an update; registering again', fields: { steward: ev.address, code: ev.code } })),
            },
          },
        },
      },
    },
  },
})

/** The follower as the runtime knows it. */
export const followerMachine = defineMachine('follower', '3', followerLogic)
