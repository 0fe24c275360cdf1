/**
 * The registry (seed 004; original-crux.md §4.4): spawned idle on every node, `active` while the local
 * steward is (the follower tells it both). Active, it takes two-factor registrations — BUSY with the
 * steward's key, a call-back to the registering reeve (keys.pull), DONE once the key is proven and on
 * the whitelist, the term raised first above any a registering node has followed — and forget requests. Idle, it refuses both (`not the steward`). Rules in
 * machines/registry/rules.ts.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { acting, is, refuse, send } from './strew/act.js'
import type { RegistryEvent, RegistryInput } from './strew/events.js'
import { createRegistryContext, forget, pulled, pullFailed, register, retire, retry, setMembers, type RegistryContext } from './registry/rules.js'

const S = setup({ types: {} as { context: RegistryContext; events: RegistryEvent; input: RegistryInput; emitted: Effect } })

/** An action for events of type `type` (machines/strew/act.ts `acting`). */
const act = <T extends RegistryEvent['type']>(type: T, rule: (ctx: RegistryContext, ev: Extract<RegistryEvent, { type: T }>, out: Effect[]) => void) =>
  S.enqueueActions(acting<RegistryContext, RegistryEvent, T>(type, rule))

export const registryLogic = S.createMachine({
  id: 'registry',
  context: ({ input }) => createRegistryContext(input),
  initial: 'idle',
  on: {
    'registry.members': { actions: act('registry.members', (ctx, ev) => setMembers(ctx, ev.members)) },
  },
  states: {
    idle: {
      on: {
        'registry.lead': { target: 'active', actions: act('registry.lead', (ctx, ev) => void (ctx.term = ev.term)) },
        'registry.register': { actions: act('registry.register', (_ctx, ev, out) => send(out, ev.from, { type: 'registry.failed', id: ev.id, error: 'not the steward' })) },
        'registry.forget': { actions: act('registry.forget', (_ctx, ev, out) => refuse(out, ev, 'FAILED_PRECONDITION', 'not the steward')) },
      },
    },
    active: {
      on: {
        'registry.lead': { actions: act('registry.lead', (ctx, ev) => void (ctx.term = ev.term)) },
        'registry.retire': { target: 'idle', actions: act('registry.retire', (ctx, _ev, out) => retire(ctx, out)) },
        'registry.register': { actions: act('registry.register', (ctx, ev, out) => register(ctx, ev, out)) },
        'registry.forget': { actions: act('registry.forget', (ctx, ev, out) => forget(ctx, ev, out)) },
        'keys.pulled': { actions: act('keys.pulled', (ctx, ev, out) => pulled(ctx, ev.id, ev.proven, out)) },
        'call.failed': { actions: act('call.failed', (ctx, ev, out) => pullFailed(ctx, ev.id, out)) },
        'call.refused': { actions: act('call.refused', (ctx, ev, out) => void (ev.id !== undefined && pullFailed(ctx, ev.id, out))) },
        'timer.fired': { actions: act('timer.fired', (ctx, ev, out) => retry(ctx, ev.name, out)) },
      },
    },
  },
})

/** The registry as the runtime knows it. */
export const registryMachine = defineMachine('registry', '2', registryLogic)
