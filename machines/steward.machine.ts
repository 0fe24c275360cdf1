/**
 * The steward (original-crux.md §4.5; seed 002): spawned idle on every node. The follower makes it
 * `active` under a new term once this node has led its flock for the settle window, and `idle` again
 * when it stops leading. Active, it judges and applies reeves' updates, pushes each horde's catalog to
 * its reeves (batched; one push at a time per reeve, in order), and retires the reeves of nodes the
 * flock dropped; its registry may raise its term (`steward.raise`), keeping the catalog. Idle, it refuses updates (FAILED_PRECONDITION `not the steward`), so reeves register
 * with whoever leads now.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { acting, is, refuse, send } from './strew/act.js'
import type { StewardEvent, StewardSpawn } from './strew/events.js'
import { admit } from './steward/admit.js'
import { createStewardContext, lead, members, push, pushed, raise, retire, update, type StewardContext } from './steward/rules.js'

const S = setup({ types: {} as { context: StewardContext; events: StewardEvent; input: StewardSpawn; emitted: Effect } })

/** An action for events of type `type` (machines/strew/act.ts `acting`). */
const act = <T extends StewardEvent['type']>(type: T, rule: (ctx: StewardContext, ev: Extract<StewardEvent, { type: T }>, out: Effect[]) => void) =>
  S.enqueueActions(acting<StewardContext, StewardEvent, T>(type, rule))

export const stewardLogic = S.createMachine({
  id: 'steward',
  context: ({ input }) => createStewardContext(input),
  initial: 'idle',
  on: {
    'steward.members': { actions: act('steward.members', (ctx, ev, out) => void members(ctx, ev.members, out)) },
  },
  states: {
    idle: {
      on: {
        'steward.lead': { target: 'active', actions: act('steward.lead', (ctx, ev, out) => lead(ctx, ev.term, out)) },
        'endpoints.update': { actions: act('endpoints.update', (_ctx, ev, out) => refuse(out, ev, 'FAILED_PRECONDITION', 'not the steward')) },
      },
    },
    active: {
      on: {
        'steward.lead': { actions: act('steward.lead', (ctx, ev, out) => void (ev.term !== ctx.term && lead(ctx, ev.term, out))) },
        'steward.raise': { actions: act('steward.raise', (ctx, ev, out) => raise(ctx, ev.term, out)) },
        'steward.retire': { target: 'idle', actions: act('steward.retire', (ctx, _ev, out) => retire(ctx, out)) },
        'endpoints.update': {
          actions: act('endpoints.update', (ctx, ev, out) => {
            const a = admit(ctx, ev, ev.caller)
            if (!a.ok) return refuse(out, ev, a.code, a.message)
            update(ctx, { ...ev.update, horde: a.horde }, a.node, out)
            send(out, ev.from, { type: 'endpoints.updated', id: ev.id, term: ctx.term, version: ctx.version })
          }),
        },
        'catalog.pushed': { actions: act('catalog.pushed', (ctx, ev, out) => pushed(ctx, ev.id, ev.version, out)) },
        'call.failed': { actions: act('call.failed', (ctx, ev, out) => pushed(ctx, ev.id, null, out)) },
        'call.refused': { actions: act('call.refused', (ctx, ev, out) => void (ev.id !== undefined && pushed(ctx, ev.id, null, out))) },
        'timer.fired': { actions: act('timer.fired', (ctx, ev, out) => void (ev.name === 'push' && push(ctx, out))) },
      },
    },
  },
})

/** The steward as the runtime knows it. */
export const stewardMachine = defineMachine('steward', '5', stewardLogic)
