/**
 * The machine's timers (machines/picket/context.ts names them). A timer can fire after the step that
 * cancelled it (it was already on its way), so each one checks that what it was set for still holds
 * (the state, and where the context keeps it, the time) before it acts. A run killed and not yet
 * ended is killed again when its timer comes round, at most once per heartbeat of the flock.
 * Mutates the context in place and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import { parseTimer, setTimer, tell } from './context.js'
import { kill, killAll, restart, rollback } from './lifecycle.js'
import { registerAgain } from './registration.js'
import type { PicketContext, Service, TimerFired } from './types.js'

/** The wait before a kill is sent again. */
const again = (ctx: PicketContext, ms: number) => Math.max(ms, ctx.config.hbMs)

/** The start deadline: a current run not registered within startMs is killed (its exit brings the backoff). */
function startDeadline(ctx: PicketContext, s: Service, out: Effect[]): void {
  const r = s.current
  const m = s.manifest
  if (s.state !== 'starting' || r === null || m === null || r.registered) return
  if (r.quitting) tell(out, { type: 'kill', run: r.run })
  else if (ctx.now - r.since >= m.startMs) kill(s, r, `not registered within ${m.startMs} ms of its start`, out)
  else return setTimer(out, 'start', s, m.startMs - (ctx.now - r.since))
  setTimer(out, 'start', s, again(ctx, m.startMs))
}

/** The hung check: a registered run silent for its ttl is killed; otherwise the check comes again when its ttl would run out. */
function hungCheck(ctx: PicketContext, s: Service, out: Effect[]): void {
  const r = s.current
  const m = s.manifest
  if (s.state !== 'running' || r === null || m === null) return
  const silent = ctx.now - r.lastBeat
  if (r.quitting) tell(out, { type: 'kill', run: r.run })
  else if (silent >= m.ttlMs) kill(s, r, `no heartbeat for ${silent} ms (ttl ${m.ttlMs} ms)`, out)
  else return setTimer(out, 'hb', s, m.ttlMs - silent)
  setTimer(out, 'hb', s, again(ctx, m.ttlMs))
}

/** One of the machine's timers fired. */
export function fired(ctx: PicketContext, ev: TimerFired, out: Effect[]): void {
  const t = parseTimer(ev.name)
  const s = t === null ? undefined : ctx.services[t.service]
  if (t === null || s === undefined) return
  switch (t.kind) {
    case 'start':
      return startDeadline(ctx, s, out)
    case 'upstart': {
      const n = s.next
      // A stop asked the next run to quit as well: the stop deadline, not this one, ends it.
      if (n === null || n.manifest === null || n.registered || n.quitting) return
      if (ctx.now - n.since >= n.manifest.startMs) return rollback(ctx, s, `not registered within ${n.manifest.startMs} ms of its start`, out)
      return setTimer(out, 'upstart', s, n.manifest.startMs - (ctx.now - n.since))
    }
    case 'hb':
      return hungCheck(ctx, s, out)
    case 'reset':
      // Registered (and so spawned) at least backoffResetMs ago: its earlier failures no longer count.
      if (s.state === 'running' && s.current !== null && !s.current.quitting && ctx.now - s.current.since >= ctx.config.backoffResetMs) s.failures = 0
      return
    case 'backoff':
      if (s.state === 'backoff') restart(ctx, s, out)
      return
    case 'stop':
      if (s.state !== 'stopping') return
      killAll(s, out)
      return setTimer(out, 'stop', s, again(ctx, s.manifest?.stopMs ?? 0))
    case 'grace':
      // (One already being killed, as hung or late when it was replaced, is not asked again, only followed by its kill.)
      if (s.old === null) return
      if (!s.old.quitting) tell(out, { type: 'quit', run: s.old.run })
      s.old.quitting = true
      return setTimer(out, 'retire', s, s.manifest?.stopMs ?? 0)
    case 'retire':
      if (s.old === null) return
      tell(out, { type: 'kill', run: s.old.run })
      return setTimer(out, 'retire', s, again(ctx, s.manifest?.stopMs ?? 0))
    case 'reg':
      return registerAgain(ctx, s, out)
  }
}
