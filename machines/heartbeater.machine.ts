/**
 * The heartbeater (seeds 001, 004; original-crux.md §5.2): one per reeve. Local services send it
 * heartbeats; a service whose heartbeats stop is marked down when its last one lapses, exactly (a
 * timer armed for the earliest lapse, not a poll), and each change is emitted as a `ServiceState`
 * record, which the reeve turns into catalog updates and grpc.health.v1 statuses.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect, HostEvent } from './effects.js'
import { step as stepWith } from './step.js'
import { beat, createHeartbeaterContext, deregister, rearm, sweep, type Beat, type HeartbeaterContext } from './heartbeater/rules.js'

/** Each rule, then the sweep timer re-armed for the earliest lapse. */
const step = (rule: (ctx: HeartbeaterContext, ev: HostEvent, now: number, out: Effect[]) => void) =>
  stepWith<HeartbeaterContext>((ctx, ev, now, out) => {
    rule(ctx, ev, now, out)
    rearm(ctx, now, out)
  })

export const heartbeaterLogic = setup({
  types: {} as { context: HeartbeaterContext; events: HostEvent; input: { now: number } },
}).createMachine({
  id: 'heartbeater',
  context: ({ input }) => createHeartbeaterContext(input.now),
  initial: 'watching',
  states: {
    watching: {
      on: {
        heartbeat: { actions: step((ctx, ev, now, out) => beat(ctx, ev.beat as Beat, now, out)) },
        deregister: { actions: step((ctx, ev, _now, out) => deregister(ctx, String(ev.uuid), out)) },
        'timer.fired': {
          actions: step((ctx, _ev, now, out) => {
            ctx.armedFor = null
            sweep(ctx, now, out)
          }),
        },
      },
    },
  },
})

/** The heartbeater as the runtime knows it. */
export const heartbeaterMachine = defineMachine('heartbeater', '1', heartbeaterLogic)
