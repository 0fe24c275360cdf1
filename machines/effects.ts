/**
 * Effects as data. A machine never touches the world: it emits these records (with XState's `emit`
 * action) and the runtime executes them after the step, in order. Because they are plain JSON they
 * are also what the journal records as a step's output and what replay compares.
 *
 * Pure module: imports only xstate.
 */
import { emit } from 'xstate'

/** Mailbox classes: `control` is never dropped, `heartbeat` keeps only the newest per key, `data` drops oldest. */
export type MessageClass = 'control' | 'heartbeat' | 'data'

/**
 * Any event a hosted machine receives, as the runtime carries it (mailboxes, journal, router): a
 * `type` and fields. The runtime adds `now` (ms on the node's clock) on delivery. A machine declares
 * what it actually takes as its own union with {@link HostEventOf}.
 */
export interface HostEvent {
  type: string
  now?: number
  [k: string]: unknown
}

/** What the runtime adds to every event it delivers to a machine. */
export interface Stamped {
  /** ms on the node's clock at delivery. */
  now?: number
}

/**
 * A machine's own event union `U`, as the host delivers it (stamped with `now`). Declare it through
 * `setup({ types: { events: {} as HostEventOf<U> } })`; each member is a type alias with a literal
 * `type`, so the union discriminates and stays assignable to {@link HostEvent}.
 */
export type HostEventOf<U extends { type: string }> = U extends unknown ? U & Stamped : never

/** The member of union `E` whose type is `T`. */
export type EventOf<E extends { type: string }, T extends E['type']> = Extract<E, { type: T }>

/** Send `event` to actor `to` (a local actor id, or an address the node's router knows). */
export interface SendEffect {
  type: 'send'
  to: string
  event: HostEvent
  /** Default `data`. */
  cls?: MessageClass
  /** For `heartbeat`: the supersede key (normally the sender); defaults to the sending actor's id. */
  key?: string
}

/** Start (or restart) the named timer: after `ms`, `{type:'timer.fired', name}` arrives as an input. */
export interface TimerSetEffect {
  type: 'timer.set'
  name: string
  ms: number
}

/** Cancel the named timer if it is pending. */
export interface TimerCancelEffect {
  type: 'timer.cancel'
  name: string
}

/** Publish a record (MonInfo and the like) to whoever listens: beacon, ring buffer, visualiser. */
export interface EmitEffect {
  type: 'emit'
  record: { type: string; [k: string]: unknown }
}

/** Log a structured statement through the node's walrus logger, under the actor's component. */
export interface LogEffect {
  type: 'log'
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error'
  msg: string
  fields?: Record<string, unknown>
  tag?: string
}

/** Store `value` under `key` in the node's persistent store (written atomically by the runtime). */
export interface PersistEffect {
  type: 'persist'
  key: string
  value: unknown
}

export type Effect = SendEffect | TimerSetEffect | TimerCancelEffect | EmitEffect | LogEffect | PersistEffect

/** The event a timer delivers. */
export type TimerFiredEvent = { type: 'timer.fired'; name: string }

/**
 * All heartbeat-class messages pending at an actor's turn, delivered as one step. `B` is what the
 * actor's route puts in the heartbeat class (the flock: its Info packets).
 */
export type HeartbeatBatchEvent<B extends { type: string } = HostEvent> = { type: 'heartbeat.batch'; beats: Array<HostEventOf<B>> }

/** The effect types, for validating journals and routing. */
export const EFFECT_TYPES: ReadonlySet<string> = new Set(['send', 'timer.set', 'timer.cancel', 'emit', 'log', 'persist'])

/**
 * Action creators. Each returns an XState `emit` action, so a machine writes
 * `actions: [effect.send(({ event }) => ({ to: event.from, event: { type: 'pong' } }))]`.
 */
type Maker<T> = T | ((args: { context: any; event: any }) => T)

function lift<T extends Effect>(type: T['type'], make: Maker<Omit<T, 'type'>>) {
  return emit((args: { context: any; event: any }) => {
    const body = typeof make === 'function' ? (make as (a: typeof args) => Omit<T, 'type'>)(args) : make
    return { type, ...body } as any
  })
}

export const effect = {
  send: (make: Maker<Omit<SendEffect, 'type'>>) => lift<SendEffect>('send', make),
  setTimer: (make: Maker<Omit<TimerSetEffect, 'type'>>) => lift<TimerSetEffect>('timer.set', make),
  cancelTimer: (make: Maker<Omit<TimerCancelEffect, 'type'>>) => lift<TimerCancelEffect>('timer.cancel', make),
  emit: (make: Maker<Omit<EmitEffect, 'type'>>) => lift<EmitEffect>('emit', make),
  log: (make: Maker<Omit<LogEffect, 'type'>>) => lift<LogEffect>('log', make),
  persist: (make: Maker<Omit<PersistEffect, 'type'>>) => lift<PersistEffect>('persist', make),
}
