/**
 * Hostile datagrams at a live fulcrum, the benchmark of test/integration/fulcrum-fuzz.test.ts: three
 * fulcrums on 127.77.61.1–3 form one flock, then the first receives COUNT random, truncated,
 * bit-flipped, wrongly keyed, replayed and forged datagrams (actors/flock/hostile-datagrams.ts), sent in
 * paced rounds until its drop counter shows COUNT arrived.
 * - arrived: the rise of crux_wire_dropped_total; not_arrived: sent − arrived, lost in the kernel's
 *   socket buffers (UDP) or, for the genuine datagram's first copy alone, accepted;
 * - accepted_fuzz: the rise of crux_wire_accepted_total minus the flock's own traffic over the same
 *   time (its rate measured idle just before); should be 0 or 1 (the genuine datagram's first copy),
 *   give or take the heartbeat jitter: accepted_delta and accepted_idle_per_s are reported too;
 * - datagrams_per_s: arrived over the wall time of the sending (paced, so a floor of what the fulcrum
 *   can do); datagrams_per_cpu_s: arrived over the CPU time the fulcrum used meanwhile;
 * - rss_kb_*: the fulcrum's VmRSS before, after, and the peak of samples every 100 ms meanwhile;
 * - drops: the rise of crux_wire_dropped_total by reason;
 * - flock_*: after the run, one flock of 3 with the leader it had before, and how many times any
 *   fulcrum logged a change of where it stands meanwhile (0 when undisturbed).
 * Then the forged-key-id flood (bench/lib/forged-flood.ts, issue 13 item 4), unless --forged-s 0:
 * - node_receive: a bare Node receiver flooded by the same sender, its CPU per datagram (Node's share);
 * - forged: the leader flooded for --forged-s seconds (default 30) at the rate one process reaches,
 *   sent and received, drops by reason, the leader's CPU per forged datagram, and flock_kept.
 * --forged-only skips the hostile datagrams, --no-forged the flood; --crux PATH runs the fulcrums from another build's
 * dist/bin/crux.js (e.g. one without the derivation budget), for the figures before and after.
 *
 *   npm run bench -- fuzz [--count N] [--round N] [--seed N] [--progress] [--forged-s N] [--forged-only | --no-forged] [--crux PATH]
 */
import { createSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { captureHostileMaterial, createHostileDatagrams, metric, metricBy, sendUntilArrived } from '../actors/flock/hostile-datagrams.js'
import { agreedOn, spawnFulcrum, waitFor, type FulcrumProcess } from '../actors/local/flock.js'
import { Rng } from '../runtime/rng.js'
import { generateSecret } from '../runtime/secret.js'
import { flag } from './flags.js'
import { forgedFlood, nodeReceiveCost } from './lib/forged-flood.js'
import { procCpuS as cpuS, statusKb } from './lib/proc.js'

const NET = '127.77.61'
const PORT = 23123
const METRICS = `${NET}.1:9161`
const metricsAt = (addr: string): string => `${addr.split(':')[0]}:9161`

const rssKb = (pid: number): number => statusKb(pid, 'VmRSS')
const running = (f: FulcrumProcess): boolean => f.child.exitCode === null && f.child.signalCode === null
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const count = flag(args, '--count', 1_000_000)
  const round = flag(args, '--round', 5000)
  const seed = flag(args, '--seed', 2026)
  const progress = args.includes('--progress')
  const forgedS = args.includes('--no-forged') ? 0 : flag(args, '--forged-s', 30)
  const hostileToo = !args.includes('--forged-only')
  const cruxAt = args.indexOf('--crux')
  const cruxJs = cruxAt >= 0 ? args[cruxAt + 1] : undefined
  const dir = mkdtempSync(join(tmpdir(), 'crux-fuzz-'))
  const secretFile = join(dir, 'flock.secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const fs: FulcrumProcess[] = []
  const sock = createSocket('udp4')
  let sampler: NodeJS.Timeout | undefined
  // Ctrl-C or a kill must not leave fulcrums behind either.
  const onSignal = (sig: NodeJS.Signals) => {
    for (const f of fs) if (running(f)) f.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    process.exit(sig === 'SIGINT' ? 130 : 143)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    for (let i = 1; i <= 3; i++) {
      const addr = `${NET}.${i}:${PORT}`
      // Every fulcrum serves metrics: the flood goes to whichever is the leader.
      const extra = ['--metrics', metricsAt(addr)]
      fs.push(spawnFulcrum(addr, join(dir, `n${i}`), ['--probe', `${NET}.0/29`, '--secret-file', secretFile, '--heartbeat', '200', ...extra], { cruxJs }))
    }
    await waitFor(() => agreedOn(fs, 3), 60_000, 'one flock of 3')
    for (const f of fs) {
      const url = `http://${metricsAt(f.addr)}/metrics`
      for (let end = Date.now() + 30_000; ; await sleep(50)) {
        const ok = await metric(url, 'crux_wire_accepted_total').then(() => true, () => false)
        if (ok) break
        if (Date.now() > end) throw new Error(`no metrics at ${url}`)
      }
    }

    const out: Record<string, unknown> = hostileToo ? await hostile() : {}
    if (forgedS > 0) {
      await waitFor(() => agreedOn(fs, 3), 30_000, 'one flock of 3 before the flood')
      out.node_receive = await nodeReceiveCost(`${NET}.20:${PORT}`, `${NET}.13`, Math.max(1, Math.round(forgedS / 3)))
      out.forged = await forgedFlood(fs, (f) => metricsAt(f.addr), `${NET}.13`, forgedS)
    }
    return out
  } finally {
    if (sampler !== undefined) clearInterval(sampler)
    try {
      sock.close()
    } catch {
      // never bound
    }
    for (const f of fs) if (running(f)) f.child.kill('SIGKILL')
    await Promise.all(fs.map((f) => f.exited))
    rmSync(dir, { recursive: true, force: true })
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  /** The hostile datagrams at the first fulcrum: the figures of the header's first list. */
  async function hostile(): Promise<Record<string, unknown>> {
    const target = fs[0]!
    const pid = target.child.pid!
    const url = `http://${METRICS}/metrics`
    const secret = new Uint8Array(Buffer.from(readFileSync(secretFile, 'utf8').trim(), 'base64'))
    const datagram = createHostileDatagrams({ rng: new Rng(seed), ...(await captureHostileMaterial(secret, `${NET}.10`, `${NET}.1:${PORT}`)) })
    await new Promise<void>((r) => sock.bind(0, `${NET}.12`, () => r()))

    // The flock's own traffic, idle, to tell it from anything the fuzz got accepted.
    const idle0 = await metric(url, 'crux_wire_accepted_total')
    const idleT0 = Date.now()
    await sleep(3000)
    const idlePerS = ((await metric(url, 'crux_wire_accepted_total')) - idle0) / ((Date.now() - idleT0) / 1000)

    const rssBefore = rssKb(pid)
    let rssPeak = rssBefore
    sampler = setInterval(() => {
      if (running(target)) rssPeak = Math.max(rssPeak, rssKb(pid))
    }, 100)
    const acceptedBefore = await metric(url, 'crux_wire_accepted_total')
    const dropsBefore = await metricBy(url, 'crux_wire_dropped_total', 'reason')
    const cpuBefore = cpuS(pid)
    const flockLines = () => fs.reduce((n, f) => n + f.lines.filter((l) => l.msg === 'flock').length, 0)
    const flockLinesBefore = flockLines()
    const viewBefore = target.view()!
    const t0 = Date.now()
    let nextReport = 100_000
    const { sent, arrived } = await sendUntilArrived({
      sock,
      host: `${NET}.1`,
      port: PORT,
      datagram,
      n: count,
      metricsUrl: url,
      round,
      boundMs: 120_000 + count, // 1 ms a datagram: the paced rounds manage ~10× that
      onRound: (s, a) => {
        if (!progress || a < nextReport) return
        while (nextReport <= a) nextReport += 100_000
        process.stderr.write(`fuzz: ${a} arrived of ${s} sent, ${((Date.now() - t0) / 1000).toFixed(1)} s, rss ${rssKb(pid)} kB\n`)
      },
    })
    const wallS = (Date.now() - t0) / 1000
    const cpuUsed = cpuS(pid) - cpuBefore
    clearInterval(sampler)
    const rssAfter = rssKb(pid)
    rssPeak = Math.max(rssPeak, rssAfter)
    const acceptedDelta = (await metric(url, 'crux_wire_accepted_total')) - acceptedBefore
    const dropsAfter = await metricBy(url, 'crux_wire_dropped_total', 'reason')
    const drops = Object.fromEntries(Object.entries(dropsAfter).map(([k, v]) => [k, v - (dropsBefore[k] ?? 0)]))
    return {
      sent,
      arrived,
      not_arrived: sent - arrived,
      accepted_fuzz: Math.round(acceptedDelta - idlePerS * wallS),
      accepted_delta: acceptedDelta,
      accepted_idle_per_s: +idlePerS.toFixed(2),
      datagrams_per_s: Math.round(arrived / wallS),
      datagrams_per_cpu_s: cpuUsed > 0 ? Math.round(arrived / cpuUsed) : null,
      fulcrum_cpu_s: +cpuUsed.toFixed(2),
      rss_kb_before: rssBefore,
      rss_kb_after: rssAfter,
      rss_kb_peak: rssPeak,
      drops,
      still_running: fs.every(running),
      flock_agreed_after: agreedOn(fs, 3),
      flock_same_leader: target.view()?.leader === viewBefore.leader && target.view()?.flock === viewBefore.flock,
      flock_log_changes: flockLines() - flockLinesBefore,
      wall_s: +wallS.toFixed(2),
    }
  }
}
