/**
 * The reeve (original-crux.md §4.3; seed 002): one per node. Local services register here; their
 * changes (and the heartbeater's up/down judgements) are forwarded to the flock's steward, one
 * forward at a time, merged, and after a failure held until the retry time; everything again when
 * the steward changes. The
 * catalog the steward pushes is cached for lookups and watches (`CatalogChanged`). The runtime carries
 * the `Forward` emits over gRPC and reports `forward.done` or `forward.failed`.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { HostEvent } from './effects.js'
import { step } from './step.js'
import { batchDone, createReeveContext, deregister, forwarded, forwardFailed, pushed, register, retry, serviceState, stewardIs, type CatalogPush, type ReeveContext } from './reeve/rules.js'
import type { CatalogEndpoint } from './steward/types.js'

export const reeveLogic = setup({
  types: {} as { context: ReeveContext; events: HostEvent; input: Parameters<typeof createReeveContext>[0] },
}).createMachine({
  id: 'reeve',
  context: ({ input }) => createReeveContext(input),
  on: {
    register: { actions: step<ReeveContext>((ctx, ev, _now, out) => register(ctx, ev.endpoint as CatalogEndpoint, out)) },
    deregister: { actions: step<ReeveContext>((ctx, ev, _now, out) => deregister(ctx, String(ev.nodeId), out)) },
    'service.state': { actions: step<ReeveContext>((ctx, ev, _now, out) => serviceState(ctx, String(ev.nodeId), ev.state === 'up' ? 'up' : 'down', out)) },
    steward: { actions: step<ReeveContext>((ctx, ev, _now, out) => stewardIs(ctx, String(ev.address), Number(ev.term), out)) },
    'forward.done': { actions: step<ReeveContext>((ctx, _ev, _now, out) => forwarded(ctx, out)) },
    'forward.failed': { actions: step<ReeveContext>((ctx, _ev, _now, out) => forwardFailed(ctx, out)) },
    'timer.fired': { actions: step<ReeveContext>((ctx, ev, _now, out) => (ev.name === 'batch' ? batchDone(ctx, out) : retry(ctx, out))) },
    push: { actions: step<ReeveContext>((ctx, ev, _now, out) => void pushed(ctx, ev.catalog as CatalogPush, out)) },
  },
})

/** The reeve as the runtime knows it. */
export const reeveMachine = defineMachine('reeve', '2', reeveLogic)
