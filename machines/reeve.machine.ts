/**
 * The reeve (original-crux.md §4.3; seed 002): one per node. Local services register here (heartbeat-
 * kept ones through the heartbeater); their changes are forwarded to the steward the follower named,
 * one forward at a time, merged; everything again to a new steward or after a refusal. The catalog
 * the steward pushes is held for lookups (the edge reads `context.catalog`) and watches, which are
 * served only the endpoints of nodes the local flock lists (`reeve.members`; machines/reeve/served.ts).
 *
 * States say whether a forward may go: `detached` (no steward yet), `idle` (nothing on its way),
 * `holding` (a batch window collects a burst of changes), `sending` (a forward on its way; changes
 * meanwhile wait for its answer), `backoff` (a forward failed; the rest waits for the retry timer).
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { acting, is } from './strew/act.js'
import type { ReeveEvent, ReeveInput } from './strew/events.js'
import { members, pushed, unwatch, watch } from './reeve/catalog.js'
import { deregisterCall, keysPull, registerCall } from './reeve/calls.js'
import { createReeveContext, failedAtCurrent, forward, forwarded, forwardFailed, hasPending, isNewSteward, restored, serviceState, stewardIs, type ReeveContext } from './reeve/rules.js'

const S = setup({ types: {} as { context: ReeveContext; events: ReeveEvent; input: ReeveInput; emitted: Effect } })
type Ev<T extends ReeveEvent['type']> = Extract<ReeveEvent, { type: T }>

/** An action for events of type `type` (machines/strew/act.ts `acting`). */
const act = <T extends ReeveEvent['type']>(type: T, rule: (ctx: ReeveContext, ev: Ev<T>, out: Effect[]) => void) => S.enqueueActions(acting<ReeveContext, ReeveEvent, T>(type, rule))

/** An action for any event. */
const always = (rule: (ctx: ReeveContext, out: Effect[]) => void) =>
  S.enqueueActions(({ context, enqueue }) => {
    const out: Effect[] = []
    rule(context, out)
    for (const e of out) enqueue.emit(e)
  })

/** A guard for events of type `type`. */
const when = <T extends ReeveEvent['type']>(type: T, pred: (ctx: ReeveContext, ev: Ev<T>) => boolean) =>
  ({ context, event }: { context: ReeveContext; event: ReeveEvent }) => is(event, type) && pred(context, event)

const send = always((ctx, out) => forward(ctx, out))
const timer = (name: string, ms: (ctx: ReeveContext) => number) => always((ctx, out) => void out.push({ type: 'timer.set', name, ms: ms(ctx) }))
const cancel = (name: string) => always((_ctx, out) => void out.push({ type: 'timer.cancel', name }))
const steward = act('reeve.steward', (ctx, ev) => stewardIs(ctx, ev))
const isNew = when('reeve.steward', (ctx, ev) => isNewSteward(ctx, ev.address, ev.term))
const mine = (ctx: ReeveContext, id: number | undefined) => ctx.sending !== null && ctx.sending.id === id
const pending = ({ context }: { context: ReeveContext }) => hasPending(context)

export const reeveLogic = S.createMachine({
  id: 'reeve',
  context: ({ input }) => createReeveContext(input),
  entry: always((ctx, out) => restored(ctx, out)),
  initial: 'detached',
  on: {
    'reeve.register': { actions: act('reeve.register', (ctx, ev, out) => void registerCall(ctx, ev, out)) },
    'reeve.deregister': { actions: act('reeve.deregister', (ctx, ev, out) => void deregisterCall(ctx, ev, out)) },
    'service.state': { actions: act('service.state', (ctx, ev, out) => serviceState(ctx, ev.nodeId, ev.state, out)) },
    'reeve.registering': { actions: act('reeve.registering', (ctx, ev) => void (ctx.callback = { keyId: ev.keyId, key: ev.key })) },
    'keys.pull': { actions: act('keys.pull', (ctx, ev, out) => keysPull(ctx, ev, out)) },
    'catalog.push': { actions: act('catalog.push', (ctx, ev, out) => pushed(ctx, ev, out)) },
    'reeve.members': { actions: act('reeve.members', (ctx, ev, out) => members(ctx, ev.nodes, out)) },
    'catalog.watch': { actions: act('catalog.watch', (ctx, ev, out) => watch(ctx, ev, out)) },
    'call.cancelled': { actions: act('call.cancelled', (ctx, ev) => unwatch(ctx, ev.from)) },
  },
  states: {
    detached: {
      on: { 'reeve.steward': { target: 'sending', actions: [steward, send] } },
    },
    idle: {
      always: [
        { guard: ({ context }) => hasPending(context) && context.batchMs > 0, target: 'holding', actions: timer('batch', (ctx) => ctx.batchMs) },
        { guard: pending, target: 'sending', actions: send },
      ],
      on: {
        'reeve.steward': [{ guard: isNew, target: 'sending', actions: [steward, send] }, { actions: steward }],
      },
    },
    holding: {
      on: {
        'timer.fired': [
          { guard: when('timer.fired', (ctx, ev) => ev.name === 'batch' && hasPending(ctx)), target: 'sending', actions: send },
          { guard: when('timer.fired', (_ctx, ev) => ev.name === 'batch'), target: 'idle' },
        ],
        'reeve.steward': [{ guard: isNew, target: 'sending', actions: [cancel('batch'), steward, send] }, { actions: steward }],
      },
    },
    sending: {
      on: {
        'endpoints.updated': [
          { guard: when('endpoints.updated', (ctx, ev) => mine(ctx, ev.id) && ev.term !== ctx.sending!.term), target: 'backoff', actions: [always((ctx, out) => forwardFailed(ctx, 'FAILED_PRECONDITION', out)), timer('retry', (ctx) => ctx.retryMs)] },
          // What changed meanwhile goes at once: it has waited for this answer already.
          { guard: when('endpoints.updated', (ctx, ev) => mine(ctx, ev.id) && hasPending(ctx)), target: 'sending', reenter: true, actions: [always((ctx) => forwarded(ctx)), send] },
          { guard: when('endpoints.updated', (ctx, ev) => mine(ctx, ev.id)), target: 'idle', actions: always((ctx) => forwarded(ctx)) },
        ],
        'call.failed': [
          { guard: when('call.failed', (ctx, ev) => mine(ctx, ev.id) && failedAtCurrent(ctx)), target: 'backoff', actions: [act('call.failed', (ctx, ev, out) => forwardFailed(ctx, ev.code, out)), timer('retry', (ctx) => ctx.retryMs)] },
          { guard: when('call.failed', (ctx, ev) => mine(ctx, ev.id)), target: 'sending', reenter: true, actions: [act('call.failed', (ctx, ev, out) => forwardFailed(ctx, ev.code, out)), send] },
        ],
        'call.refused': [
          { guard: when('call.refused', (ctx, ev) => mine(ctx, ev.id) && failedAtCurrent(ctx)), target: 'backoff', actions: [act('call.refused', (ctx, ev, out) => forwardFailed(ctx, ev.code, out)), timer('retry', (ctx) => ctx.retryMs)] },
          { guard: when('call.refused', (ctx, ev) => mine(ctx, ev.id)), target: 'sending', reenter: true, actions: [act('call.refused', (ctx, ev, out) => forwardFailed(ctx, ev.code, out)), send] },
        ],
        // A new steward (the old one died, or the flock merged): the forward on its way to the old one is
        // given up, not waited for to its deadline, and everything goes to the new one at once. Its late
        // answer names an id no longer on its way, and is ignored.
        'reeve.steward': [{ guard: isNew, target: 'sending', reenter: true, actions: [always((ctx, out) => forwardFailed(ctx, 'UNAVAILABLE', out)), steward, send] }, { actions: steward }],
      },
    },
    backoff: {
      on: {
        'timer.fired': { guard: when('timer.fired', (_ctx, ev) => ev.name === 'retry'), target: 'sending', actions: send },
        // Registered again (with this steward or another): no reason to wait any longer.
        'reeve.steward': { target: 'sending', actions: [cancel('retry'), steward, send] },
      },
    },
  },
})

/** The reeve as the runtime knows it. */
export const reeveMachine = defineMachine('reeve', '6', reeveLogic)
