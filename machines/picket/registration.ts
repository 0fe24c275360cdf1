/**
 * A service's place in the catalog: each run that says where it serves is registered with the node's
 * reeve under `/bloc/horde/node/<Service>/<Api>`, kept by heartbeats (uuid `<Service>/<Api>`, holding
 * the manifest's ttl), which the machine forwards to the heartbeater as the run beats; a run that ends
 * is deregistered. The reeve and the heartbeater answer into the machine's mailbox; each call is
 * remembered by id (`ctx.calls`) so a late answer about a run no longer followed changes nothing.
 * Mutates the context in place and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import type { Beat } from '../heartbeater/rules.js'
import { endpointOf, findRun, nodeIdOf, setTimer } from './context.js'
import type { CallFailed, CallRefused, HeartbeatOk, Manifest, PicketContext, ReeveDeregistered, ReeveRegistered, Run, Service } from './types.js'

function call(ctx: PicketContext, out: Effect[], to: string, kind: 'register' | 'deregister' | 'beat', s: Service, r: Run, fields: { type: string; [k: string]: unknown }): number {
  const id = ctx.nextId++
  ctx.calls[id] = { kind, name: s.name, run: r.run }
  out.push({ type: 'send', to, event: { ...fields, id, from: ctx.input.self, caller: ctx.input.keyId }, cls: 'control' })
  return id
}

/** Registers run `r` of `s` (manifest `m`) at its address, kept by heartbeats; the answer is `reeve.registered`. */
export function register(ctx: PicketContext, s: Service, r: Run, m: Manifest, out: Effect[]): void {
  if (r.address === null) return
  const endpoint = endpointOf(ctx, m, r.address)
  const heartbeat = { uuid: `${m.service}/${m.api}`, holdMs: m.ttlMs }
  r.registering = call(ctx, out, ctx.input.reeve, 'register', s, r, { type: 'reeve.register', endpoint, heartbeat })
}

/** Removes run `r`'s registration, if it has one or one is on its way (messages to the reeve keep their order). */
export function deregister(ctx: PicketContext, s: Service, r: Run, m: Manifest | null, out: Effect[]): void {
  if (m === null || (!r.registered && r.registering === null)) return
  call(ctx, out, ctx.input.reeve, 'deregister', s, r, { type: 'reeve.deregister', nodeId: nodeIdOf(ctx, m) })
  r.registered = false
  r.registering = null
}

/**
 * Forwards a beat of the registered current run to the heartbeater, holding for the manifest's ttl
 * from now. One beats call per run at a time: a beat while one is on its way is dropped, since the
 * one on its way already holds the registration to within a round trip, and the run beats again.
 */
export function beat(ctx: PicketContext, s: Service, r: Run, m: Manifest, out: Effect[]): void {
  if (r.address === null) return
  for (const id in ctx.calls) if (ctx.calls[id]!.kind === 'beat' && ctx.calls[id]!.run === r.run) return
  const b: Beat = { uuid: `${m.service}/${m.api}`, state: 'up', netId: endpointOf(ctx, m, r.address).netId, atMs: ctx.now, expiresMs: ctx.now + m.ttlMs, various: '' }
  call(ctx, out, ctx.input.heartbeater, 'beat', s, r, { type: 'heartbeat.beats', beats: [b] })
}

/** The run whose registration `id` was answered, if it is still followed and that registration is its latest. */
export function registeredRun(ctx: PicketContext, ev: ReeveRegistered): ReturnType<typeof findRun> {
  const c = ctx.calls[ev.id]
  if (c === undefined) return null
  delete ctx.calls[ev.id]
  if (c.kind !== 'register') return null
  const found = findRun(ctx, c.run)
  if (found === null || found.r.registering !== ev.id) return null
  found.r.registering = null
  found.r.registered = true
  return found
}

/** A deregistration or a beat was taken: nothing more to do for it. */
export function settled(ctx: PicketContext, ev: ReeveDeregistered | HeartbeatOk): void {
  delete ctx.calls[ev.id]
}

/**
 * A call was refused or could not be delivered. A registration is tried again after one heartbeat of
 * the flock (`reg` timer) while its run still needs it (a start deadline bounds the tries); a beat or a
 * deregistration is not: the next beat goes anyway, and a registration the reeve lacks needs no removal.
 */
export function refused(ctx: PicketContext, ev: CallRefused | CallFailed, out: Effect[]): void {
  if (ev.id === undefined) return
  const c = ctx.calls[ev.id]
  if (c === undefined) return
  delete ctx.calls[ev.id]
  if (c.kind !== 'register') return
  const found = findRun(ctx, c.run)
  if (found === null || found.r.registering !== ev.id) return
  found.r.registering = null
  found.s.reason = `registration refused: ${ev.code} ${ev.message}`.slice(0, 500)
  setTimer(out, 'reg', found.s, ctx.config.hbMs)
}

/** The `reg` timer: the current and next runs that serve somewhere but are not registered are registered again (not one being stopped or killed). */
export function registerAgain(ctx: PicketContext, s: Service, out: Effect[]): void {
  const cur = s.current
  if (cur !== null && s.manifest !== null && (s.state === 'starting' || s.state === 'running') && !cur.quitting && !cur.registered && cur.registering === null) register(ctx, s, cur, s.manifest, out)
  const next = s.next
  if (next !== null && next.manifest !== null && !next.quitting && !next.registered && next.registering === null) register(ctx, s, next, next.manifest, out)
}
