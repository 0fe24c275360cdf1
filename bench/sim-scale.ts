/**
 * The flock simulator at scale: for each N, a run with one seed address per node and a run with
 * probing only, each in its own process (so peak RSS is the run's own), reporting agreed_hb, the
 * simulated-to-wall time ratio and peak RSS.
 *
 *   npm run bench -- sim-scale [--nodes 100,1000] [--seed S]
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const crux = fileURLToPath(new URL('../bin/crux.js', import.meta.url))

function sim(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--max-semi-space-size=64', crux, 'sim', '--json', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 })
  if (r.status !== 0 && r.stdout.trim() === '') throw new Error(`crux sim ${args.join(' ')} failed: ${r.stderr.trim()}`)
  const s = JSON.parse(r.stdout) as Record<string, number | boolean | null>
  return {
    agreed: s.agreed,
    agreed_hb: s.agreed_hb,
    sim_to_wall: +((s.sim_s as number) / (s.wall_s as number)).toFixed(2),
    wall_s: s.wall_s,
    packets: s.packets,
    peak_rss_mb: s.peak_rss_mb,
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const i = args.indexOf('--nodes')
  const ns = (i >= 0 ? args[i + 1]! : '100,1000').split(',').map(Number)
  const j = args.indexOf('--seed')
  const seed = j >= 0 ? args[j + 1]! : '1'
  const results: Record<string, unknown> = {}
  for (const n of ns) {
    results[`n${n}_seeded1`] = sim(['--nodes', String(n), '--seed', seed, '--seeded', '1'])
    results[`n${n}_probing`] = sim(['--nodes', String(n), '--seed', seed, '--probe-density', String(Math.min(1, 10 / n))])
  }
  return { seed: Number(seed), results }
}
