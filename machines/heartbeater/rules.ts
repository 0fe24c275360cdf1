/**
 * The heartbeater's rules (seeds 001 and 004, original-crux.md §5.2): a service is up while its
 * heartbeats keep arriving; each beat says how long it holds (`expiresMs − atMs` on the service's
 * clock), and that span is laid on the heartbeater's own clock from the beat's arrival, so the two
 * clocks need not agree. A service whose last beat lapsed is marked down; a new beat brings it back.
 * Mutates the context in place and pushes effects, like the flock's rules. Pure module.
 */
import type { Effect } from '../effects.js'

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
  netId: string
  state: 'up' | 'down'
  /** Heartbeater clock: when it goes down without another beat. */
  until: number
  various: string
}

export interface HeartbeaterContext {
  services: Record<string, Tracked>
  /** When the sweep timer is armed for (null: not armed). */
  armedFor: number | null
  /** The time of the latest event. */
  now: number
}

/** A beat holds at least this long and at most this long, whatever it says (ms). */
export const MIN_HOLD_MS = 100
export const MAX_HOLD_MS = 3_600_000

export function createHeartbeaterContext(now: number): HeartbeaterContext {
  return { services: Object.create(null), armedFor: null, now }
}

function announce(out: Effect[], s: Tracked, cause: string): void {
  out.push({ type: 'emit', record: { type: 'ServiceState', uuid: s.uuid, netId: s.netId, state: s.state, cause } })
}

/** A heartbeat arrived. */
export function beat(ctx: HeartbeaterContext, b: Beat, now: number, out: Effect[]): void {
  const hold = Math.min(MAX_HOLD_MS, Math.max(MIN_HOLD_MS, b.expiresMs - b.atMs))
  const prev = ctx.services[b.uuid]
  const s: Tracked = { uuid: b.uuid, netId: b.netId, state: b.state, until: now + hold, various: b.various }
  ctx.services[b.uuid] = s
  if (prev === undefined || prev.state !== s.state || prev.netId !== s.netId) announce(out, s, prev === undefined ? 'first-beat' : 'beat')
}

/** A service left. */
export function deregister(ctx: HeartbeaterContext, uuid: string, out: Effect[]): void {
  const s = ctx.services[uuid]
  if (s === undefined) return
  delete ctx.services[uuid]
  if (s.state === 'up') announce(out, { ...s, state: 'down' }, 'deregistered')
}

/** Marks down every service whose beats lapsed by `now`. */
export function sweep(ctx: HeartbeaterContext, now: number, out: Effect[]): void {
  for (const uuid in ctx.services) {
    const s = ctx.services[uuid]!
    if (s.state === 'up' && s.until <= now) {
      s.state = 'down'
      announce(out, s, 'expired')
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
