/**
 * The reeve's inbound calls from its own node (register, deregister) and from a registering steward
 * (keys.pull), judged and answered. Local callers must hold the node's own key; the call-back must
 * come from the steward key a registration named (or the current steward's). Heartbeat-kept
 * registrations are handed to the heartbeater, the rest are served at once. Pure module.
 */
import type { Effect } from '../effects.js'
import { refuse, send } from '../strew/act.js'
import { actorOf } from '../strew/addresses.js'
import { IdFormatError, parseNodeId } from '../strew/ids.js'
import type { Inbound, KeysPull, ReeveDeregister, ReeveRegister } from '../strew/events.js'
import { deregister, health, register, type ReeveContext } from './rules.js'

/** Registers a local service; false when refused (nothing changed). */
export function registerCall(ctx: ReeveContext, ev: Inbound<ReeveRegister>, out: Effect[]): boolean {
  if (ev.caller !== ctx.keyId) return refuse(out, ev, 'PERMISSION_DENIED', 'call refused'), false
  const e = ev.endpoint
  let node: string
  try {
    node = parseNodeId(e.nodeId).node
  } catch (err) {
    if (err instanceof IdFormatError) return refuse(out, ev, 'INVALID_ARGUMENT', `endpoint.node_id: ${err.message}`), false
    throw err
  }
  if (node !== ctx.node) return refuse(out, ev, 'INVALID_ARGUMENT', `endpoint.node_id must name this node (${ctx.node})`), false
  // Only a service registered here before can be kept by the heartbeater (it keeps what the reeve
  // registered), so only then, or with heartbeats now, may the heartbeater persist for this call.
  const heartbeater = ev.heartbeat !== undefined || ctx.local[e.nodeId] !== undefined
  register(ctx, e, out)
  const hb = actorOf(ctx.node, 'heartbeater')
  // Registered again: heartbeats under another uuid (or none now) no longer keep it. (A service new
  // here is kept by none: the fulcrum drops, at start, any the heartbeater kept that the reeve lacks.)
  if (heartbeater) send(out, hb, { type: 'heartbeat.unkeep', nodeId: e.nodeId, ...(ev.heartbeat === undefined ? {} : { but: ev.heartbeat.uuid }) })
  if (ev.heartbeat !== undefined) {
    const h = ev.heartbeat
    send(out, hb, { type: 'heartbeat.keep', uuid: h.uuid, nodeId: e.nodeId, holdMs: h.holdMs, ...(h.state === undefined ? {} : { state: h.state }) })
  } else health(ctx, e.nodeId, e.state === 'up', out)
  send(out, ev.from, { type: 'reeve.registered', id: ev.id, heartbeater })
  return true
}

/** Deregisters a local service; false when refused. */
export function deregisterCall(ctx: ReeveContext, ev: Inbound<ReeveDeregister>, out: Effect[]): boolean {
  if (ev.caller !== ctx.keyId) return refuse(out, ev, 'PERMISSION_DENIED', 'call refused'), false
  if (ctx.local[ev.nodeId] === undefined) return refuse(out, ev, 'NOT_FOUND', `${ev.nodeId} is not registered here`), false
  deregister(ctx, ev.nodeId, out)
  send(out, actorOf(ctx.node, 'heartbeater'), { type: 'heartbeat.unkeep', nodeId: ev.nodeId })
  health(ctx, ev.nodeId, 'gone', out)
  send(out, ev.from, { type: 'reeve.deregistered', id: ev.id, heartbeater: true })
  return true
}

/** Factor 2 of a registration: the steward asks us to prove our key (the edge signs the answer). */
export function keysPull(ctx: ReeveContext, ev: Inbound<KeysPull>, out: Effect[]): void {
  const from = ev.caller
  if (from === '' || (from !== ctx.callback?.keyId && from !== ctx.steward?.keyId)) return refuse(out, ev, 'PERMISSION_DENIED', 'call refused')
  if (ev.keyId !== ctx.keyId) return refuse(out, ev, 'NOT_FOUND', 'no such key here')
  send(out, ev.from, { type: 'keys.proof', id: ev.id, keyId: ev.keyId, challenge: ev.challenge })
}
