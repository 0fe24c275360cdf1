/**
 * The simulator sweep: many seeds, each with its own fault mix drawn from the seed, every run judged
 * by the history checker (actors/sim/check.ts). A mix is N in 10..--nodes-max, loss 0–30 %,
 * duplication 0–5 %, reordering 0–10 %, clock skew up to ±2 s on a quarter of the seeds, probing or
 * one seed address per node, and at most one fault: a partition healed later, a crash of 10–40 %
 * (with one seed address each), a reboot storm of 10–90 %, or a crash of the leader. Every run lasts
 * to 60 HB after its last fault (`untilHb`), so the steady state is judged too.
 *
 * One JSON line on stdout: seeds run, how many failed (any violation), violations by kind, wall time,
 * and the file (NDJSON) holding every failing seed: its options, the `crux sim` command line that
 * repeats it (null for a leader crash, which `crux sim` has no flag for) and its violations.
 * Progress goes to stderr. Failing seeds worth keeping become fixed cases in test/sim/.
 *
 *   npm run bench -- sweep [--seeds 200] [--from 1] [--nodes-max 50] [--jobs 2] [--out FILE]
 */
import { writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { runSim, type SimOptions } from '../actors/sim/simulator.js'
import { Rng } from '../runtime/rng.js'
import { flag } from './flags.js'

/** One seed's verdict. */
export interface SeedResult {
  seed: number
  options: SimOptions
  command: string | null
  agreed: boolean
  violations: string[]
  kinds: Record<string, number>
}

const FAULTS = ['none', 'partition', 'crash', 'reboot', 'crash-leader'] as const

/** The fault mix of `seed`: a pure function of the seed and `nodesMax`, so a failing seed repeats. */
export function mixOf(seed: number, nodesMax = 50): SimOptions {
  const r = new Rng(`sweep:${seed}`)
  // Rounded, so the `crux sim` command line carries exactly these numbers.
  const round = (x: number, digits: number): number => +x.toFixed(digits)
  const at = (): number => 10 + r.int(21)
  const o: SimOptions = {
    nodes: 10 + r.int(Math.max(1, nodesMax - 9)),
    seed,
    loss: round(r.float() * 0.3, 2),
    dup: round(r.float() * 0.05, 3),
    reorder: round(r.float() * 0.1, 3),
  }
  if (r.float() < 0.25) o.skewMs = 1 + r.int(2000)
  if (r.float() < 0.5) o.seeded = 1
  const fault = FAULTS[r.int(FAULTS.length)]!
  if (fault === 'partition') {
    const atHb = at()
    o.partition = { atHb, groups: 2 + r.int(2), healHb: atHb + 10 + r.int(31) }
  } else if (fault === 'crash') {
    o.seeded = 1 // the case known to strand nodes: a crashed seed was all a node knew
    o.crash = { atHb: at(), fraction: round(0.1 + r.float() * 0.3, 2) }
  } else if (fault === 'reboot') o.reboot = { atHb: at(), fraction: round(0.1 + r.float() * 0.8, 2) }
  else if (fault === 'crash-leader') o.crashLeaderAtHb = at()
  o.untilHb = lastFaultOf(o) + 60
  return o
}

function lastFaultOf(o: SimOptions): number {
  return Math.max(o.partition?.healHb ?? 0, o.reboot?.atHb ?? 0, o.crash?.atHb ?? 0, o.crashLeaderAtHb ?? 0)
}

/** The `crux sim` command line that repeats `o`, or null when the CLI cannot express it. */
export function commandOf(o: SimOptions): string | null {
  if (o.crashLeaderAtHb !== undefined) return null
  const a = ['crux', 'sim', '--nodes', o.nodes, '--seed', o.seed, '--until-hb', o.untilHb, '--loss', o.loss, '--dup', o.dup, '--reorder', o.reorder]
  if (o.seeded !== undefined) a.push('--seeded', o.seeded)
  if (o.skewMs !== undefined) a.push('--skew', o.skewMs)
  if (o.partition !== undefined) a.push('--partition', `${o.partition.atHb}:${o.partition.groups}:${o.partition.healHb}`)
  if (o.crash !== undefined) a.push('--crash', `${o.crash.atHb}:${o.crash.fraction}`)
  if (o.reboot !== undefined) a.push('--reboot', `${o.reboot.atHb}:${o.reboot.fraction}`)
  return [...a, '--json'].join(' ')
}

/** Runs one seed of the sweep (the workers call this; so does test/sim/sweep.test.ts). */
export async function sweepSeed(seed: number, nodesMax = 50): Promise<SeedResult> {
  const options = mixOf(seed, nodesMax)
  const s = await runSim(options)
  return { seed, options, command: commandOf(options), agreed: s.agreed, violations: s.violations, kinds: s.violation_kinds as Record<string, number> }
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

/** Runs seeds `from`.. on `jobs` worker threads, handing the next seed to whichever is free. */
async function runAll(seeds: number[], nodesMax: number, jobs: number, onResult: (r: SeedResult) => void): Promise<void> {
  const queue = [...seeds]
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL('./lib/sweep-worker.js', import.meta.url), { workerData: { nodesMax } })
      const next = (): void => {
        const seed = queue.shift()
        if (seed === undefined) void w.terminate().then(() => resolve())
        else w.postMessage(seed)
      }
      w.on('message', (r: SeedResult) => (onResult(r), next()))
      w.on('error', reject)
      next()
    })
  await Promise.all(Array.from({ length: Math.min(jobs, seeds.length) }, one))
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const started = performance.now()
  const count = flag(args, '--seeds', 200)
  const from = flag(args, '--from', 1)
  const nodesMax = Math.max(10, flag(args, '--nodes-max', 50))
  const jobs = flag(args, '--jobs', Math.min(2, availableParallelism()))
  const out = arg(args, '--out') ?? join(tmpdir(), `crux-sweep-${from}-${from + count - 1}.ndjson`)
  const results: SeedResult[] = []
  await runAll(Array.from({ length: count }, (_, i) => from + i), nodesMax, jobs, (r) => {
    results.push(r)
    if (results.length % 50 === 0 || results.length === count) {
      process.stderr.write(`sweep: ${results.length}/${count} seeds, ${results.filter((x) => x.violations.length > 0).length} failed\n`)
    }
  })
  const failed = results.filter((r) => r.violations.length > 0).sort((a, b) => a.seed - b.seed)
  const byKind: Record<string, number> = {}
  for (const r of failed) for (const [k, n] of Object.entries(r.kinds)) byKind[k] = (byKind[k] ?? 0) + n
  writeFileSync(out, failed.map((r) => JSON.stringify(r)).join('\n') + (failed.length > 0 ? '\n' : ''))
  const wall = +((performance.now() - started) / 1000).toFixed(1)
  return { seeds: count, from, nodes_max: nodesMax, jobs, failed: failed.length, violations_by_kind: byKind, wall_s: wall, failures_file: out }
}
