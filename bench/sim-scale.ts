/**
 * The flock simulator at scale (issue 4). For each N: a run with one seed address per node
 * (`--seeded 1`, like the Serf harness's one `-join`) and a run with probing only (`--probe-density 1`:
 * every probe address is a node, as in a fully populated subnet). Each run is its own process, so peak
 * RSS is the run's own. Reported: agreed_hb, simulated-to-wall time ratio, wall time, packets, RSS.
 * Plus the reboot storms of 10 / 50 / 90 % at N = 100 (HB to re-agree after the storm).
 *
 * At N ≥ `--full-list-max` (default 3 000) members keep no copy of the member list (`--no-list-sync`):
 * N² list entries (10⁸ at N = 10 000) do not fit one process; PROTOCOL.md explains.
 *
 *   npm run bench -- sim-scale [--nodes 100,1000,10000] [--seed S] [--full-list-max N] [--no-storms]
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const crux = fileURLToPath(new URL('../bin/crux.js', import.meta.url))

function sim(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--max-semi-space-size=64', '--max-old-space-size=16384', crux, 'sim', '--json', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  })
  if (r.stdout.trim() === '') throw new Error(`crux sim ${args.join(' ')} failed: ${r.stderr.trim()}`)
  const s = JSON.parse(r.stdout) as Record<string, number | boolean | null | string[]>
  return {
    agreed: s.agreed,
    agreed_hb: s.agreed_hb,
    ...(s.settle_hb === null ? {} : { settle_hb: s.settle_hb }),
    sim_to_wall: +((s.sim_s as number) / (s.wall_s as number)).toFixed(2),
    sim_s: s.sim_s,
    wall_s: s.wall_s,
    packets: s.packets,
    peak_rss_mb: s.peak_rss_mb,
    violations: (s.violations as string[]).length,
  }
}

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const ns = arg(args, '--nodes', '100,1000,10000').split(',').map(Number)
  const seed = arg(args, '--seed', '1')
  const fullListMax = Number(arg(args, '--full-list-max', '3000'))
  const results: Record<string, unknown> = {}
  for (const n of ns) {
    const lean = n >= fullListMax ? ['--no-list-sync'] : []
    const base = ['--nodes', String(n), '--seed', seed, ...lean]
    process.stderr.write(`sim-scale: N=${n}${lean.length > 0 ? ' (no list sync)' : ''}…\n`)
    results[`n${n}_seeded1`] = { ...sim([...base, '--seeded', '1']), list_sync: lean.length === 0 }
    results[`n${n}_probing`] = { ...sim([...base, '--probe-density', '1']), list_sync: lean.length === 0 }
  }
  if (!args.includes('--no-storms')) {
    for (const f of [0.1, 0.5, 0.9]) results[`n100_reboot${f * 100}`] = sim(['--nodes', '100', '--seed', seed, '--reboot', `20:${f}`])
  }
  return { seed: Number(seed), full_list_max: fullListMax, results }
}
