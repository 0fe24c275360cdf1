/**
 * The proctor (seed 001's proctor with its CheckGoals, original-crux.md §5.6; issue 18): one per node,
 * `idle` until the edge says the node's steward leads (`proctor.view`), then `leading` under the
 * steward's term — handed over as the steward is. Leading, it holds the khan program
 * (PlacementService.Apply, or the copy its node's dean keeps, whichever is newer), solves it against
 * the flock's muster every period and whenever the muster changes (machines/placement/plan.ts), and
 * sends each node's dean, on the road, what that node should run (`dean.assign`), again when that
 * changed, was not taken, or was not answered within `retryMs`. What it assigned counts as running, so
 * a slow start is not placed twice; a node whose muster left the catalog (the flock dropped it) is
 * forgotten, so its services are placed elsewhere at the next solve. Start clauses hold a service's
 * new instances until they hold.
 *
 * Rules in machines/proctor/rules.ts; types in machines/placement/types.ts.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { acting } from './strew/act.js'
import type { ProctorContext, ProctorEvent, ProctorInput } from './placement/types.js'
import { adopt, apply, assigned, createProctorContext, failed, step, view } from './proctor/rules.js'

const S = setup({ types: {} as { context: ProctorContext; events: ProctorEvent; input: ProctorInput; emitted: Effect } })

/** An action for events of type `type` (machines/strew/act.ts `acting`). */
const act = <T extends ProctorEvent['type']>(type: T, rule: (ctx: ProctorContext, ev: Extract<ProctorEvent, { type: T }>, out: Effect[]) => void) =>
  S.enqueueActions(acting<ProctorContext, ProctorEvent, T>(type, rule))

export const proctorLogic = S.createMachine({
  id: 'proctor',
  context: ({ input }) => createProctorContext(input),
  initial: 'idle',
  on: {
    'proctor.view': { actions: act('proctor.view', view) },
    'proctor.program': { actions: act('proctor.program', (ctx, ev, out) => void (adopt(ctx, ev.program) && step(ctx, out))) },
    'placement.apply': { actions: act('placement.apply', apply) },
  },
  states: {
    idle: {
      always: { guard: ({ context }) => context.leading, target: 'leading' },
    },
    leading: {
      always: { guard: ({ context }) => !context.leading, target: 'idle' },
      on: {
        'proctor.inventory': {
          actions: act('proctor.inventory', (ctx, ev, out) => {
            ctx.nodes = ev.nodes
            step(ctx, out)
          }),
        },
        'dean.assigned': { actions: act('dean.assigned', assigned) },
        'call.failed': { actions: act('call.failed', (ctx, ev, out) => failed(ctx, ev.id, ev.code, ev.message, out)) },
        'call.refused': { actions: act('call.refused', (ctx, ev, out) => failed(ctx, ev.id, ev.code, ev.message, out)) },
        'timer.fired': {
          actions: act('timer.fired', (ctx, ev, out) => {
            if (ev.name !== 'period') return
            out.push({ type: 'timer.set', name: 'period', ms: ctx.periodMs })
            step(ctx, out)
          }),
        },
      },
    },
  },
})

/** The proctor as the runtime knows it. */
export const proctorMachine = defineMachine('proctor', '1', proctorLogic)
