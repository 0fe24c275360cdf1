/**
 * The action shape the small machines share (status, heartbeater, steward, reeve): stamp the event's
 * time on the context (a start-up step has none of its own and keeps the last), run the rule, and
 * emit the effects it pushed. Pure module.
 */
import { enqueueActions } from 'xstate'
import type { Effect, HostEvent } from './effects.js'

/** An action running `rule` over a context that carries `now`. */
export function step<C extends { now: number }>(rule: (ctx: C, ev: HostEvent, now: number, out: Effect[]) => void): any {
  return enqueueActions(({ context, event, enqueue }: { context: C; event: HostEvent; enqueue: { emit: (e: never) => void } }) => {
    const out: Effect[] = []
    const now = (context.now = event.now ?? context.now)
    rule(context, event, now, out)
    for (const e of out) enqueue.emit(e as never)
  })
}
