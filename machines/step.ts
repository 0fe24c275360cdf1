/**
 * The action shape the small machines share (status, heartbeater, steward, reeve): stamp the event's
 * time on the context (a start-up step has none of its own and keeps the last), run the rule, and
 * emit the effects it pushed. Pure module.
 *
 * A machine with its own event union `E` (see {@link HostEventOf}) takes `stepsOf<C, E>()`, whose
 * `on(type, rule)` hands the rule exactly the member of `E` that `type` names:
 *
 *   const on = stepsOf<Ctx, HostEventOf<MyEvent>>()
 *   setup({ types: {} as { context: Ctx; events: HostEventOf<MyEvent> } }).createMachine({
 *     on: { 'x.done': { actions: on('x.done', (ctx, ev, now, out) => use(ev.result)) } },
 *   })
 */
import { enqueueActions } from 'xstate'
import type { Effect, EventOf, HostEvent } from './effects.js'

/** The least an event carries: its type, and the time the host stamped on it. */
type AnyEvent = { type: string; now?: number }

/** A rule of a machine over its context `C` and event `E`; it pushes its effects on `out`. */
export type Rule<C, E> = (ctx: C, ev: E, now: number, out: Effect[]) => void

/** Whether `ev` is the member of its union that `type` names (narrows it, checked at run time). */
export function isEvent<E extends AnyEvent, T extends E['type']>(ev: E, type: T): ev is EventOf<E, T> {
  return ev.type === type
}

// Typed loosely on the way out: XState's action generics do not survive being built by a helper.
function action<C extends { now: number }, E extends AnyEvent>(rule: Rule<C, E>): any {
  return enqueueActions(({ context, event, enqueue }: { context: C; event: E; enqueue: { emit: (e: never) => void } }) => {
    const out: Effect[] = []
    const now = (context.now = event.now ?? context.now)
    rule(context, event, now, out)
    for (const e of out) enqueue.emit(e as never)
  })
}

/** An action running `rule` over a context that carries `now`, for any event of the machine's union `E`. */
export function step<C extends { now: number }, E extends AnyEvent = HostEvent>(rule: Rule<C, E>): any {
  return action(rule)
}

/**
 * The steps of a machine over context `C` and event union `E`: `on(type, rule)` is the action for
 * events of `type`, and its rule sees that member of `E` (an event of another type is ignored, which
 * cannot happen where XState routes by type); `any(rule)` takes every event (entry actions).
 */
export function stepsOf<C extends { now: number }, E extends AnyEvent>() {
  return {
    on: <T extends E['type']>(type: T, rule: Rule<C, EventOf<E, T>>): any =>
      action<C, E>((ctx, ev, now, out) => {
        if (isEvent(ev, type)) rule(ctx, ev, now, out)
      }),
    any: (rule: Rule<C, E>): any => action(rule),
  }
}
