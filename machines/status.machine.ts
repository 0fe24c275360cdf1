/**
 * The status analyser (original-crux.md §2.4), the judge behind `crux watch`: it reads MonInfo
 * records as a beacon receives them and publishes, whenever its judgement changes, which flocks exist,
 * who leads each, how many nodes each has and whether each is stable. A `tick` timer lets a flock
 * become stable while nothing arrives. States: `watching` until `stop`, then `stopped`.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect, EventOf } from './effects.js'
import { stepsOf, type Rule } from './step.js'
import { changed, createStatusContext, judge, read, type StatusContext } from './status/analyse.js'
import type { StatusEvent } from './status/events.js'
import type { StatusInput } from './status/types.js'

const steps = stepsOf<StatusContext, StatusEvent>()

/** Then the judgement: a Status emit whenever it changed. */
function judged<E>(rule: Rule<StatusContext, E>): Rule<StatusContext, E> {
  return (ctx, ev, now, out: Effect[]) => {
    rule(ctx, ev, now, out)
    const view = changed(ctx, judge(ctx, now))
    if (view !== null) out.push({ type: 'emit', record: { type: 'Status', ...view } })
  }
}

/** Each rule for events of `type`, then the judgement. */
const on = <T extends StatusEvent['type']>(type: T, rule: Rule<StatusContext, EventOf<StatusEvent, T>>) => steps.on(type, judged(rule))

/** How often the analyser looks again while nothing arrives. */
const tickMs = (ctx: StatusContext) => Math.max(100, Math.min(1000, Math.floor(ctx.stableMs / 10)))

export const statusLogic = setup({
  types: {} as { context: StatusContext; events: StatusEvent; input: StatusInput & { now: number } },
}).createMachine({
  id: 'status',
  context: ({ input }) => createStatusContext(input.stableMs, input.now),
  entry: steps.any(judged((ctx, _ev, _now, out) => void out.push({ type: 'timer.set', name: 'tick', ms: tickMs(ctx) }))),
  initial: 'watching',
  states: {
    watching: {
      on: {
        mon: { actions: on('mon', (ctx, ev, now) => read(ctx, ev.mon, now)) },
        'timer.fired': { actions: on('timer.fired', (ctx, _ev, _now, out) => void out.push({ type: 'timer.set', name: 'tick', ms: tickMs(ctx) })) },
        stop: { target: 'stopped', actions: on('stop', (_ctx, _ev, _now, out) => void out.push({ type: 'timer.cancel', name: 'tick' })) },
      },
    },
    stopped: { type: 'final' },
  },
})

/** The status analyser as the runtime knows it. */
export const statusMachine = defineMachine('status', '1', statusLogic)
