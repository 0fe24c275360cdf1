/**
 * Replay speed and the visualiser's load time (issue: watching and replaying). Makes a simulator
 * trace of N nodes over H heartbeats (default 100 × 300), then measures:
 * - replay_events_per_s: `crux replay`'s verifying replay (every input re-stepped, every result compared);
 * - timeline_ms: building the visualiser's timeline from the trace (one more replay pass);
 * - viz_interactive_ms: in headless Chromium (/usr/bin/chromium), from navigation until the page has
 *   drawn the last moment and answers input (body[data-ready]); skipped when chromium is missing.
 *
 *   npm run bench -- replay [--nodes N] [--hb H] [--seed S]
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTimeline } from '../actors/viz/model.js'
import { startVizServer } from '../actors/viz/server.js'
import { productMachines } from '../machines/index.js'
import { readLines, replayJournal } from '../runtime/replayer.js'
import { flag } from './flags.js'

const crux = fileURLToPath(new URL('../bin/crux.js', import.meta.url))

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const nodes = flag(args, '--nodes', 100)
  const hb = flag(args, '--hb', 300)
  const seed = flag(args, '--seed', 1)
  const dir = mkdtempSync(join(tmpdir(), 'crux-bench-replay-'))
  try {
    const trace = join(dir, 'trace.ndjson')
    const sim = spawnSync(process.execPath, ['--max-semi-space-size=64', crux, 'sim', '--nodes', String(nodes), '--seed', String(seed), '--until-hb', String(hb), '--trace', trace, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 })
    if (sim.status !== 0) throw new Error(`crux sim failed: ${sim.stderr}`)
    const t0 = performance.now()
    const r = replayJournal(readLines(trace), { machines: productMachines })
    const replayS = (performance.now() - t0) / 1000
    if (r.diverged !== false) throw new Error(`the trace diverged at seq ${r.diverged.seq}`)
    const t1 = performance.now()
    const timeline = buildTimeline(readLines(trace))
    const timelineMs = performance.now() - t1
    let interactive: number | null = null
    if (existsSync('/usr/bin/chromium')) {
      const { chromium } = await import('playwright-core')
      const server = await startVizServer({ host: '127.77.62.1', port: 0, timeline })
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
      try {
        const page = await browser.newPage()
        const s = performance.now()
        await page.goto(server.url)
        await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 })
        interactive = performance.now() - s
      } finally {
        await browser.close()
        await server.close()
      }
    }
    return {
      nodes,
      hb,
      trace_mb: +(statSync(trace).size / 1e6).toFixed(1),
      events: r.events,
      verified: r.verified,
      replay_s: +replayS.toFixed(2),
      replay_events_per_s: Math.round(r.events / replayS),
      timeline_ms: Math.round(timelineMs),
      timeline_changes: timeline.nodes.reduce((n, x) => n + x.changes.length, 0),
      viz_interactive_ms: interactive === null ? null : Math.round(interactive),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
