/**
 * The picket machine's context and the small things every rule uses: where its messages go, how a
 * request is answered, its timers, a run looked up by number, a service's endpoint and its view.
 * Mutates nothing but what it is given; pure module.
 */
import type { Effect } from '../effects.js'
import { musterEndpoint } from './muster.js'
import type { CatalogEndpoint, Manifest, PicketConfig, PicketContext, PicketInput, PicketMessage, Run, Service, ServiceView } from './types.js'

/** The run edge's port: where every {@link PicketMessage} goes. */
export const RUN_PORT = 'port:picket-run'

/** A service name: a lower-case letter, then up to 62 lower-case letters, digits, `_` or `-` (it names a directory). */
export const SERVICE_NAME = /^[a-z][a-z0-9_-]{0,62}$/

/** A bundle's hash, as pastiche names blobs. */
export const BUNDLE_HASH = /^sha256:[0-9a-f]{64}$/

/** Settings a host leaves out. */
export const DEFAULT_PICKET_CONFIG: PicketConfig = { backoffMinMs: 250, backoffMaxMs: 60_000, backoffResetMs: 60_000, hbMs: 1000 }

/**
 * The machine's timers, one of each kind per service, named `<kind>:<service>`: the start deadline of
 * the current run (`start`) and of an upgrade's next one (`upstart`), the hung check (`hb`), the
 * backoff reset (`reset`), the wait before a restart (`backoff`), the kill after a stop's quit
 * (`stop`), the walking dead's grace and its kill after quit (`grace`, `retire`), and a registration
 * tried again after a refusal (`reg`).
 */
export type TimerKind = 'start' | 'upstart' | 'hb' | 'reset' | 'backoff' | 'stop' | 'grace' | 'retire' | 'reg'

const KINDS: readonly string[] = ['start', 'upstart', 'hb', 'reset', 'backoff', 'stop', 'grace', 'retire', 'reg'] satisfies TimerKind[]
const isKind = (k: string): k is TimerKind => KINDS.includes(k)

/** A timer's kind and service, or null for a name this machine never sets. */
export function parseTimer(name: string): { kind: TimerKind; service: string } | null {
  const colon = name.indexOf(':')
  const kind = name.slice(0, colon)
  if (colon < 0 || !isKind(kind)) return null
  return { kind, service: name.slice(colon + 1) }
}

export function setTimer(out: Effect[], kind: TimerKind, s: Service, ms: number): void {
  out.push({ type: 'timer.set', name: `${kind}:${s.name}`, ms: Math.max(0, ms) })
}

export function cancelTimers(out: Effect[], s: Service, ...kinds: TimerKind[]): void {
  for (const k of kinds) out.push({ type: 'timer.cancel', name: `${k}:${s.name}` })
}

/** Sends `msg` to the run edge (control class: a decision is never dropped by a full mailbox). */
export function tell(out: Effect[], msg: PicketMessage): void {
  out.push({ type: 'send', to: RUN_PORT, event: msg, cls: 'control' })
}

/** Publishes a MonInfo record (the beacon and `crux watch` show it). */
export function monitor(out: Effect[], record: { type: string; [k: string]: unknown }): void {
  out.push({ type: 'emit', record })
}

/**
 * Answers request `ev` (one answer per request, to its `from`): the service on success; a refusal as
 * the road ends a call with a status (`call.refused`, runtime/road-routes.ts), so the caller hears the code.
 */
export function answer(out: Effect[], ev: { id: number; from: string }, code: string, message: string, s: Service | null): void {
  const event = code === 'OK' ? { type: 'picket.answer', id: ev.id, code, message, service: s === null ? null : viewOf(s) } : { type: 'call.refused', id: ev.id, code, message }
  out.push({ type: 'send', to: ev.from, event, cls: 'control' })
}

/** Persists what a restart needs of `s` (`svc/<name>`). */
export function persist(out: Effect[], s: Service, stopped: boolean): void {
  out.push({ type: 'persist', key: `svc/${s.name}`, value: { name: s.name, hash: s.hash, stopped, manifest: s.manifest } })
}

/** A new context; the services of `o.services` are added by the caller (machines/picket/requests.ts `restore`). */
export function createPicketContext(o: PicketInput): PicketContext {
  return {
    node: o.node,
    now: o.now,
    config: { ...DEFAULT_PICKET_CONFIG, ...o.config },
    input: { reeve: o.reeve, heartbeater: o.heartbeater, keyId: o.keyId, self: o.self, nodeIdPrefix: o.nodeIdPrefix, horde: o.horde, ...(o.labels === undefined || o.labels.length === 0 ? {} : { labels: o.labels }) },
    services: {},
    nextRun: 1,
    nextId: 1,
    calls: {},
    muster: o.address === undefined ? null : { endpoint: musterEndpoint(o, o.node, o.address), announced: null, sending: null, notBefore: o.now },
  }
}

/** A new run of bundle `hash`, numbered from the context (never reused). */
export function newRun(ctx: PicketContext, hash: string): Run {
  return { run: ctx.nextRun++, hash, pid: null, address: null, registering: null, registered: false, lastBeat: ctx.now, since: ctx.now, quitting: false }
}

/** Which of a service's runs run `run` is. */
export type Slot = 'current' | 'next' | 'old'

/** The service and slot run `run` is in, or null for a run no longer followed (its news is ignored). */
export function findRun(ctx: PicketContext, run: number): { s: Service; slot: Slot; r: Run } | null {
  for (const name in ctx.services) {
    const s = ctx.services[name]!
    if (s.current?.run === run) return { s, slot: 'current', r: s.current }
    if (s.next?.run === run) return { s, slot: 'next', r: s.next }
    if (s.old?.run === run) return { s, slot: 'old', r: s.old }
  }
  return null
}

/** Whether the current run has a process (it is spawned once its bundle is ready). */
export const currentSpawned = (s: Service): boolean => s.current !== null && s.state !== 'preparing'
/** Whether the upgrade's next run has a process (spawned as soon as its manifest is known). */
export const nextSpawned = (s: Service): boolean => s.next !== null && s.next.manifest !== null
/** Whether any process of `s` may still be alive. */
export const anyAlive = (s: Service): boolean => currentSpawned(s) || nextSpawned(s) || s.old !== null

/** The NodeID a manifest's service registers under on this node. */
export const nodeIdOf = (ctx: PicketContext, m: Manifest): string => `${ctx.input.nodeIdPrefix}/${m.service}/${m.api}`

/** The catalog endpoint of a run of `m` serving at `address`. */
export function endpointOf(ctx: PicketContext, m: Manifest, address: string): CatalogEndpoint {
  return { nodeId: nodeIdOf(ctx, m), netId: `/${m.api}/${m.instance}/net/${address}`, horde: ctx.input.horde, api: m.api, instance: m.instance, address, state: 'up', keyId: '' }
}

/** What a request's answer and `ls` show of `s`. */
export function viewOf(s: Service): ServiceView {
  const r = s.current
  return {
    name: s.name,
    hash: s.hash,
    api: s.manifest?.api ?? '',
    instance: s.manifest?.instance ?? '',
    state: s.state,
    pid: r?.pid ?? null,
    restarts: s.restarts,
    up: s.state === 'running' && r !== null && r.registered,
    address: r?.address ?? null,
    reason: s.reason,
  }
}

/** How an exit reads in a reason. */
export function describeExit(ev: { code: number | null; signal: string | null; error?: string }): string {
  if (ev.error !== undefined) return `could not be spawned: ${String(ev.error).slice(0, 500)}`
  if (ev.signal !== null) return `killed by ${ev.signal}`
  return `exited with code ${ev.code ?? 'unknown'}`
}
