/** Steps one strew machine by hand, as runtime/actor-cell.ts does (no clock; effects collected from emits), for the machine tests. */
import { createActor, type AnyStateMachine } from 'xstate'
import type { Effect, SendEffect } from '../../machines/effects.js'

const noClock = {
  setTimeout(): never {
    throw new Error('no real timers')
  },
  clearTimeout(): void {},
}

export interface Stepper {
  /** Delivers `ev` at `now` (default: the last time) and returns what the step emitted. */
  send(ev: { type: string; [k: string]: unknown }, now?: number): Effect[]
  /** What the start emitted. */
  start: Effect[]
  state(): string
  context(): any
}

/** Starts `logic` with `input`. */
export function stepper(logic: AnyStateMachine, input: unknown): Stepper {
  const actor = createActor(logic, { input, clock: noClock as never })
  const effects: Effect[] = []
  actor.on('*', (e: unknown) => effects.push(e as Effect))
  actor.start()
  const start = effects.splice(0)
  let now = (input as { now?: number }).now ?? 0
  return {
    start,
    send(ev, at) {
      now = at ?? now
      const from = effects.length
      actor.send({ ...ev, now })
      if (actor.getSnapshot().status === 'error') throw actor.getSnapshot().error
      return effects.slice(from)
    },
    state: () => pathOf(actor.getSnapshot().value),
    context: () => actor.getSnapshot().context,
  }
}

/** A state value as a path (`a.b`, parallel regions joined by `|`). */
export function pathOf(value: unknown): string {
  if (typeof value === 'string') return value
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}.${pathOf(v)}`)
    .join('|')
}

/** The send effects of `out` (to `to`, or matching `to`, and of event type `type` if given). */
export function sends(out: Effect[], type?: string, to?: string | RegExp): SendEffect[] {
  return out.filter((e): e is SendEffect => e.type === 'send' && (type === undefined || e.event.type === type) && (to === undefined || (typeof to === 'string' ? e.to === to : to.test(e.to))))
}

/** The events sent, of type `type`. */
export function sent(out: Effect[], type: string, to?: string | RegExp): Array<Record<string, any>> {
  return sends(out, type, to).map((e) => e.event)
}

/** Timer effects. */
export const timers = (out: Effect[]) => out.filter((e) => e.type === 'timer.set' || e.type === 'timer.cancel')

/** Persist effects. */
export const persists = (out: Effect[]) => out.filter((e) => e.type === 'persist')
