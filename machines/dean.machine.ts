/**
 * The dean (seed 001's dean, original-crux.md §5.7; issue 18): one per node, `<node>/dean`. It takes
 * what the proctor assigns this node (DeanService.Assign, fenced by the steward's term), keeps the
 * newest program (a copy its node's proctor starts from if this node comes to lead), and drives the
 * node's picket, one request at a time, until it runs exactly the names assigned: `add`, `upgrade`,
 * `delete` (machines/dean/rules.ts). The edge tells it which services picket has (`dean.picket`), so
 * an instance reset or moved by hand is put back. States: `idle` (nothing to do, or waiting out a failure's pause)
 * and `busy` (a picket request on its way). What it was assigned and what it started are persisted
 * (`dean`), so a restarted fulcrum neither loses nor doubles its share.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { acting } from './strew/act.js'
import type { DeanContext, DeanEvent, DeanInput } from './placement/types.js'
import { answered, assign, createDeanContext, observed, reconcile, retryLater, tellProgram } from './dean/rules.js'

const S = setup({ types: {} as { context: DeanContext; events: DeanEvent; input: DeanInput; emitted: Effect } })

/** An action for events of type `type` (machines/strew/act.ts `acting`). */
const act = <T extends DeanEvent['type']>(type: T, rule: (ctx: DeanContext, ev: Extract<DeanEvent, { type: T }>, out: Effect[]) => void) =>
  S.enqueueActions(acting<DeanContext, DeanEvent, T>(type, rule))

/** The road could not deliver the request on its way: tried again after a pause. */
const failure = (ctx: DeanContext, ev: { id?: number; code: string; message: string }, out: Effect[]) => {
  if (ctx.inflight !== null && ev.id === ctx.inflight.id) retryLater(ctx, `${ctx.inflight.op} ${ctx.inflight.name}: ${ev.code} ${ev.message}`, out)
}

/** Picket refused the request (it answers refusals as the road ends a call): an answer with that code. */
const refusal = (ctx: DeanContext, ev: { id?: number; code: string; message: string }, out: Effect[]) => {
  if (ev.id !== undefined) answered(ctx, { id: ev.id, code: ev.code, message: ev.message }, out)
}

export const deanLogic = S.createMachine({
  id: 'dean',
  context: ({ input }) => createDeanContext(input),
  entry: S.enqueueActions(({ context, enqueue }) => {
    const out: Effect[] = []
    tellProgram(context, out)
    reconcile(context, out)
    for (const e of out) enqueue.emit(e)
  }),
  on: {
    'dean.assign': { actions: act('dean.assign', assign) },
    'picket.answer': { actions: act('picket.answer', answered) },
    'dean.picket': { actions: act('dean.picket', observed) },
    'call.failed': { actions: act('call.failed', failure) },
    'call.refused': { actions: act('call.refused', refusal) },
    'timer.fired': { actions: act('timer.fired', (ctx, ev, out) => void (ev.name === 'retry' && reconcile(ctx, out))) },
  },
  initial: 'idle',
  states: {
    idle: { always: { guard: ({ context }) => context.inflight !== null, target: 'busy' } },
    busy: { always: { guard: ({ context }) => context.inflight === null, target: 'idle' } },
  },
})

/** The dean as the runtime knows it. */
export const deanMachine = defineMachine('dean', '1', deanLogic)
