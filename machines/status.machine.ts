/**
 * The status analyser (original-crux.md §2.4), the judge behind `crux watch`: it reads MonInfo
 * records as a beacon receives them and publishes, whenever its judgement changes, which flocks exist,
 * who leads each, how many nodes each has and whether each is stable. A `tick` timer lets a flock
 * become stable while nothing arrives. States: `watching` until `stop`, then `stopped`.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect, HostEvent } from './effects.js'
import { step as stepWith } from './step.js'
import { changed, createStatusContext, judge, read, type StatusContext } from './status/analyse.js'
import type { MonRecord, StatusInput } from './status/types.js'

/** How often the analyser looks again while nothing arrives. */
/** Each rule, then the judgement: a Status emit whenever it changed. */
const step = (rule: (ctx: StatusContext, ev: HostEvent, now: number, out: Effect[]) => void) =>
  stepWith<StatusContext>((ctx, ev, now, out) => {
    rule(ctx, ev, now, out)
    const view = changed(ctx, judge(ctx, now))
    if (view !== null) out.push({ type: 'emit', record: { type: 'Status', ...view } })
  })

const tickMs = (ctx: StatusContext) => Math.max(100, Math.min(1000, Math.floor(ctx.stableMs / 10)))

export const statusLogic = setup({
  types: {} as { context: StatusContext; events: HostEvent; input: StatusInput & { now: number } },
}).createMachine({
  id: 'status',
  context: ({ input }) => createStatusContext(input.stableMs, input.now),
  entry: step((ctx, _ev, _now, out) => void out.push({ type: 'timer.set', name: 'tick', ms: tickMs(ctx) })),
  initial: 'watching',
  states: {
    watching: {
      on: {
        mon: { actions: step((ctx, ev, now) => read(ctx, ev.mon as MonRecord, now)) },
        'timer.fired': { actions: step((ctx, _ev, _now, out) => void out.push({ type: 'timer.set', name: 'tick', ms: tickMs(ctx) })) },
        stop: { target: 'stopped', actions: step((_ctx, _ev, _now, out) => void out.push({ type: 'timer.cancel', name: 'tick' })) },
      },
    },
    stopped: { type: 'final' },
  },
})

/** The status analyser as the runtime knows it. */
export const statusMachine = defineMachine('status', '1', statusLogic)
