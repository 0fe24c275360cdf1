/**
 * Which XState step function should the host use? Steps 10 000 `rally` actors (test/fixtures) round
 * robin, once with the interpreter (`createActor` + `actor.send`, effects collected from emitted
 * records) and once with the pure functions (`initialTransition` / `transition`, effects read from the
 * returned actions), and reports steps per second for each. The host uses the faster one; see
 * runtime/actor-cell.ts and docs/RUNTIME.md.
 *
 *   npm run bench -- step-function [--actors N] [--steps N]
 */
import { createActor, initialTransition, transition, type AnyMachineSnapshot } from 'xstate'
import { rally } from '../test/fixtures/machines.js'
import { flag } from './flags.js'

function interpreter(actors: number, steps: number): number {
  const refs = Array.from({ length: actors }, (_, i) => {
    const a = createActor(rally.logic, { input: { peer: `p${i}` } })
    a.on('*', () => {})
    a.start()
    return a
  })
  const ev = { type: 'ball', left: 1, now: 0 }
  const t0 = performance.now()
  for (let s = 0; s < steps; s++) refs[s % actors]!.send(ev)
  return steps / ((performance.now() - t0) / 1000)
}

function pure(actors: number, steps: number): number {
  const snaps: AnyMachineSnapshot[] = Array.from({ length: actors }, (_, i) => initialTransition(rally.logic, { peer: `p${i}` } as never)[0])
  const ev = { type: 'ball', left: 1, now: 0 }
  let effects = 0
  const t0 = performance.now()
  for (let s = 0; s < steps; s++) {
    const i = s % actors
    const [next, actions] = transition(rally.logic, snaps[i]!, ev)
    snaps[i] = next
    effects += actions.length
  }
  const rate = steps / ((performance.now() - t0) / 1000)
  if (effects === 0) throw new Error('pure transition returned no effects: the comparison would be unfair')
  return rate
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const actors = flag(args, '--actors', 10_000)
  const steps = flag(args, '--steps', 500_000)
  interpreter(1000, 50_000) // warm-up both paths
  pure(1000, 20_000)
  const interp = interpreter(actors, steps)
  const trans = pure(actors, Math.max(1, Math.floor(steps / 2)))
  return {
    actors,
    steps,
    interpreter_steps_per_s: Math.round(interp),
    transition_steps_per_s: Math.round(trans),
    ratio: +(interp / trans).toFixed(2),
    chosen: interp >= trans ? 'interpreter' : 'transition',
  }
}
