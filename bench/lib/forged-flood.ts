/**
 * The forged-key-id flood of bench/fuzz.ts (issue 13 item 4): a process of its own sends forged
 * envelopes with a new key id each, as fast as it can, at the flock's leader for `seconds`, while
 * the flock is watched through the fulcrums' logs every 100 ms. First the same sender floods a bare
 * Node receiver (bench/lib/flood-proc.ts) for a third of that, so the report can tell Node's own
 * cost per datagram from the fulcrum's.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { agreedOn, type FulcrumProcess } from '../../actors/local/flock.js'
import { metric, metricBy } from '../../actors/flock/hostile-datagrams.js'
import { procCpuS } from './proc.js'

const FLOOD = fileURLToPath(new URL('./flood-proc.js', import.meta.url))

function lineOf(child: ChildProcess, test: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = ''
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const line = buf.split('\n').find(test)
      if (line !== undefined) resolve(line)
    })
    child.on('exit', (code) => reject(new Error(`flood process exited (${code}) before saying ${JSON.stringify(buf)}`)))
  })
}

/** Runs the sender for `seconds` at HOST:PORT from `fromHost`; what it sent, and the rate. */
async function send(to: string, fromHost: string, seconds: number): Promise<{ sent: number; errors: number; seconds: number }> {
  const [host, port] = to.split(':')
  const child = spawn(process.execPath, [FLOOD, 'send', host!, port!, fromHost, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] })
  return JSON.parse(await lineOf(child, (l) => l.startsWith('{'))) as { sent: number; errors: number; seconds: number }
}

/** Node's own CPU per datagram received: a bare receiver at `at`, flooded from `fromHost`. */
export async function nodeReceiveCost(at: string, fromHost: string, seconds: number): Promise<Record<string, number>> {
  const [host, port] = at.split(':')
  // The young generation a fulcrum runs with (actors/local/flock.ts), so garbage costs the same.
  const rx = spawn(process.execPath, ['--max-semi-space-size=1', FLOOD, 'recv', host!, port!], { stdio: ['ignore', 'pipe', 'inherit'] })
  await lineOf(rx, (l) => l === 'ready')
  const cpu0 = procCpuS(rx.pid!)
  const s = await send(at, fromHost, seconds)
  const cpu = procCpuS(rx.pid!) - cpu0
  const done = lineOf(rx, (l) => l.startsWith('{'))
  rx.kill('SIGTERM')
  const { received } = JSON.parse(await done) as { received: number }
  return { sent: s.sent, received, sent_per_s: Math.round(s.sent / s.seconds), cpu_s: +cpu.toFixed(2), us_per_datagram: +((cpu * 1e6) / received).toFixed(2) }
}

/**
 * Floods the leader of `fs` (each with its metrics at `metricsOf(f)`) for `seconds` from `fromHost`.
 * The flock is kept when every 100 ms look found one flock of |fs| under the leader it had, and no
 * fulcrum logged a change of where it stands.
 */
export async function forgedFlood(fs: readonly FulcrumProcess[], metricsOf: (f: FulcrumProcess) => string, fromHost: string, seconds: number): Promise<Record<string, unknown>> {
  const before = fs[0]!.view()!
  const leader = fs.find((f) => f.addr === before.leaderAddr)
  if (leader === undefined) throw new Error(`no fulcrum at the leader's address ${before.leaderAddr}`)
  const url = `http://${metricsOf(leader)}/metrics`
  const flockLines = () => fs.reduce((n, f) => n + f.lines.filter((l) => l.msg === 'flock').length, 0)
  // The leader's CPU undisturbed, to tell the flood's share from the flock's own.
  const idle0 = procCpuS(leader.child.pid!)
  await new Promise((r) => setTimeout(r, 3000))
  const idlePerS = (procCpuS(leader.child.pid!) - idle0) / 3
  const lines0 = flockLines()
  const drops0 = await metricBy(url, 'crux_wire_dropped_total', 'reason')
  const accepted0 = await metric(url, 'crux_wire_accepted_total')
  const cpu0 = procCpuS(leader.child.pid!)
  let looks = 0
  let broken = 0
  const watch = setInterval(() => {
    looks++
    const v = leader.view()
    if (!agreedOn(fs, fs.length) || v?.leader !== before.leader || v.flock !== before.flock) broken++
  }, 100)
  let s
  try {
    s = await send(leader.addr, fromHost, seconds)
  } finally {
    clearInterval(watch)
  }
  const cpu = procCpuS(leader.child.pid!) - cpu0
  // The leader may still be working through its socket buffer: wait until its drop counter settles.
  let drops = drops0
  for (let last = -1; ; await new Promise((r) => setTimeout(r, 200))) {
    drops = await metricBy(url, 'crux_wire_dropped_total', 'reason')
    const total = Object.values(drops).reduce((a, b) => a + b, 0)
    if (total === last) break
    last = total
  }
  const rise: Record<string, number> = {}
  for (const [k, v] of Object.entries(drops)) if (v !== (drops0[k] ?? 0)) rise[k] = v - (drops0[k] ?? 0)
  const received = Object.values(rise).reduce((a, b) => a + b, 0)
  const after = leader.view()
  return {
    sent: s.sent,
    send_errors: s.errors,
    sent_per_s: Math.round(s.sent / s.seconds),
    received,
    received_per_s: Math.round(received / s.seconds),
    drops: rise,
    accepted: (await metric(url, 'crux_wire_accepted_total')) - accepted0,
    leader_cpu_s: +cpu.toFixed(2),
    leader_idle_cpu_per_s: +idlePerS.toFixed(3),
    leader_us_per_forged: received > 0 ? +((cpu * 1e6) / received).toFixed(2) : null,
    leader_us_per_forged_less_idle: received > 0 ? +(((cpu - idlePerS * s.seconds) * 1e6) / received).toFixed(2) : null,
    flock_kept: broken === 0 && flockLines() === lines0 && after?.leader === before.leader && agreedOn(fs, fs.length),
    flock_looks: looks,
    flock_looks_broken: broken,
    flock_log_changes: flockLines() - lines0,
    seconds: +s.seconds.toFixed(2),
  }
}
