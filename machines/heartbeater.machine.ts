/**
 * The heartbeater (seeds 001, 004; original-crux.md §5.2): one per reeve. Local services send it
 * heartbeats; a service whose heartbeats stop is marked down when its last one lapses, exactly (a
 * timer armed for the earliest lapse, not a poll), and each change is emitted as a `ServiceState`
 * record, which the reeve turns into catalog updates and grpc.health.v1 statuses.
 */
import { enqueueActions, setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect, HostEvent } from './effects.js'
import { beat, createHeartbeaterContext, deregister, rearm, sweep, type Beat, type HeartbeaterContext } from './heartbeater/rules.js'

function step(fn: (ctx: HeartbeaterContext, ev: HostEvent, now: number, out: Effect[]) => void): any {
  return enqueueActions(({ context, event, enqueue }: { context: HeartbeaterContext; event: HostEvent; enqueue: { emit: (e: never) => void } }) => {
    const out: Effect[] = []
    const now = (context.now = event.now ?? context.now)
    fn(context, event, now, out)
    rearm(context, now, out)
    for (const e of out) enqueue.emit(e as never)
  })
}

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
