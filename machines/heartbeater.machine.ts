/**
 * The heartbeater (seeds 001, 004; original-crux.md §5.2): one per node. It holds the heartbeat-kept
 * registrations the reeve hands it (persisted, restored at spawn with one more hold each); local
 * services send it heartbeats; a service whose heartbeats stop is marked down when its last one
 * lapses, exactly (a timer armed for the earliest lapse, not a poll), and each change goes to the reeve
 * as `service.state`, which it turns into catalog updates and grpc.health.v1 statuses.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { is } from './strew/act.js'
import type { HeartbeaterEvent, HeartbeaterInput } from './strew/events.js'
import { beats, createHeartbeaterContext, keep, rearm, restored, sweep, unkeep, type HeartbeaterContext } from './heartbeater/rules.js'

const S = setup({ types: {} as { context: HeartbeaterContext; events: HeartbeaterEvent; input: HeartbeaterInput; emitted: Effect } })

/** Each rule, then the sweep timer re-armed for the earliest lapse. */
const act = <T extends HeartbeaterEvent['type']>(type: T, rule: (ctx: HeartbeaterContext, ev: Extract<HeartbeaterEvent, { type: T }>, now: number, out: Effect[]) => void) =>
  S.enqueueActions(({ context, event, enqueue }) => {
    if (!is(event, type)) return
    const now = (context.now = event.now ?? context.now)
    const out: Effect[] = []
    rule(context, event, now, out)
    rearm(context, now, out)
    for (const e of out) enqueue.emit(e)
  })

export const heartbeaterLogic = S.createMachine({
  id: 'heartbeater',
  context: ({ input }) => createHeartbeaterContext(input),
  entry: S.enqueueActions(({ context, enqueue }) => {
    const out: Effect[] = []
    restored(context, out)
    rearm(context, context.now, out)
    for (const e of out) enqueue.emit(e)
  }),
  initial: 'watching',
  states: {
    watching: {
      on: {
        'heartbeat.keep': { actions: act('heartbeat.keep', (ctx, ev, now, out) => keep(ctx, ev, now, out)) },
        'heartbeat.unkeep': { actions: act('heartbeat.unkeep', (ctx, ev, _now, out) => unkeep(ctx, ev.nodeId, ev.but, out)) },
        'heartbeat.beats': { actions: act('heartbeat.beats', (ctx, ev, now, out) => beats(ctx, ev, now, out)) },
        'timer.fired': {
          actions: act('timer.fired', (ctx, ev, now, out) => {
            if (ev.name !== 'sweep') return
            ctx.armedFor = null
            sweep(ctx, now, out)
          }),
        },
      },
    },
  },
})

/** The heartbeater as the runtime knows it. */
export const heartbeaterMachine = defineMachine('heartbeater', '2', heartbeaterLogic)
