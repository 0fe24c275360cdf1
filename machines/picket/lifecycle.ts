/**
 * A service's moves between the states of docs/SERVICES.md: a run spawned and given its start
 * deadline; a run that ended unasked waits out its backoff (`min(backoffMaxMs, backoffMinMs ·
 * 2^(failures−1))`) and is started again; a stop or reset asks every run to quit, kills what outlives
 * the manifest's stopMs, and ends stopped or forgotten; an upgrade's next run that registers becomes
 * current and the previous one walks dead for its grace period; one that does not is killed and the
 * current one kept (rolled back). Mutates the context in place and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import { anyAlive, cancelTimers, currentSpawned, monitor, newRun, nextSpawned, nodeIdOf, persist, setTimer, tell } from './context.js'
import { deregister, register } from './registration.js'
import type { Manifest, PicketConfig, PicketContext, Run, Service } from './types.js'

/** The wait before restart number `failures` (1 for the first failure in a row). */
export function backoffMs(c: PicketConfig, failures: number): number {
  return Math.min(c.backoffMaxMs, c.backoffMinMs * 2 ** Math.max(0, failures - 1))
}

/** Spawns run `r` of `s` from `m` (its clock starts now). */
export function spawn(ctx: PicketContext, s: Service, r: Run, m: Manifest, out: Effect[]): void {
  r.since = ctx.now
  r.lastBeat = ctx.now
  tell(out, { type: 'spawn', run: r.run, name: s.name, hash: r.hash, manifest: m })
}

/** The current run is spawned: `starting` until it registers, within the manifest's startMs. */
export function startCurrent(ctx: PicketContext, s: Service, m: Manifest, out: Effect[]): void {
  if (s.current === null) return
  s.state = 'starting'
  spawn(ctx, s, s.current, m, out)
  setTimer(out, 'start', s, m.startMs)
}

/** The current run registered: running, its hung check and its backoff reset armed (the registration counts as a beat, as the heartbeater takes it). */
export function running(ctx: PicketContext, s: Service, out: Effect[]): void {
  if (s.current === null || s.manifest === null) return
  s.state = 'running'
  s.current.lastBeat = ctx.now
  cancelTimers(out, s, 'start')
  setTimer(out, 'hb', s, s.manifest.ttlMs)
  setTimer(out, 'reset', s, ctx.config.backoffResetMs)
  // Registered and beating: the moment an operator (and placement's test) asks about.
  out.push({ type: 'log', level: 'info', msg: 'service running', fields: { name: s.name, run: s.current.run, pid: s.current.pid, hash: s.current.hash } })
}

/** The current run ended unasked (or was killed as hung or late): deregistered, and started again after the backoff. */
export function crashed(ctx: PicketContext, s: Service, why: string, out: Effect[]): void {
  if (s.current !== null) deregister(ctx, s, s.current, s.manifest, out)
  cancelTimers(out, s, 'start', 'hb', 'reset', 'reg')
  s.current = null
  s.failures++
  s.reason = why
  s.state = 'backoff'
  setTimer(out, 'backoff', s, backoffMs(ctx.config, s.failures))
}

/** The backoff is over: a new run of the same bundle (its manifest kept), counted as a restart. */
export function restart(ctx: PicketContext, s: Service, out: Effect[]): void {
  if (s.manifest === null) return
  s.current = newRun(ctx, s.hash)
  s.restarts++
  monitor(out, { type: 'ServiceRestart', name: s.name, run: s.current.run, restarts: s.restarts, reason: s.reason })
  startCurrent(ctx, s, s.manifest, out)
}

function quit(r: Run, out: Effect[]): void {
  if (r.quitting) return
  r.quitting = true
  tell(out, { type: 'quit', run: r.run })
}

/**
 * Stop (or, with `forget`, reset) `s`: every live run is asked to quit and killed after stopMs; a run
 * not spawned yet is dropped. When none is alive (now, or as the last exits) it ends: {@link finish}.
 */
export function halt(ctx: PicketContext, s: Service, forget: boolean, out: Effect[]): void {
  if (forget) s.resetting = true
  cancelTimers(out, s, 'start', 'upstart', 'hb', 'reset', 'backoff', 'grace', 'retire', 'reg')
  if (s.current !== null && !currentSpawned(s)) s.current = null
  if (s.next !== null && !nextSpawned(s)) s.next = null
  for (const r of [s.current, s.next, s.old]) if (r !== null) quit(r, out)
  if (!anyAlive(s)) return finish(ctx, s, out)
  s.state = 'stopping'
  setTimer(out, 'stop', s, Math.max(s.manifest?.stopMs ?? 0, s.next?.manifest?.stopMs ?? 0))
}

/** The stop's deadline: every run still alive is killed. */
export function killAll(s: Service, out: Effect[]): void {
  for (const r of [s.current, s.next, s.old]) if (r !== null) tell(out, { type: 'kill', run: r.run })
}

/** A stopping service has no live run left: stopped (persisted so), or after a reset forgotten. */
export function finish(ctx: PicketContext, s: Service, out: Effect[]): void {
  cancelTimers(out, s, 'stop')
  s.current = null
  s.next = null
  s.old = null
  if (s.resetting === true) {
    tell(out, { type: 'forget', name: s.name })
    delete ctx.services[s.name]
    out.push({ type: 'persist', key: `svc/${s.name}`, value: null })
    return
  }
  s.state = 'stopped'
  persist(out, s, true)
}

/**
 * The upgrade's next run registered (under the same NodeID, so the reeve moved the address to it): it
 * becomes current, the previous current walks dead for its manifest's graceMs (an older walking dead
 * one is killed), and the new hash is persisted.
 */
export function promote(ctx: PicketContext, s: Service, out: Effect[]): void {
  const next = s.next
  if (next === null || next.manifest === null) return
  const prev = s.current
  const from = s.hash
  const graceMs = s.manifest?.graceMs ?? 0
  if (s.old !== null) tell(out, { type: 'kill', run: s.old.run })
  s.old = null
  cancelTimers(out, s, 'upstart', 'start', 'backoff', 'retire')
  if (prev !== null && currentSpawned(s)) {
    // Its registration is the new run's now: nothing of it to remove when it ends.
    const inFlight = prev.registering !== null
    prev.registered = false
    prev.registering = null
    s.old = prev
    setTimer(out, 'grace', s, graceMs)
    // A registration of the previous run still on its way would move the address back: register the new one after it.
    if (inFlight) next.registered = false
  }
  const { manifest, ...run } = next
  s.current = run
  s.next = null
  s.manifest = manifest
  s.hash = next.hash
  s.state = 'running'
  s.failures = 0
  run.lastBeat = ctx.now
  if (!run.registered) register(ctx, s, run, manifest, out)
  setTimer(out, 'hb', s, manifest.ttlMs)
  setTimer(out, 'reset', s, ctx.config.backoffResetMs)
  persist(out, s, false)
  monitor(out, { type: 'ServiceUpgrade', name: s.name, from, to: s.hash, ok: true, run: run.run })
}

/** The upgrade's next run failed (`why`): killed if spawned and `alive`, the current one kept (and its address registered again if the next's registration may have replaced it). */
export function rollback(ctx: PicketContext, s: Service, why: string, out: Effect[], alive = true): void {
  const next = s.next
  if (next === null) return
  s.next = null
  cancelTimers(out, s, 'upstart')
  if (alive && next.manifest !== null) tell(out, { type: 'kill', run: next.run })
  const cur = s.current
  const sameNode = next.manifest !== null && s.manifest !== null && nodeIdOf(ctx, next.manifest) === nodeIdOf(ctx, s.manifest)
  if (next.registering !== null && sameNode && cur !== null && !cur.quitting && s.manifest !== null && (cur.registered || cur.registering !== null)) register(ctx, s, cur, s.manifest, out)
  s.reason = `upgrade to ${next.hash} rolled back: ${why}`
  out.push({ type: 'log', level: 'warn', msg: 'service upgrade rolled back', fields: { name: s.name, hash: next.hash, why } })
  monitor(out, { type: 'ServiceUpgrade', name: s.name, from: s.hash, to: next.hash, ok: false, reason: s.reason })
}

/** Kills run `r` of `s` for `why` (hung, or late to register); it stays followed until it exits, and is killed again if asked again. */
export function kill(s: Service, r: Run, why: string, out: Effect[]): void {
  if (!r.quitting) out.push({ type: 'log', level: 'warn', msg: 'service killed', fields: { name: s.name, run: r.run, why } })
  r.quitting = true
  s.reason = why
  tell(out, { type: 'kill', run: r.run })
}
