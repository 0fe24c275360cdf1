/**
 * The rules of a node's service driver (machines/strew/driver.machine.ts): the local services of one
 * node as the simulator runs them. Each service registers with the node's reeve at its own time, kept
 * by heartbeats with a TTL, and then beats every heartbeat, as a service linked to the reeve's
 * ReeveService would; a registration the reeve refused, or beats it no longer keeps (NOT_FOUND),
 * register again at the next tick. Its requests carry a `from` the driver owns (`<node>/driver`), so
 * the answers come back to its mailbox and the whole exchange is in the journal. Mutates the context
 * in place and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import type { Beat, CatalogEndpoint, HeartbeatBeats, Inbound, ReeveRegister } from './events.js'

/** One service the driver runs. */
export interface DrivenService {
  endpoint: CatalogEndpoint
  /** The heartbeat uuid that keeps it. */
  uuid: string
  /** When it registers (ms on the node's clock). */
  at: number
  /** The id of its registration on its way, or null. */
  sending: number | null
  /** When the reeve accepted its registration (null: not registered). */
  registeredAt: number | null
}

export interface DriverContext {
  node: string
  /** This actor's address: where the reeve and the heartbeater answer. */
  self: string
  /** The node's own reeve KeyID: what a local caller of the reeve presents. */
  keyId: string
  hbMs: number
  /** How long each beat holds (the TTL), ms. */
  ttlMs: number
  /** The first tick comes this long after the spawn, ms. */
  phaseMs: number
  services: DrivenService[]
  /** The next request id. */
  nextId: number
  /** Beats on their way, by request id: the indexes of the services they keep. */
  beating: Record<string, number[]>
  /** Counters: registrations sent, accepted, refused; beat batches sent, refused. */
  stats: { registers: number; registered: number; refused: number; beats: number; beatsRefused: number }
  now: number
}

/** What the driver is spawned with. */
export interface DriverInput {
  node: string
  keyId: string
  hbMs: number
  ttlMs: number
  /** The services and when each registers (ms on the node's clock). */
  services: Array<{ endpoint: CatalogEndpoint; uuid: string; at: number }>
  /** The first tick comes this long after the spawn (spreads nodes' ticks over a heartbeat), ms. */
  phaseMs?: number
  now: number
}

/** The driver's actor id on node `node`. */
export const driverOf = (node: string): string => `${node}/driver`

export function createDriverContext(input: DriverInput): DriverContext {
  return {
    node: input.node,
    self: driverOf(input.node),
    keyId: input.keyId,
    hbMs: input.hbMs,
    ttlMs: input.ttlMs,
    phaseMs: Math.max(0, input.phaseMs ?? 0),
    services: input.services.map((s) => ({ endpoint: s.endpoint, uuid: s.uuid, at: s.at, sending: null, registeredAt: null })),
    nextId: 1,
    beating: Object.create(null),
    stats: { registers: 0, registered: 0, refused: 0, beats: 0, beatsRefused: 0 },
    now: input.now,
  }
}

/** Arms the first tick. */
export function start(ctx: DriverContext, out: Effect[]): void {
  out.push({ type: 'timer.set', name: 'tick', ms: ctx.phaseMs })
}

/**
 * A tick: every registered service beats (one batch), every service whose time has come and that is
 * not registered (or on its way) registers; the next tick is one heartbeat on.
 */
export function tick(ctx: DriverContext, now: number, out: Effect[]): void {
  const beats: Beat[] = []
  const keeps: number[] = []
  ctx.services.forEach((s, i) => {
    if (s.registeredAt !== null) {
      beats.push({ uuid: s.uuid, state: 'up', netId: s.endpoint.netId, atMs: now, expiresMs: now + ctx.ttlMs, various: '' })
      keeps.push(i)
    } else if (s.sending === null && s.at <= now) register(ctx, s, out)
  })
  if (beats.length > 0) {
    const id = ctx.nextId++
    ctx.beating[id] = keeps
    ctx.stats.beats++
    const ev: Inbound<HeartbeatBeats> = { type: 'heartbeat.beats', id, beats, from: ctx.self, caller: ctx.keyId }
    out.push({ type: 'send', to: `${ctx.node}/heartbeater`, event: ev, cls: 'control' })
  }
  out.push({ type: 'timer.set', name: 'tick', ms: ctx.hbMs })
}

function register(ctx: DriverContext, s: DrivenService, out: Effect[]): void {
  const id = ctx.nextId++
  s.sending = id
  ctx.stats.registers++
  const ev: Inbound<ReeveRegister> = { type: 'reeve.register', id, endpoint: s.endpoint, heartbeat: { uuid: s.uuid, holdMs: ctx.ttlMs, state: 'up' }, from: ctx.self, caller: ctx.keyId }
  out.push({ type: 'send', to: `${ctx.node}/reeve`, event: ev, cls: 'control' })
}

/** The reeve accepted registration `id`. */
export function registered(ctx: DriverContext, id: number, now: number): void {
  const s = ctx.services.find((x) => x.sending === id)
  if (s === undefined) return
  s.sending = null
  s.registeredAt = now
  ctx.stats.registered++
}

/**
 * Request `id` failed or was refused: a registration is tried again at the next tick; refused beats
 * (a uuid no longer kept) mean the services they carried register again.
 */
export function failed(ctx: DriverContext, id: number | undefined): void {
  if (id === undefined) return
  const s = ctx.services.find((x) => x.sending === id)
  if (s !== undefined) {
    s.sending = null
    ctx.stats.refused++
    return
  }
  const keeps = ctx.beating[id]
  if (keeps === undefined) return
  delete ctx.beating[id]
  ctx.stats.beatsRefused++
  for (const i of keeps) ctx.services[i]!.registeredAt = null
}

/** Beats `id` were taken. */
export function beaten(ctx: DriverContext, id: number): void {
  delete ctx.beating[id]
}
