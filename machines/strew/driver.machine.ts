/**
 * A node's service driver, for the simulator (`crux sim --services K`): K local services that register
 * with the node's reeve with a TTL and heartbeat every heartbeat, through the same `reeve.register` and
 * `heartbeat.beats` requests a ReeveService caller makes, answered into this actor's mailbox. Being a
 * machine, it is journalled and replayed like the strew machines it drives. One state: `running`.
 */
import { enqueueActions, setup } from 'xstate'
import { defineMachine } from '../definition.js'
import type { Effect } from '../effects.js'
import { beaten, createDriverContext, failed, registered, start, tick, type DriverContext, type DriverInput } from './driver-rules.js'
import type { CallFailed, CallRefused, HeartbeatOk, ReeveRegistered, TimerFired } from './events.js'

/** The driver's inputs. */
export type DriverEvent = ReeveRegistered | HeartbeatOk | CallRefused | CallFailed | TimerFired

/** An action running `rule` on the context stamped with the event's time, emitting what it pushed. */
function step<E extends DriverEvent>(rule: (ctx: DriverContext, ev: E, now: number, out: Effect[]) => void): any {
  return enqueueActions(({ context, event, enqueue }: { context: DriverContext; event: E; enqueue: { emit: (e: never) => void } }) => {
    const out: Effect[] = []
    const now = (context.now = event.now ?? context.now)
    rule(context, event, now, out)
    for (const e of out) enqueue.emit(e as never)
  })
}

export const driverLogic = setup({
  types: {} as { context: DriverContext; events: DriverEvent; input: DriverInput },
}).createMachine({
  id: 'service-driver',
  context: ({ input }) => createDriverContext(input),
  entry: step((ctx, _ev, _now, out) => start(ctx, out)),
  initial: 'running',
  states: {
    running: {
      on: {
        'timer.fired': { actions: step<TimerFired>((ctx, _ev, now, out) => tick(ctx, now, out)) },
        'reeve.registered': { actions: step<ReeveRegistered>((ctx, ev, now) => registered(ctx, ev.id, now)) },
        'heartbeat.ok': { actions: step<HeartbeatOk>((ctx, ev) => beaten(ctx, ev.id)) },
        'call.refused': { actions: step<CallRefused>((ctx, ev) => failed(ctx, ev.id)) },
        'call.failed': { actions: step<CallFailed>((ctx, ev) => failed(ctx, ev.id)) },
      },
    },
  },
})

/** The service driver as the runtime knows it. */
export const driverMachine = defineMachine('service-driver', '1', driverLogic)
