/**
 * Picket (issue 17; seed 001's picket, seed 004's service tasks): one machine per node that runs the
 * node's services. It decides when to prepare a bundle, spawn a run, register it with the reeve and
 * forward its beats to the heartbeater, kill it when it hangs or is late, restart it with backoff,
 * stop and reset it, and upgrade it (the new version beside the old, the registration moved, the old
 * one walking dead for a grace period, a new version that does not become healthy rolled back). The
 * node's run edge (actors/picket/run-edge.ts) fetches, unpacks, spawns and signals, and answers into
 * this machine's mailbox. After every step it publishes what the node runs, when that changed, as its
 * muster in the catalog (machines/picket/muster.ts). docs/SERVICES.md draws a service's states.
 *
 * States: `idle` (every service running, stopped or failed, no upgrade under way), `busy` (one is on
 * its way somewhere). Each service's own state is `Service.state` in the context.
 */
import { setup } from 'xstate'
import { defineMachine } from './definition.js'
import type { Effect } from './effects.js'
import { is } from './strew/act.js'
import { createPicketContext, viewOf } from './picket/context.js'
import { isMuster, muster, mustered, musterFailed } from './picket/muster.js'
import { refused, registeredRun, settled } from './picket/registration.js'
import { promote, running } from './picket/lifecycle.js'
import { prepareRestored, reset, restore, start, stop, upgrade } from './picket/requests.js'
import { bundleFailed, bundleReady, runAlive, runExited, runListening, runSpawned } from './picket/runs.js'
import { fired } from './picket/timers.js'
import type { PicketContext, PicketEvent, PicketInput } from './picket/types.js'

export { viewOf, RUN_PORT, DEFAULT_PICKET_CONFIG } from './picket/context.js'

const S = setup({ types: {} as { context: PicketContext; events: PicketEvent; input: PicketInput; emitted: Effect } })

/** An action for events of type `type`: stamps `now`, runs the rule, emits what it pushed. */
const act = <T extends PicketEvent['type']>(type: T, rule: (ctx: PicketContext, ev: Extract<PicketEvent, { type: T }>, out: Effect[]) => void) =>
  S.enqueueActions(({ context, event, enqueue }) => {
    if (!is(event, type)) return
    context.now = event.now ?? context.now
    const out: Effect[] = []
    rule(context, event, out)
    muster(context, viewOf, out)
    for (const e of out) enqueue.emit(e)
  })

/** Whether some service is on its way somewhere (not running, stopped or failed, or being upgraded or retired). */
const busy = ({ context }: { context: PicketContext }) =>
  Object.values(context.services).some((s) => s.next !== null || s.old !== null || !(s.state === 'running' || s.state === 'stopped' || s.state === 'failed'))

const handlers = {
  'picket.start': { actions: act('picket.start', start) },
  'picket.stop': { actions: act('picket.stop', stop) },
  'picket.reset': { actions: act('picket.reset', reset) },
  'picket.upgrade': { actions: act('picket.upgrade', upgrade) },
  'bundle.ready': { actions: act('bundle.ready', bundleReady) },
  'bundle.failed': { actions: act('bundle.failed', bundleFailed) },
  'run.spawned': { actions: act('run.spawned', (ctx, ev) => runSpawned(ctx, ev)) },
  'run.listening': { actions: act('run.listening', runListening) },
  'run.alive': { actions: act('run.alive', runAlive) },
  'run.exited': { actions: act('run.exited', runExited) },
  'reeve.registered': {
    actions: act('reeve.registered', (ctx, ev, out) => {
      if (isMuster(ctx, ev.id)) return mustered(ctx, ev.id)
      const f = registeredRun(ctx, ev)
      // A run being stopped or killed keeps its registration only until it exits (then removed).
      if (f === null || f.r.quitting) return
      if (f.slot === 'next' && f.s.state !== 'stopping') promote(ctx, f.s, out)
      else if (f.slot === 'current' && f.s.state === 'starting') running(ctx, f.s, out)
    }),
  },
  'reeve.deregistered': { actions: act('reeve.deregistered', (ctx, ev) => settled(ctx, ev)) },
  'heartbeat.ok': { actions: act('heartbeat.ok', (ctx, ev) => settled(ctx, ev)) },
  'call.refused': { actions: act('call.refused', (ctx, ev, out) => (isMuster(ctx, ev.id) ? musterFailed(ctx, out) : refused(ctx, ev, out))) },
  'call.failed': { actions: act('call.failed', (ctx, ev, out) => (isMuster(ctx, ev.id) ? musterFailed(ctx, out) : refused(ctx, ev, out))) },
  'timer.fired': { actions: act('timer.fired', fired) },
}

export const picketLogic = S.createMachine({
  id: 'picket',
  context: ({ input }) => {
    const ctx = createPicketContext(input)
    restore(ctx, input.services ?? [])
    return ctx
  },
  entry: S.enqueueActions(({ context, enqueue }) => {
    const out: Effect[] = []
    prepareRestored(context, out)
    muster(context, viewOf, out)
    for (const e of out) enqueue.emit(e)
  }),
  initial: 'idle',
  on: handlers,
  states: {
    idle: { always: { guard: busy, target: 'busy' } },
    busy: { always: { guard: (a) => !busy(a), target: 'idle' } },
  },
})

/** The picket machine as the runtime knows it. */
export const picketMachine = defineMachine('picket', '3', picketLogic)
