/**
 * The requests of the node's PicketService (start, stop, reset, upgrade) and the services restored at
 * the machine's start. Only the node's own key may ask; each request is answered at once, with the
 * service as it stands after the step (null once it is gone). Mutates the context in place and
 * pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import { answer, BUNDLE_HASH, newRun, persist, SERVICE_NAME, tell } from './context.js'
import { halt } from './lifecycle.js'
import type { Manifest, PersistedService, PicketContext, PicketReset, PicketStart, PicketStop, PicketUpgrade, Service } from './types.js'

const quoted = (v: unknown) => JSON.stringify(String(v)).slice(0, 80)

/** Answers a request the caller may not make, or about a service this node lacks; else the service. */
function admit(ctx: PicketContext, ev: PicketStop | PicketReset | PicketUpgrade, out: Effect[]): Service | null {
  if (ev.caller !== ctx.input.keyId) return answer(out, ev, 'PERMISSION_DENIED', 'only the node itself may run services on it', null), null
  const s = typeof ev.name === 'string' && Object.hasOwn(ctx.services, ev.name) ? ctx.services[ev.name]! : null
  if (s === null) answer(out, ev, 'NOT_FOUND', `no service ${quoted(ev.name)} on this node`, null)
  return s
}

/** A new service of `name` running bundle `hash`: its bundle is prepared (run 1 of it). */
function create(ctx: PicketContext, name: string, hash: string, out: Effect[]): Service {
  const run = newRun(ctx, hash)
  const s: Service = { name, hash, manifest: null, state: 'preparing', current: run, next: null, old: null, restarts: 0, failures: 0, reason: '' }
  ctx.services[name] = s
  tell(out, { type: 'prepare', run: run.run, hash })
  return s
}

const badName = (name: unknown) => `service name ${quoted(name)}: a lower-case letter, then at most 62 lower-case letters, digits, "_" or "-"`
const badHash = (hash: unknown) => `bundle hash ${quoted(hash)}: sha256:<64 lower-case hex> expected`

/** `picket.start`: a new service (or a stopped or failed one again), prepared now; the caller watches `ls` for `running`. */
export function start(ctx: PicketContext, ev: PicketStart, out: Effect[]): void {
  if (ev.caller !== ctx.input.keyId) return answer(out, ev, 'PERMISSION_DENIED', 'only the node itself may run services on it', null)
  if (typeof ev.name !== 'string' || !SERVICE_NAME.test(ev.name)) return answer(out, ev, 'INVALID_ARGUMENT', badName(ev.name), null)
  if (typeof ev.hash !== 'string' || !BUNDLE_HASH.test(ev.hash)) return answer(out, ev, 'INVALID_ARGUMENT', badHash(ev.hash), null)
  const had = Object.hasOwn(ctx.services, ev.name) ? ctx.services[ev.name]! : null
  // A stopped or failed service runs nothing: starting it again (from this hash) is a new start.
  if (had !== null && had.state !== 'stopped' && had.state !== 'failed') return answer(out, ev, 'ALREADY_EXISTS', `service "${ev.name}" already exists on this node (${had.state}): upgrade, stop or reset it`, had)
  const s = create(ctx, ev.name, ev.hash, out)
  // Its restarts are the name's, counted across its starts (the inventory never counts back).
  s.restarts = had?.restarts ?? 0
  persist(out, s, false)
  answer(out, ev, 'OK', '', s)
}

/** `picket.stop`: every run asked to quit, killed after stopMs; kept stopped (also after a restart). A stopped or failed service is left as it is. */
export function stop(ctx: PicketContext, ev: PicketStop, out: Effect[]): void {
  const s = admit(ctx, ev, out)
  if (s === null) return
  if (s.state !== 'stopped' && s.state !== 'failed' && s.state !== 'stopping') {
    persist(out, s, true)
    halt(ctx, s, false, out)
  }
  answer(out, ev, 'OK', '', s)
}

/** `picket.reset`: stopped, then forgotten (its registration, its state, its directory); forgotten at once if nothing of it runs. */
export function reset(ctx: PicketContext, ev: PicketReset, out: Effect[]): void {
  const s = admit(ctx, ev, out)
  if (s === null) return
  out.push({ type: 'persist', key: `svc/${s.name}`, value: null })
  if (s.state === 'stopping') s.resetting = true
  else halt(ctx, s, true, out)
  answer(out, ev, 'OK', '', Object.hasOwn(ctx.services, s.name) ? s : null)
}

/** `picket.upgrade`: the new bundle is prepared and run beside the current one (machines/picket/lifecycle.ts `promote`, `rollback`). */
export function upgrade(ctx: PicketContext, ev: PicketUpgrade, out: Effect[]): void {
  const s = admit(ctx, ev, out)
  if (s === null) return
  if (typeof ev.hash !== 'string' || !BUNDLE_HASH.test(ev.hash)) return answer(out, ev, 'INVALID_ARGUMENT', badHash(ev.hash), s)
  if (s.next !== null) return answer(out, ev, 'FAILED_PRECONDITION', `service "${s.name}" is already being upgraded to ${s.next.hash}`, s)
  if (s.state !== 'starting' && s.state !== 'running' && s.state !== 'backoff') return answer(out, ev, 'FAILED_PRECONDITION', `service "${s.name}" is ${s.state}: only a started service can be upgraded`, s)
  s.next = { ...newRun(ctx, ev.hash), manifest: null }
  tell(out, { type: 'prepare', run: s.next.run, hash: ev.hash })
  answer(out, ev, 'OK', '', s)
}

/** The services persisted before a restart, by name, into a new context: each one not stopped is preparing again (its bundle is asked for by {@link prepareRestored}). */
/** A persisted manifest whose api and instance can be shown (the data dir is read back, not trusted). */
const WORD = /^[A-Za-z0-9._-]{1,64}$/
function shown(m: unknown): m is Manifest {
  const o = m as Record<string, unknown> | null | undefined
  return typeof o === 'object' && o !== null && typeof o.api === 'string' && WORD.test(o.api) && typeof o.instance === 'string' && WORD.test(o.instance) && typeof o.service === 'string' && WORD.test(o.service)
}

export function restore(ctx: PicketContext, services: readonly PersistedService[]): void {
  const valid = services.filter((p) => typeof p.name === 'string' && SERVICE_NAME.test(p.name) && typeof p.hash === 'string' && BUNDLE_HASH.test(p.hash))
  for (const p of [...valid].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (Object.hasOwn(ctx.services, p.name)) continue
    const stopped = p.stopped === true
    // A stopped one keeps the manifest it was stopped with, to show; one that runs again reads its bundle's.
    const manifest = stopped && shown(p.manifest) ? p.manifest : null
    ctx.services[p.name] = { name: p.name, hash: p.hash, manifest, state: stopped ? 'stopped' : 'preparing', current: stopped ? null : newRun(ctx, p.hash), next: null, old: null, restarts: 0, failures: 0, reason: '' }
  }
}

/** At the machine's start: the bundle of each restored service that is not stopped is prepared. */
export function prepareRestored(ctx: PicketContext, out: Effect[]): void {
  for (const name in ctx.services) {
    const s = ctx.services[name]!
    if (s.state === 'preparing' && s.current !== null) tell(out, { type: 'prepare', run: s.current.run, hash: s.hash })
  }
}
