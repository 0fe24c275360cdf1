/**
 * Narrowing and sending for the strew machines' typed events: a type guard per event type, so an
 * action or guard written for one event sees exactly that event's fields (no casts), and `send`, which
 * takes only the messages of machines/strew/events.ts. Pure module.
 */
import type { Effect } from '../effects.js'
import type * as E from './events.js'

/** True when `e` is of type `t` (narrows the union). */
export function is<T extends string, Ev extends { type: string }>(e: Ev, t: T): e is Extract<Ev, { type: T }> {
  return e.type === t
}

/** Every message a strew machine sends. */
export type StrewMessage =
  | E.CallRefused
  | E.StewardLead
  | E.StewardRaise
  | E.StewardRetire
  | E.StewardMembers
  | E.EndpointsUpdate
  | E.EndpointsUpdated
  | E.CatalogPush
  | E.CatalogPushed
  | E.RegistryLead
  | E.RegistryRetire
  | E.RegistryMembers
  | E.RegistryRegisterRequest
  | E.RegistryBusy
  | E.RegistryDone
  | E.RegistryFailed
  | E.RegistryForgotten
  | E.KeysPull
  | E.KeysProof
  | E.ReeveRegistered
  | E.ReeveDeregistered
  | E.ReeveSteward
  | E.ReeveRegistering
  | E.ReeveRefused
  | E.ReeveRaised
  | E.ReeveBehind
  | E.ReeveMembers
  | E.FollowerRaised
  | E.ServiceState
  | E.CatalogSnapshot
  | E.CatalogDelta
  | E.HealthStatus
  | E.HeartbeatKeep
  | E.HeartbeatUnkeep
  | E.HeartbeatOk

/** Sends `event` to `to` (control class: protocol messages are never dropped by a full mailbox). */
export function send(out: Effect[], to: string, event: StrewMessage): void {
  out.push({ type: 'send', to, event, cls: 'control' })
}

/** Refuses an inbound call: `call.refused` to its `from`. */
export function refuse(out: Effect[], ev: { id: number; from: string }, code: E.CallCode, message: string): void {
  send(out, ev.from, { type: 'call.refused', id: ev.id, code, message })
}

/** What an action body of a strew machine receives from XState (the part it uses). */
export interface ActionArgs<C, Ev> {
  context: C
  event: Ev
  enqueue: { emit(effect: Effect): void }
}

/**
 * The body of an action for events of type `type`: stamps the context's `now` from the event, runs
 * `rule` (which pushes effects), and emits them in order. Each machine wraps it in its own
 * `S.enqueueActions`, so the rule sees exactly that event's fields.
 */
export function acting<C extends { now: number }, Ev extends { type: string; now?: number }, T extends Ev['type']>(type: T, rule: (ctx: C, ev: Extract<Ev, { type: T }>, out: Effect[]) => void) {
  return ({ context, event, enqueue }: ActionArgs<C, Ev>): void => {
    if (!is(event, type)) return
    context.now = event.now ?? context.now
    const out: Effect[] = []
    rule(context, event, out)
    for (const e of out) enqueue.emit(e)
  }
}

/** The body of an action for any event: runs `rule` and emits what it pushed (stamping `now` when the event has one). */
export function actingOnAny<C extends { now: number }, Ev extends { now?: number }>(rule: (ctx: C, out: Effect[]) => void) {
  return ({ context, event, enqueue }: ActionArgs<C, Ev>): void => {
    context.now = event.now ?? context.now
    const out: Effect[] = []
    rule(context, out)
    for (const e of out) enqueue.emit(e)
  }
}
