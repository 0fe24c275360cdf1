/**
 * A bounded walker for the pastiche machine, the approach of test/model/walk.ts: a world is the
 * machine's persisted snapshot; an alphabet of abstract events is made concrete for the current context
 * (answers name the transfer or ask in flight); each step restores the machine from a deep clone into a
 * real actor (no clock, effects collected from emits) and sends one event; every reached world is
 * checked. Walks: @xstate/graph's adjacency map over abstract states (each state's path then replayed on
 * one live actor, which must end in the same state and context), and every sequence up to a depth.
 */
import { getAdjacencyMap } from '@xstate/graph'
import { createActor, fromTransition, type AnyActorRef } from 'xstate'
import type { Effect, HostEvent } from '../../../machines/effects.js'
import { pasticheLogic } from '../../../machines/pastiche.machine.js'
import { pathOf } from '../strew-harness.js'

export interface World {
  persisted: { status: string; value: unknown; context: any }
  path: string
  ctx: any
  error: string | null
  event: HostEvent | null
  out: Effect[]
  now: number
  trace: string[]
}

export interface Spec {
  input: { now: number; [k: string]: unknown }
  alphabet: string[]
  stepMs: number
  concrete(e: string, w: World, now: number): HostEvent
  check(w: World, prev: World | null): string[]
  key(w: World): string
}

const noClock = {
  setTimeout(): never {
    throw new Error('the pastiche machine must not use delayed events')
  },
  clearTimeout(): void {},
}

export function walker(spec: Spec) {
  const violations: string[] = []
  let steps = 0
  const start = (snapshot?: unknown) => {
    const actor: AnyActorRef = createActor(pasticheLogic, { input: spec.input as never, clock: noClock as never, ...(snapshot === undefined ? {} : { snapshot: snapshot as never }) })
    const out: Effect[] = []
    actor.on('*', (e: unknown) => out.push(e as Effect))
    actor.start()
    return { actor, out, failure: () => (actor.getSnapshot().status === 'error' ? String(actor.getSnapshot().error) : null) }
  }
  const worldOf = (actor: AnyActorRef, event: HostEvent | null, out: Effect[], error: string | null, now: number, trace: string[]): World => {
    const persisted = structuredClone(actor.getPersistedSnapshot()) as unknown as World['persisted']
    return { persisted, path: pathOf(persisted.value), ctx: persisted.context, error, event, out, now, trace }
  }
  const record = (w: World, prev: World | null) => {
    const bad = w.error !== null ? [`the machine failed: ${w.error}`] : spec.check(w, prev)
    if (bad.length > 0 && violations.length < 20) violations.push(`[${w.trace.join(', ')}] → ${w.path}: ${bad.join('; ')}`)
  }
  const initial = (): World => {
    const { actor, out, failure } = start()
    const w = worldOf(actor, null, out, failure(), spec.input.now, [])
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
    const next = worldOf(actor, event, out, error, now, trace)
    actor.stop()
    record(next, w)
    return next
  }
  return {
    violations,
    steps: () => steps,
    initial,
    step,
    /** Breadth-first over abstract states within `depth`; each state's path replayed on one live actor. */
    graph(depth: number): { vertices: number; perState: Record<string, number>; replayMismatches: string[] } {
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
        let w = worldOf(actor, null, out.splice(0), failure(), spec.input.now, [])
        for (const e of end.trace) {
          const now = w.now + spec.stepMs
          const event = spec.concrete(e, w, now)
          actor.send(event)
          const prev = w
          w = worldOf(actor, event, out.splice(0), failure(), now, [...w.trace, e])
          record(w, prev)
        }
        if (w.path !== end.path || JSON.stringify(w.ctx) !== JSON.stringify(end.ctx)) replayMismatches.push(`[${end.trace.join(', ')}]`)
        actor.stop()
        perState[end.path] = (perState[end.path] ?? 0) + 1
      }
      return { vertices: vertices.length, perState, replayMismatches }
    },
    /** Every sequence of up to `depth` events; returns how many. */
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
