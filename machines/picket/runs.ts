/**
 * What the run edge reports: a bundle ready or not, a run spawned, listening, beating, exited. News of
 * a run the service no longer follows (a run killed in a rollback, one before a restart) is ignored.
 * Mutates the context in place and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import { anyAlive, cancelTimers, describeExit, findRun, monitor, nodeIdOf, setTimer } from './context.js'
import { crashed, finish, rollback, spawn, startCurrent } from './lifecycle.js'
import { beat, deregister, register } from './registration.js'
import type { BundleFailed, BundleReady, Manifest, PicketContext, RunAlive, RunExited, RunListening, RunSpawned, Service } from './types.js'

/** Why `m` cannot run as `s` on this node: another service here registers the same NodeID (one would take the other's place). */
function conflictOf(ctx: PicketContext, s: Service, m: Manifest): string | null {
  const id = nodeIdOf(ctx, m)
  for (const name in ctx.services) {
    const t = ctx.services[name]!
    if (t === s || t.state === 'stopped' || t.state === 'failed') continue
    if ((t.manifest !== null && nodeIdOf(ctx, t.manifest) === id) || (t.next?.manifest != null && nodeIdOf(ctx, t.next.manifest) === id)) return `${m.service}/${m.api} is already served on this node by service "${t.name}"`
  }
  return null
}

function failed(s: Service, hash: string, why: string, out: Effect[]): void {
  s.state = 'failed'
  s.current = null
  s.reason = `bundle ${hash}: ${why}`.slice(0, 1000)
  out.push({ type: 'log', level: 'error', msg: 'service cannot run', fields: { name: s.name, hash, why } })
  monitor(out, { type: 'ServiceFailed', name: s.name, hash, reason: s.reason })
}

/** The bundle is unpacked: the preparing service starts, or the upgrade's next run is spawned beside the current one. */
export function bundleReady(ctx: PicketContext, ev: BundleReady, out: Effect[]): void {
  const f = findRun(ctx, ev.run)
  if (f === null || f.r.hash !== ev.hash) return
  const { s } = f
  const conflict = conflictOf(ctx, s, ev.manifest)
  if (f.slot === 'current' && s.state === 'preparing') {
    if (conflict !== null) return failed(s, ev.hash, conflict, out)
    s.manifest = ev.manifest
    startCurrent(ctx, s, ev.manifest, out)
  } else if (f.slot === 'next' && s.next !== null && s.next.manifest === null) {
    if (conflict !== null) return rollback(ctx, s, conflict, out)
    // An upgrade moves the registration by registering the same NodeID: another one would leave two.
    if (s.manifest !== null && nodeIdOf(ctx, s.manifest) !== nodeIdOf(ctx, ev.manifest)) return rollback(ctx, s, `it serves ${ev.manifest.service}/${ev.manifest.api}, not ${s.manifest.service}/${s.manifest.api}`, out)
    s.next.manifest = ev.manifest
    spawn(ctx, s, s.next, ev.manifest, out)
    setTimer(out, 'upstart', s, ev.manifest.startMs)
  }
}

/** The bundle cannot run: a new service fails (no retry: the same bundle would fail the same way); an upgrade rolls back. */
export function bundleFailed(ctx: PicketContext, ev: BundleFailed, out: Effect[]): void {
  const f = findRun(ctx, ev.run)
  if (f === null || f.r.hash !== ev.hash) return
  if (f.slot === 'current' && f.s.state === 'preparing') failed(f.s, ev.hash, ev.reason, out)
  else if (f.slot === 'next' && f.s.next?.manifest === null) rollback(ctx, f.s, `bundle: ${ev.reason}`.slice(0, 1000), out)
}

export function runSpawned(ctx: PicketContext, ev: RunSpawned): void {
  const f = findRun(ctx, ev.run)
  if (f !== null) f.r.pid = ev.pid
}

/** The run says where it serves: the current or next run is registered there (again, if it moved). */
export function runListening(ctx: PicketContext, ev: RunListening, out: Effect[]): void {
  const f = findRun(ctx, ev.run)
  if (f === null || typeof ev.address !== 'string' || ev.address === '') return
  const { s, r } = f
  const moved = r.address !== ev.address
  r.address = ev.address
  if (r.quitting || (!moved && (r.registered || r.registering !== null))) return
  if (f.slot === 'current' && s.manifest !== null && (s.state === 'starting' || s.state === 'running')) register(ctx, s, r, s.manifest, out)
  else if (f.slot === 'next' && s.next?.manifest != null) register(ctx, s, r, s.next.manifest, out)
}

/** The run beat: its hung clock starts again, and the registered current run's beat goes to the heartbeater. */
export function runAlive(ctx: PicketContext, ev: RunAlive, out: Effect[]): void {
  const f = findRun(ctx, ev.run)
  if (f === null) return
  const { s, r } = f
  r.lastBeat = ctx.now
  if (f.slot === 'current' && s.state === 'running' && r.registered && !r.quitting && s.manifest !== null) beat(ctx, s, r, s.manifest, out)
}

/** A run ended: the walking dead is gone; an upgrade's next rolls back; the current one restarts after its backoff, or the stop goes on. */
export function runExited(ctx: PicketContext, ev: RunExited, out: Effect[]): void {
  const f = findRun(ctx, ev.run)
  if (f === null) return
  const { s, r } = f
  const why = describeExit(ev)
  const stopping = s.state === 'stopping'
  if (f.slot === 'old') {
    deregister(ctx, s, r, s.manifest, out)
    s.old = null
    cancelTimers(out, s, 'retire')
  } else if (f.slot === 'next') {
    if (!stopping) return rollback(ctx, s, `the new version ${why}`, out, false)
    deregister(ctx, s, r, s.next?.manifest ?? null, out)
    s.next = null
  } else if (stopping) {
    deregister(ctx, s, r, s.manifest, out)
    s.current = null
  } else if (s.state === 'starting' || s.state === 'running') {
    out.push({ type: 'log', level: 'warn', msg: 'service ended', fields: { name: s.name, run: r.run, why } })
    // A run the machine killed (hung, or late to register) keeps that reason; the exit adds how it ended.
    return crashed(ctx, s, r.quitting ? `${s.reason}; ${why}` : why, out)
  }
  if (stopping && !anyAlive(s)) finish(ctx, s, out)
}
