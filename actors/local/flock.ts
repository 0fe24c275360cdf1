/**
 * Fulcrums as child processes on this machine (`crux demo`, integration tests): each is a real
 * `crux fulcrum` whose NDJSON log is followed line by line, so the caller can see where every node
 * stands without asking it anything.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where a node stands, from its latest `flock` log line. */
export interface FlockView {
  node: string
  role: string
  flock: string
  leader: string
  leaderAddr: string
  members: number
}

export interface FulcrumProcess {
  readonly addr: string
  readonly dataDir: string
  readonly child: ChildProcess
  /** Every log line so far (parsed). */
  readonly lines: Array<Record<string, unknown>>
  view(): FlockView | undefined
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>
}

// The bundle (bin/bundle.ts) when it was built: it starts in two thirds of the CPU time.
// dist/bin/ is a sibling of this file when bundled, and two folders up from dist/actors/local/flock.js.
const binDir = [new URL('../bin/', import.meta.url), new URL('../../bin/', import.meta.url)].map((u) => fileURLToPath(u)).find((d) => existsSync(join(d, 'crux.js'))) ?? fileURLToPath(new URL('../../bin/', import.meta.url))
const bundle = join(binDir, 'crux.bundle.mjs')
const cruxJs = existsSync(bundle) ? bundle : join(binDir, 'crux.js')

/**
 * Starts `crux fulcrum --listen addr --data-dir dataDir …args` and follows its log. With `netns`, the
 * fulcrum runs in that network namespace (`ip netns exec`, which execs: the child's pid is the
 * fulcrum's, so signals reach it directly; needs root). With `cruxJs`, that entry point runs instead
 * of this build's (a benchmark comparing with another build). `prefix` runs it under another command
 * that execs it the same way (`prlimit --nofile=N:N`).
 */
export function spawnFulcrum(addr: string, dataDir: string, args: readonly string[], opts: { netns?: string; cruxJs?: string; prefix?: readonly string[] } = {}): FulcrumProcess {
  // A 1 MiB young generation: a fulcrum allocates little per second, and this keeps it under 60 MB
  // resident (61 → 59 MB peak measured here); the simulator, which allocates a lot, does the opposite.
  const argv = [process.execPath, '--max-semi-space-size=1', opts.cruxJs ?? cruxJs, 'fulcrum', '--listen', addr, '--data-dir', dataDir, ...args]
  const [cmd, ...rest] = [...(opts.prefix ?? []), ...(opts.netns === undefined ? argv : ['ip', 'netns', 'exec', opts.netns, ...argv])]
  // A local flock is configured by these arguments alone: CRUX_<FLAG> variables meant for a real
  // node (its --config, its ports) must not reach a demo's or a test's fulcrums.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CRUX_')))
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'], env })
  const lines: Array<Record<string, unknown>> = []
  let latest: FlockView | undefined
  let buf = ''
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      try {
        const rec = JSON.parse(line) as Record<string, unknown>
        lines.push(rec)
        if (rec.msg === 'flock') latest = rec as unknown as FlockView
      } catch {
        // not a log line: ignored
      }
    }
  })
  child.stderr!.on('data', (d: Buffer) => lines.push({ msg: 'stderr', text: d.toString() }))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { addr, dataDir, child, lines, exited, view: () => latest }
}

/**
 * Polls `cond` every `pollMs` until it holds (resolving with the time it did) or `boundMs` passes
 * (rejecting with `what`). Log-driven conditions need polling: the logs arrive on the event loop.
 */
export async function waitFor(cond: () => boolean, boundMs: number, what: string, pollMs = 50): Promise<number> {
  const end = Date.now() + boundMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
  return Date.now()
}

/** True when every process reports the same flock and leader, with `n` members. */
export function agreedOn(fs: readonly FulcrumProcess[], n: number): boolean {
  const views = fs.map((f) => f.view())
  if (views.some((v) => v === undefined)) return false
  const first = views[0]!
  return views.every((v) => v!.flock === first.flock && v!.leader === first.leader && v!.members === n)
}

/** The smallest IPv4 block (CIDR) that holds `first` and the `n − 1` addresses after it. */
export function coveringCidr(first: string, n: number): string {
  const o = first.split('.').map(Number)
  const a = ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0
  const last = a + n - 1
  let bits = 32
  while (bits > 8 && (a >>> (32 - bits)) !== (last >>> (32 - bits))) bits--
  // Room for the network and broadcast addresses a CIDR probe range leaves out.
  while (bits > 8) {
    const base = bits === 32 ? a : (a & ((0xffffffff << (32 - bits)) >>> 0)) >>> 0
    if (a > base && last < base + 2 ** (32 - bits) - 1) break
    bits--
  }
  const base = (a & ((0xffffffff << (32 - bits)) >>> 0)) >>> 0
  return `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${bits}`
}

/** `first` plus k, as a dotted quad. */
export function addIp(first: string, k: number): string {
  const o = first.split('.').map(Number)
  const a = (((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0) + k
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`
}
