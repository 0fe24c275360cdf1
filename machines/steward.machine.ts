/**
 * The steward (original-crux.md §4.5; seed 002): one per flock, on its leader. `active` while this node
 * leads: it applies reeves' updates and pushes each horde's catalog to its reeves, batched. `retired`
 * (final) once another node leads: a new steward with a higher term takes over, and the reeves, seeing
 * the new term, re-send everything to it.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { HostEvent } from './effects.js'
import { step } from './step.js'
import { createStewardContext, push, pushFailed, update, type StewardContext } from './steward/rules.js'
import type { EndpointUpdate, StewardInput } from './steward/types.js'

export const stewardLogic = setup({
  types: {} as { context: StewardContext; events: HostEvent; input: StewardInput & { now: number } },
}).createMachine({
  id: 'steward',
  context: ({ input }) => createStewardContext(input.term, input.rules, input.batchMs ?? 50, input.now),
  initial: 'active',
  states: {
    active: {
      on: {
        update: { actions: step<StewardContext>((ctx, ev, _now, out) => update(ctx, ev.update as EndpointUpdate, out)) },
        'timer.fired': { actions: step<StewardContext>((ctx, _ev, _now, out) => push(ctx, out)) },
        'push.failed': { actions: step<StewardContext>((ctx, ev, _now, out) => pushFailed(ctx, String(ev.reeve), out)) },
        retire: {
          target: 'retired',
          actions: step<StewardContext>((ctx, _ev, _now, out) => {
            out.push({ type: 'timer.cancel', name: 'push' })
            out.push({ type: 'emit', record: { type: 'StewardRetired', term: ctx.term, version: ctx.version } })
          }),
        },
      },
    },
    retired: { type: 'final' },
  },
})

/** The steward as the runtime knows it. */
export const stewardMachine = defineMachine('steward', '2', stewardLogic)
