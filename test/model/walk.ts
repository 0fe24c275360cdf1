/**
 * A bounded model walker for a machine's rules: the strew machines (test/model/strew.model.test.ts)
 * and pastiche (test/machines/pastiche/model.test.ts), the approach of
 * test/model/flock.model.test.ts: a world is a machine's persisted snapshot plus a model of what it
 * persisted; an alphabet of abstract events is made concrete for the current context; each step
 * restores the machine from a deep clone into a real actor (as runtime/actor-cell.ts runs it: no
 * clock, effects collected from emits) and sends one event; every reached world is checked. Walks:
 * @xstate/graph's adjacency map over abstract states (each state's path then replayed on one live
 * actor, which must end in exactly the same state and context), and an exhaustive walk of every
 * sequence up to a depth.
 */
import { getAdjacencyMap } from '@xstate/graph'
import { createActor, fromTransition, type AnyActorRef, type AnyStateMachine } from 'xstate'
import { EFFECT_TYPES, type Effect, type HostEvent } from '../../machines/effects.js'

export interface World {
  persisted: { status: string; value: unknown; context: any }
  path: string
  ctx: any
  error: string | null
  /** The last step's event and effects. */
  event: HostEvent | null
  out: Effect[]
  /** What the machine has persisted so far (key → value). */
  store: Record<string, unknown>
  now: number
  trace: string[]
}

export interface Spec {
  logic: AnyStateMachine
  input: { now: number; [k: string]: unknown }
  alphabet: string[]
  /** The clock advance per step, ms. */
  stepMs: number
  concrete(e: string, w: World, now: number): HostEvent
  /** What is broken in `w` (reached by `w.event` from `prev`). */
  check(w: World, prev: World | null): string[]
  /** The abstract state. */
  key(w: World): string
  /** Checks of every step's effects before `check`; default {@link checkEffects}, the strew machines'. */
  effects?(w: World): string[]
}

const noClock = {
  setTimeout(): never {
    throw new Error('machines must not use delayed events')
  },
  clearTimeout(): void {},
}

export function pathOf(value: unknown): string {
  if (typeof value === 'string') return value
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}.${pathOf(v)}`)
    .join('|')
}

/** Checks common to every strew machine's effects. */
export function checkEffects(w: World): string[] {
  const bad: string[] = []
  for (const e of w.out) {
    if (!EFFECT_TYPES.has(e.type)) bad.push(`effect of unknown type ${JSON.stringify(e.type)}`)
    else if (e.type === 'emit') bad.push(`an emit (${e.record.type}): strew messages are sends`)
    else if (e.type === 'send' && !/^(grpc:\/\/[^/]+\/[a-z]+|reply:.+|port:health|[^/]+\/(follower|steward|registry|reeve|heartbeater))$/.test(e.to)) bad.push(`send to ${JSON.stringify(e.to)}`)
    else if (e.type === 'timer.set' && !(Number.isFinite(e.ms) && e.ms >= 0)) bad.push(`timer ${e.name} set to ${e.ms} ms`)
  }
  // An inbound call is answered exactly once (a watch: its snapshot, or a refusal).
  const from = w.event?.from
  if (typeof from === 'string' && from.startsWith('reply:')) {
    const answers = w.out.filter((e) => e.type === 'send' && e.to === from).length
    if (answers !== 1) bad.push(`${w.event!.type} answered ${answers} times`)
  }
  return bad
}

export function walker(spec: Spec) {
  const violations: string[] = []
  let steps = 0

  const start = (snapshot?: unknown) => {
    const actor: AnyActorRef = createActor(spec.logic, { input: spec.input, clock: noClock as never, ...(snapshot === undefined ? {} : { snapshot: snapshot as never }) })
    const out: Effect[] = []
    let failure: string | null = null
    actor.on('*', (e: unknown) => out.push(e as Effect))
    actor.subscribe({ error: (err: unknown) => (failure = err instanceof Error ? err.message : String(err)) })
    actor.start()
    return { actor, out, failure: () => failure ?? (actor.getSnapshot().status === 'error' ? String(actor.getSnapshot().error) : null) }
  }

  const worldOf = (actor: AnyActorRef, event: HostEvent | null, out: Effect[], error: string | null, store: Record<string, unknown>, now: number, trace: string[]): World => {
    // A copy: a live actor mutates its context in place, and the previous world must keep its own.
    const persisted = structuredClone(actor.getPersistedSnapshot()) as unknown as World['persisted']
    const next = { ...store }
    for (const e of out) if (e.type === 'persist') e.value === null ? delete next[e.key] : (next[e.key] = e.value)
    return { persisted, path: pathOf(persisted.value), ctx: persisted.context, error, event, out, store: next, now, trace }
  }

  const record = (w: World, prev: World | null) => {
    const bad = w.error !== null ? [`the machine failed: ${w.error}`] : [...(spec.effects ?? checkEffects)(w), ...spec.check(w, prev)]
    if (bad.length > 0 && violations.length < 20) violations.push(`[${w.trace.join(', ')}] → ${w.path}: ${bad.join('; ')}`)
  }

  const initial = (): World => {
    const { actor, out, failure } = start()
    const w = worldOf(actor, null, out, failure(), {}, spec.input.now, [])
    actor.stop()
    record(w, null)
    return w
  }

  const step = (w: World, e: string): World => {
    const now = w.now + spec.stepMs
    const trace = [...w.trace, e]
    if (w.error !== null) return { ...w, out: [], now, trace }
    steps++
    const { actor, out, failure } = start(structuredClone(w.persisted))
    const event = spec.concrete(e, w, now)
    let error: string | null = null
    try {
      actor.send(event)
      error = failure()
    } catch (err) {
      error = `threw: ${err instanceof Error ? err.message : String(err)}`
    }
    const next = worldOf(actor, event, out, error, w.store, now, trace)
    actor.stop()
    record(next, w)
    return next
  }

  return {
    violations,
    steps: () => steps,
    initial,
    step,
    /** Breadth-first over abstract states within `depth`; each state's path replayed on one live actor. Returns the states per chart state. */
    graph(depth: number): { vertices: number; edges: number; perState: Record<string, number>; replayMismatches: string[] } {
      const logic = fromTransition((w: World, e: { type: string }) => step(w, e.type), () => initial())
      const adjacency = getAdjacencyMap(logic, {
        events: spec.alphabet.map((type) => ({ type })),
        serializeState: (s) => spec.key(s.context),
        stopWhen: (s) => s.context.trace.length >= depth || s.context.error !== null,
      })
      const vertices = Object.values(adjacency)
      const perState: Record<string, number> = {}
      const replayMismatches: string[] = []
      for (const { state } of vertices) {
        const end = state.context
        const { actor, out, failure } = start()
        let w = worldOf(actor, null, out.splice(0), failure(), {}, spec.input.now, [])
        for (const e of end.trace) {
          const now = w.now + spec.stepMs
          const event = spec.concrete(e, w, now)
          actor.send(event)
          const prev = w
          w = worldOf(actor, event, out.splice(0), failure(), w.store, now, [...w.trace, e])
          record(w, prev)
        }
        if (w.path !== end.path || JSON.stringify(w.ctx) !== JSON.stringify(end.ctx)) replayMismatches.push(`[${end.trace.join(', ')}]`)
        actor.stop()
        perState[end.path] = (perState[end.path] ?? 0) + 1
      }
      return { vertices: vertices.length, edges: vertices.reduce((n, v) => n + Object.keys(v.transitions).length, 0), perState, replayMismatches }
    },
    /** Every sequence of up to `depth` events; the number of sequences. */
    exhaustive(depth: number): number {
      let sequences = 0
      const walk = (w: World, d: number): void => {
        sequences++
        if (d === depth) return
        for (const e of spec.alphabet) walk(step(w, e), d + 1)
      }
      walk(initial(), 0)
      return sequences
    },
  }
}
