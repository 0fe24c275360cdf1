/**
 * Statechart coverage of the flock machine over the simulator seed list (actors/sim/coverage.ts
 * defines the universe, the observation and COVERAGE_RUNS): covered/total states and transitions,
 * and what was missed.
 *
 *   npm run bench -- statechart-coverage
 */
import { chartUniverse, COVERAGE_RUNS, flockCoverage } from '../actors/sim/coverage.js'

export async function run(_args: string[]): Promise<Record<string, unknown>> {
  const started = performance.now()
  const universe = chartUniverse()
  const c = await flockCoverage(COVERAGE_RUNS)
  return {
    runs: COVERAGE_RUNS.length,
    states: `${c.states.covered.length}/${universe.states.length}`,
    transitions: `${c.transitions.covered.length}/${universe.transitions.length}`,
    ratio: { states: +c.ratio.states.toFixed(4), transitions: +c.ratio.transitions.toFixed(4) },
    missed: { states: c.states.missed, transitions: c.transitions.missed },
    wall_s: +((performance.now() - started) / 1000).toFixed(2),
  }
}
