/**
 * `crux viz`: the visualiser's HTTP server. It serves the page (web/viz/, no CDN: four static files)
 * and the data: the timeline of a journal (actors/viz/model.ts), what-if re-runs of the simulator
 * with other settings or injected faults, and, fed by a beacon, the live judgement of the status
 * analyser as server-sent events, with every node the feed and a Confab poll name (actors/viz/live.ts)
 * and, for one node asked for, why it is or is not leader (actors/viz/live-explain.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { StatusView } from '../../machines/status/types.js'
import { cannotServe, InvalidArgumentError } from '../../runtime/errors.js'
import { readLines } from '../../runtime/replayer.js'
import type { SimOptions } from '../sim/simulator.js'
import { createLive, liveView, pollTargets, readAnswer, readMon } from './live.js'
import { explainLive } from './live-explain.js'
import { buildTimeline, type VizTimeline } from './model.js'

// Two folders up from dist/bin/crux.bundle.mjs, three from dist/actors/viz/server.js.
const WEB = [new URL('../../web/viz/', import.meta.url), new URL('../../../web/viz/', import.meta.url)].map((u) => fileURLToPath(u)).find((d) => existsSync(join(d, 'index.html'))) ?? fileURLToPath(new URL('../../../web/viz/', import.meta.url))
const FILES: Record<string, string> = { '/': 'index.html', '/index.html': 'index.html', '/viz.js': 'viz.js', '/strew.js': 'strew.js', '/viz.css': 'viz.css' }
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' }
/** What-if runs are for looking at: small enough to answer while the user waits. */
const MAX_WHATIF_NODES = 300

export interface VizServerOptions {
  host: string
  port: number
  /** The journal to show; none: live mode only. */
  timeline?: VizTimeline
  /**
   * Live mode: a beacon to watch; `ask`: fulcrum addresses to ask over Confab (any one of a flock
   * will do: the others are found in its leader's member list); `pollMs`: how often (default 1 s).
   */
  beacon?: { address: string; secret: Uint8Array; stableMs: number; ask?: readonly string[]; pollMs?: number }
}

export interface VizServer {
  readonly url: string
  close(): Promise<void>
}

const int = (v: unknown, what: string, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(`${what} must be an integer in [${min}, ${max}]`)
  return v
}

/** Services per node a what-if may ask for. */
export const MAX_WHATIF_SERVICES = 10

/** The what-if request, checked: every field named in the error it causes. */
export function whatIfOptions(body: unknown): SimOptions {
  if (typeof body !== 'object' || body === null) throw new InvalidArgumentError('the body must be a JSON object')
  const b = body as Record<string, unknown>
  const o: SimOptions = { nodes: int(b.nodes, 'nodes', 1, MAX_WHATIF_NODES), seed: int(b.seed, 'seed', 0, 2 ** 31), hbMs: int(b.hbMs ?? 1000, 'hbMs', 10, 60_000), untilHb: int(b.untilHb ?? 60, 'untilHb', 1, 400) }
  if (b.partition !== undefined && b.partition !== null) {
    const p = b.partition as Record<string, unknown>
    o.partition = { atHb: int(p.atHb, 'partition.atHb', 1, 400), groups: int(p.groups, 'partition.groups', 2, 16), healHb: int(p.healHb, 'partition.healHb', 1, 400) }
    if (o.partition.healHb <= o.partition.atHb) throw new InvalidArgumentError('partition.healHb must come after partition.atHb')
  }
  if (b.crash !== undefined && b.crash !== null) {
    const c = b.crash as Record<string, unknown>
    const fraction = c.fraction
    if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) throw new InvalidArgumentError('crash.fraction must be in (0, 1]')
    o.crash = { atHb: int(c.atHb, 'crash.atHb', 1, 400), fraction }
  }
  if (b.crashLeaderAtHb !== undefined && b.crashLeaderAtHb !== null) o.crashLeaderAtHb = int(b.crashLeaderAtHb, 'crashLeaderAtHb', 1, 400)
  if (b.crashMemberAtHb !== undefined && b.crashMemberAtHb !== null) o.crashMemberAtHb = int(b.crashMemberAtHb, 'crashMemberAtHb', 1, 400)
  // Every node's strew machines too (crux sim --services K): heavier, so fewer per node than the CLI allows.
  if (b.services !== undefined && b.services !== null && b.services !== 0) o.services = int(b.services, 'services', 0, MAX_WHATIF_SERVICES)
  if (b.dropLink !== undefined && b.dropLink !== null) {
    const d = b.dropLink as Record<string, unknown>
    o.dropLink = { atHb: int(d.atHb, 'dropLink.atHb', 1, 400), a: int(d.a, 'dropLink.a', 0, o.nodes - 1), b: int(d.b, 'dropLink.b', 0, o.nodes - 1) }
    if (o.dropLink.a === o.dropLink.b) throw new InvalidArgumentError('dropLink needs two different nodes')
    if (d.healHb !== undefined && d.healHb !== null) o.dropLink.healHb = int(d.healHb, 'dropLink.healHb', o.dropLink.atHb + 1, 400)
  }
  // Other timer settings (docs/PROTOCOL.md "Timers"): the what-if the visualiser is for.
  const config: Record<string, number> = {}
  for (const [k, lo, hi] of [['probeEveryHb', 0.5, 100], ['memberLapseHb', 1, 100], ['pruneEveryHb', 0.25, 100], ['shortLeaderHb', 1, 100]] as const) {
    const v = b[k]
    if (v === undefined || v === null) continue
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new InvalidArgumentError(`${k} must be a number in [${lo}, ${hi}]`)
    config[k] = v
  }
  if (Object.keys(config).length > 0) o.config = config
  if (b.loss !== undefined && b.loss !== null) {
    if (typeof b.loss !== 'number' || !(b.loss >= 0 && b.loss < 1)) throw new InvalidArgumentError('loss must be in [0, 1)')
    o.loss = b.loss
  }
  return o
}

async function body(req: IncomingMessage): Promise<unknown> {
  let text = ''
  for await (const chunk of req) {
    text += String(chunk)
    if (text.length > 65_536) throw new InvalidArgumentError('request body too large')
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new InvalidArgumentError('the body is not JSON')
  }
}

export async function startVizServer(o: VizServerOptions): Promise<VizServer> {
  const timelineJson = JSON.stringify(o.timeline ?? null)
  const live = new Set<ServerResponse>()
  let lastStatus = ''
  let watch: { close(): Promise<void> } | undefined
  let poll: { close(): Promise<void> } | undefined
  let status: StatusView | null = null
  const pollMs = o.beacon?.pollMs ?? 1000
  const nodes = createLive(Math.max(3 * pollMs, 3000))
  // Many records and answers arrive together: the page gets one view per burst, and only a changed one.
  let pushing: ReturnType<typeof setTimeout> | undefined
  let lastKey = ''
  const push = () => {
    pushing ??= setTimeout(() => {
      pushing = undefined
      const view = liveView(nodes, status, Date.now())
      const key = JSON.stringify([view.flocks, view.rebooting])
      if (key === lastKey) return
      lastKey = key
      lastStatus = `data: ${JSON.stringify(view)}\n\n`
      for (const res of live) res.write(lastStatus)
    }, 100)
  }
  if (o.beacon !== undefined) {
    const { startWatch } = await import('../monitor/watcher.js')
    const { startLivePoll } = await import('./live-poll.js')
    const seeds = o.beacon.ask ?? []
    watch = await startWatch({
      beacon: o.beacon.address,
      secret: o.beacon.secret,
      stableMs: o.beacon.stableMs,
      onRecord(mon) {
        readMon(nodes, mon, Date.now())
        push()
      },
      onStatus(view) {
        status = view
        push()
      },
    })
    poll = await startLivePoll({
      secret: o.beacon.secret,
      everyMs: pollMs,
      targets: () => pollTargets(nodes, seeds),
      onAnswer(answer, from) {
        readAnswer(nodes, answer, from, Date.now())
        push()
      },
    })
  }
  const json = (res: ServerResponse, code: number, value: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(typeof value === 'string' ? value : JSON.stringify(value))

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    const file = FILES[path]
    if (req.method === 'GET' && file !== undefined) {
      res.writeHead(200, { 'content-type': TYPES[file.split('.').pop()!]!, 'cache-control': 'no-store' }).end(readFileSync(join(WEB, file)))
      return
    }
    if (req.method === 'GET' && path === '/api/timeline') return json(res, 200, timelineJson)
    if (req.method === 'GET' && path === '/api/live') {
      if (watch === undefined) return json(res, 404, { error: 'no beacon: start crux viz with --beacon' })
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      if (lastStatus !== '') res.write(lastStatus)
      live.add(res)
      req.on('close', () => live.delete(res))
      return
    }
    if (req.method === 'GET' && path === '/api/live/node') {
      if (watch === undefined) return json(res, 404, { error: 'no beacon: start crux viz with --beacon' })
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? ''
      const why = explainLive(nodes, status, id, Date.now())
      return why === null ? json(res, 404, { error: `no node ${JSON.stringify(id.slice(0, 80))} in the live feed` }) : json(res, 200, why)
    }
    if (req.method === 'POST' && path === '/api/sim') {
      void (async () => {
        const dir = mkdtempSync(join(tmpdir(), 'crux-whatif-'))
        try {
          const opts = whatIfOptions(await body(req))
          const { runSim } = await import('../sim/simulator.js')
          const trace = join(dir, 'trace.ndjson')
          const summary = await runSim({ ...opts, trace })
          json(res, 200, { summary, timeline: buildTimeline(readLines(trace)) })
        } catch (err) {
          json(res, err instanceof InvalidArgumentError ? 400 : 500, { error: err instanceof Error ? err.message : String(err) })
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
      })()
      return
    }
    json(res, 404, { error: `no ${req.method} ${path}` })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(cannotServe('', `${o.host}:${o.port}`, err)))
    server.listen(o.port, o.host, () => resolve())
  })
  const addr = server.address() as { address: string; port: number }
  return {
    url: `http://${addr.address}:${addr.port}/`,
    async close() {
      for (const res of live) res.end()
      clearTimeout(pushing)
      await poll?.close()
      await watch?.close()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
