/**
 * Pastiche (issue 16; original-crux.md §5.10): one machine per node that keeps its declarative holdings
 * true. It learns what the store holds (`blob.held`, `blob.gone`), what is wanted here (`want`,
 * `unwant`), who its peers are (`peers`) and what they hold (`peers` announcements and `has` answers),
 * and decides: which ranges of which blob to fetch from which peer (machines/pastiche/plan.ts), what to
 * do when a range fails or is bad and when an assembly hashes wrong (machines/pastiche/transfer.ts),
 * what to pin and unpin (machines/pastiche/holdings.ts). The node's edges move the bytes and answer.
 *
 * It also keeps this node's pastiche registered in the catalog, naming what it holds
 * (machines/pastiche/announce.ts), when the host gives it where to register.
 *
 * States: `idle` (every holding held), `working` (something wanted is missing or being assembled; a
 * `tick` timer brings backoffs and re-asks due). Every event runs its rule, then the plan, then the tick.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { is } from './strew/act.js'
import { announce, announced, announceFailed } from './pastiche/announce.js'
import { createPasticheContext, gone, hasAnswer, held, peers, restored, unwant, want } from './pastiche/holdings.js'
import { missing, plan, rearm } from './pastiche/plan.js'
import { assembled, fetched } from './pastiche/transfer.js'
import type { PasticheContext, PasticheEvent, PasticheInput } from './pastiche/types.js'

const S = setup({ types: {} as { context: PasticheContext; events: PasticheEvent; input: PasticheInput; emitted: Effect } })

/** An action for events of type `type`: the rule, then the plan, then the tick re-armed. */
const act = <T extends PasticheEvent['type']>(type: T, rule: (ctx: PasticheContext, ev: Extract<PasticheEvent, { type: T }>, out: Effect[]) => void) =>
  S.enqueueActions(({ context, event, enqueue }) => {
    if (!is(event, type)) return
    context.now = event.now ?? context.now
    const out: Effect[] = []
    rule(context, event, out)
    plan(context, out)
    rearm(context, out)
    announce(context, out)
    for (const e of out) enqueue.emit(e)
  })

const working = ({ context }: { context: PasticheContext }) => missing(context)

const handlers = {
  want: { actions: act('want', (ctx, ev, out) => want(ctx, ev, out)) },
  unwant: { actions: act('unwant', (ctx, ev, out) => unwant(ctx, ev, out)) },
  'blob.held': { actions: act('blob.held', (ctx, ev, out) => held(ctx, ev, out)) },
  'blob.gone': { actions: act('blob.gone', (ctx, ev) => gone(ctx, ev)) },
  peers: { actions: act('peers', (ctx, ev) => peers(ctx, ev)) },
  'has.answer': { actions: act('has.answer', (ctx, ev) => hasAnswer(ctx, ev)) },
  fetched: { actions: act('fetched', (ctx, ev, out) => fetched(ctx, ev, out)) },
  assembled: { actions: act('assembled', (ctx, ev, out) => assembled(ctx, ev, out)) },
  'timer.fired': {
    actions: act('timer.fired', (ctx, ev) => {
      // The tick fired: it is re-armed below if still needed; the plan brings what came due. The
      // announce timer only lets time pass: the announcement below goes again if still needed.
      if (ev.name === 'tick') ctx.ticking = false
    }),
  },
  'reeve.registered': { actions: act('reeve.registered', (ctx, ev) => announced(ctx, ev.id)) },
  'call.refused': { actions: act('call.refused', (ctx, ev, out) => announceFailed(ctx, ev.id, out)) },
  'call.failed': { actions: act('call.failed', (ctx, ev, out) => announceFailed(ctx, ev.id, out)) },
}

export const pasticheLogic = S.createMachine({
  id: 'pastiche',
  context: ({ input }) => createPasticheContext(input),
  entry: S.enqueueActions(({ context, enqueue }) => {
    const out: Effect[] = []
    restored(context, out)
    plan(context, out)
    rearm(context, out)
    announce(context, out)
    for (const e of out) enqueue.emit(e)
  }),
  initial: 'idle',
  on: handlers,
  states: {
    idle: { always: { guard: working, target: 'working' } },
    working: { always: { guard: (a) => !working(a), target: 'idle' } },
  },
})

/** The pastiche machine as the runtime knows it. */
export const pasticheMachine = defineMachine('pastiche', '2', pasticheLogic)
