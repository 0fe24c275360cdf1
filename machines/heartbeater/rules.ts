/**
 * The heartbeater's rules (seeds 001 and 004, original-crux.md §5.2): a heartbeat-kept registration is
 * up while its heartbeats keep arriving; each beat says how long it holds (`expiresMs − atMs` on the
 * service's clock), and that span is laid on the heartbeater's own clock from the beat's arrival, so
 * the two clocks need not agree. One whose last beat lapsed is down; a new beat brings it back. What
 * is kept (uuid → NodeID, hold) is persisted under `beat/<uuid>`, so after a restart each gets one more
 * hold to beat again. Each change of state goes to the reeve. Mutates the context in place and pushes
 * effects, like the flock's rules. Pure module.
 */
import type { Effect } from '../effects.js'
import { refuse, send } from '../strew/act.js'
import { actorOf } from '../strew/addresses.js'
import type { HeartbeatBeats, HeartbeatKeep, HeartbeaterInput, Inbound, Kept } from '../strew/events.js'

/** One heartbeat, as machines see it (protos/crux/v1/heartbeat.proto). */
export interface Beat {
  uuid: string
  state: 'up' | 'down'
  netId: string
  atMs: number
  expiresMs: number
  various: string
}

export interface Tracked {
  uuid: string
  nodeId: string
  /** The hold registered (what is persisted); each beat brings its own. */
  holdMs: number
  state: 'up' | 'down'
  /** Heartbeater clock: when it goes down without another beat. */
  until: number
}

export interface HeartbeaterContext {
  node: string
  keyId: string
  services: Record<string, Tracked>
  /** When the sweep timer is armed for (null: not armed). */
  armedFor: number | null
  now: number
}

/** A beat holds at least this long and at most this long, whatever it says (ms). */
export const MIN_HOLD_MS = 100
export const MAX_HOLD_MS = 3_600_000

const clamp = (ms: number) => Math.min(MAX_HOLD_MS, Math.max(MIN_HOLD_MS, Number.isFinite(ms) ? ms : MIN_HOLD_MS))

export function createHeartbeaterContext(o: HeartbeaterInput): HeartbeaterContext {
  const services: Record<string, Tracked> = {}
  // Restored after a restart: each gets one more hold from now to beat again.
  for (const k of o.kept ?? []) services[k.uuid] = { uuid: k.uuid, nodeId: k.nodeId, holdMs: k.holdMs, state: 'up', until: o.now + clamp(k.holdMs) }
  return { node: o.node, keyId: o.keyId, services, armedFor: null, now: o.now }
}

function announce(ctx: HeartbeaterContext, s: Tracked, out: Effect[]): void {
  send(out, actorOf(ctx.node, 'reeve'), { type: 'service.state', nodeId: s.nodeId, state: s.state })
}

/** At start: every restored registration is up again (for one more hold). */
export function restored(ctx: HeartbeaterContext, out: Effect[]): void {
  for (const uuid of Object.keys(ctx.services).sort()) announce(ctx, ctx.services[uuid]!, out)
}

/** The reeve registered a heartbeat-kept service: its first beat. */
export function keep(ctx: HeartbeaterContext, ev: HeartbeatKeep, now: number, out: Effect[]): void {
  const prev = ctx.services[ev.uuid]
  const s: Tracked = { uuid: ev.uuid, nodeId: ev.nodeId, holdMs: ev.holdMs, state: ev.state ?? 'up', until: now + clamp(ev.holdMs) }
  ctx.services[ev.uuid] = s
  const k: Kept = { uuid: s.uuid, nodeId: s.nodeId, holdMs: s.holdMs }
  out.push({ type: 'persist', key: `beat/${s.uuid}`, value: k })
  if (prev === undefined || prev.state !== s.state || prev.nodeId !== s.nodeId) announce(ctx, s, out)
}

/** Heartbeats (all but uuid `but`) no longer keep `nodeId`: forgotten, silently (the reeve says what became of it). */
export function unkeep(ctx: HeartbeaterContext, nodeId: string, but: string | undefined, out: Effect[]): void {
  for (const uuid of Object.keys(ctx.services)) {
    if (ctx.services[uuid]!.nodeId !== nodeId || uuid === but) continue
    delete ctx.services[uuid]
    out.push({ type: 'persist', key: `beat/${uuid}`, value: null })
  }
}

/** Heartbeats from a local service: all taken, or none if one's uuid is not kept here. */
export function beats(ctx: HeartbeaterContext, ev: Inbound<HeartbeatBeats>, now: number, out: Effect[]): void {
  if (ev.caller !== ctx.keyId) return refuse(out, ev, 'PERMISSION_DENIED', 'call refused')
  const unknown = ev.beats.find((b) => ctx.services[b.uuid] === undefined)
  if (unknown !== undefined) return refuse(out, ev, 'NOT_FOUND', `heartbeat uuid ${JSON.stringify(unknown.uuid).slice(0, 200)} is not registered here`)
  for (const b of ev.beats) {
    const s = ctx.services[b.uuid]!
    const was = s.state
    s.state = b.state
    s.until = now + clamp(b.expiresMs - b.atMs)
    if (s.state !== was) announce(ctx, s, out)
  }
  send(out, ev.from, { type: 'heartbeat.ok', id: ev.id })
}

/** Marks down every service whose beats lapsed by `now`. */
export function sweep(ctx: HeartbeaterContext, now: number, out: Effect[]): void {
  for (const uuid of Object.keys(ctx.services).sort()) {
    const s = ctx.services[uuid]!
    if (s.state === 'up' && s.until <= now) {
      s.state = 'down'
      announce(ctx, s, out)
    }
  }
}

/** Arms the sweep timer for the earliest lapse of an up service (or cancels it): exact, not polled. */
export function rearm(ctx: HeartbeaterContext, now: number, out: Effect[]): void {
  let earliest: number | null = null
  for (const uuid in ctx.services) {
    const s = ctx.services[uuid]!
    if (s.state === 'up' && (earliest === null || s.until < earliest)) earliest = s.until
  }
  if (earliest === ctx.armedFor) return
  ctx.armedFor = earliest
  if (earliest === null) out.push({ type: 'timer.cancel', name: 'sweep' })
  else out.push({ type: 'timer.set', name: 'sweep', ms: Math.max(0, earliest - now) })
}
