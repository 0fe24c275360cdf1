/**
 * Deliveries per second through the actor host: pairs of `rally` actors (test/fixtures) hitting a ball
 * back and forth, each delivery a real XState step whose `send` effect the host routes into the peer's
 * mailbox. Run once with recording off and once with the journal (inputs and results) written to a
 * file. Targets (issue 3, 2-core machine): ≥ 100 000/s off, ≥ 50 000/s on.
 *
 * Each mode runs `--rounds` times (default 3) and reports the median and the best: this machine's
 * run-to-run spread is ±15 % (shared cores), so one run alone says little.
 *
 *   npm run bench -- actor-throughput [--deliveries N] [--pairs P] [--rounds R]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VirtualClock } from '../runtime/clock.js'
import { createActorHost } from '../runtime/host.js'
import { FileSink, Recorder } from '../runtime/recorder.js'
import { fixtureMachines, rally } from '../test/fixtures/machines.js'
import { flag } from './flags.js'

function once(deliveries: number, pairs: number, journal: string | null) {
  const clock = new VirtualClock()
  const versions = Object.fromEntries(fixtureMachines.map((m) => [m.name, m.version]))
  const recorder = journal === null ? undefined : new Recorder(new FileSink(journal), { node: 'bench', seed: 1, machines: versions })
  const host = createActorHost({ clock, machines: fixtureMachines, recorder }, { node: 'bench' })
  const perPair = Math.ceil(deliveries / pairs)
  for (let p = 0; p < pairs; p++) {
    host.spawn(`a${p}`, rally.name, { peer: `b${p}` })
    host.spawn(`b${p}`, rally.name, { peer: `a${p}` })
  }
  const start = performance.now()
  for (let p = 0; p < pairs; p++) host.send(`a${p}`, { type: 'ball', left: perPair - 1 })
  clock.runAll()
  const wall = (performance.now() - start) / 1000
  host.close()
  recorder?.close()
  const bytes = journal === null ? 0 : statSync(journal).size
  return { deliveries: host.counters.deliveries, wall_s: +wall.toFixed(3), per_s: Math.round(host.counters.deliveries / wall), journal_bytes: bytes }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const deliveries = flag(args, '--deliveries', 1_000_000)
  const pairs = flag(args, '--pairs', 100)
  const rounds = flag(args, '--rounds', 3)
  once(Math.min(deliveries, 100_000), pairs, null) // warm-up: let V8 optimise the hot path before timing
  const dir = mkdtempSync(join(tmpdir(), 'crux-bench-'))
  try {
    const off: number[] = []
    const on: number[] = []
    let journalBytes = 0
    for (let r = 0; r < rounds; r++) {
      off.push(once(deliveries, pairs, null).per_s)
      const rec = once(deliveries, pairs, join(dir, 'journal.ndjson'))
      on.push(rec.per_s)
      journalBytes = rec.journal_bytes
    }
    return {
      step_function: 'xstate interpreter (actor.send)',
      actors: pairs * 2,
      deliveries_per_round: deliveries,
      rounds,
      recording_off_per_s: median(off),
      recording_on_per_s: median(on),
      recording_off_best_per_s: Math.max(...off),
      recording_on_best_per_s: Math.max(...on),
      recording_off_rounds: off,
      recording_on_rounds: on,
      journal_bytes: journalBytes,
      journal_bytes_per_delivery: Math.round(journalBytes / deliveries),
      targets: { off: 100_000, on: 50_000 },
      met_by_median: median(off) >= 100_000 && median(on) >= 50_000,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
