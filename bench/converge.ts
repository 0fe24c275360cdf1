/**
 * Real fulcrums on loopback, measured like ../shared/peers/serf-converge.sh measures Serf: N processes
 * on 127.77.40.x (one port), each given ONE seed address (the first node), as the Serf harness gives
 * each agent one `-join`. Times are taken from the fulcrums' own logs (each logs where it stands on
 * every change), so there is no polling delay.
 * - converge_s: from the first start until every fulcrum lists N members; converge_last_ready_s: the same
 *   end, counted from the last fulcrum ready (its 'fulcrum started' line: every port bound, the flock
 *   actor running), so process start-up on a loaded machine is not counted as convergence;
 *   last_ready_s: from the first start until that last fulcrum was ready;
 * - detect_s: SIGKILL one member (not the leader) → every survivor lists N − 1;
 * - leave_s: SIGTERM another (graceful) → every survivor lists N − 2;
 * - then three more deaths, each SIGKILL timed to "gone everywhere" (no survivor names it as leader or
 *   counts it: every list at most the survivors) and, for the seed and the leader, to "one flock
 *   again" (the survivors agree on one flock and leader, every list holding all of them):
 *   detect_member_s (a random member, neither leader nor seed), detect_seed_s and reflock_seed_s
 *   (node 0, everyone's only --probe; seed_was_leader says whether it also led), detect_leader_s and
 *   reflock_leader_s (whoever leads then). Needs N ≥ 7 (two survivors at the end); a phase that
 *   cannot run or does not finish within 60 HB reports NA;
 * - rss_mb_median: peak RSS (VmHWM) per fulcrum; idle_cpu_pct_per_agent: CPU over 5 s after
 *   convergence (idle_late_cpu_pct_per_agent: the next 5 s, after the join's tail); ready_cpu_s_per_agent: CPU a fulcrum used until ready (read when its 'fulcrum started'
 *   line arrives); start_cpu_s_per_agent: CPU a fulcrum used until every fulcrum lists N members.
 *
 *   npm run bench -- converge [--nodes N] [--hb MS] [--crux OTHER/dist/bin/crux.bundle.mjs]
 *   (bench/converge.sh prints the Serf-like line)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agreedOn, spawnFulcrum, waitFor, type FulcrumProcess } from '../actors/local/flock.js'
import { generateSecret } from '../runtime/secret.js'
import { flag } from './flags.js'
import { procCpuS, statusKb } from './lib/proc.js'

const peakRssMb = (pid: number): number => statusKb(pid, 'VmHWM') / 1024

// Times are when the condition was first seen, polled every 10 ms (the logs arrive as they are written).
const until = (cond: () => boolean, boundMs: number, what: string): Promise<number> => waitFor(cond, boundMs, what, 10)

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** The time (ms, the fulcrum's own clock) of its 'fulcrum started' line, if it has logged it. */
const readyAt = (f: FulcrumProcess): number | undefined => f.lines.find((l) => l.msg === 'fulcrum started')?.time as number | undefined

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = flag(args, '--nodes', 5)
  const hb = flag(args, '--hb', 500)
  // More fulcrum flags, e.g. --no-grpc for membership alone.
  const ei = args.indexOf('--fulcrum-args')
  const extra = ei < 0 ? [] : (args[ei + 1] ?? '').split(/\s+/).filter((x) => x !== '')
  // Another build's entry point (its dist/bin/crux.bundle.mjs), to compare two builds with one harness.
  const ci = args.indexOf('--crux')
  const cruxJs = ci < 0 ? undefined : args[ci + 1]
  if (n < 3 || n > 250) throw new Error('--nodes must be 3–250')
  const dir = mkdtempSync(join(tmpdir(), 'crux-converge-'))
  const secretFile = join(dir, 'flock.secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const addr = (i: number) => `127.77.${40 + Math.floor(i / 250)}.${(i % 250) + 1}:23123`
  const fs: FulcrumProcess[] = []
  const members = (f: FulcrumProcess) => f.view()?.members ?? 0
  try {
    const t0 = Date.now()
    for (let i = 0; i < n; i++) fs.push(spawnFulcrum(addr(i), join(dir, `n${i}`), ['--probe', addr(0), '--secret-file', secretFile, '--heartbeat', String(hb), '--log-level', 'info', ...extra], cruxJs === undefined ? {} : { cruxJs }))
    const launched = Date.now()
    const bound = 300_000
    // CPU until ready, read as each 'fulcrum started' line arrives (within the 10 ms poll).
    const readyCpu: Array<number | undefined> = fs.map(() => undefined)
    const noteReady = () => fs.forEach((f, i) => {
      if (readyCpu[i] === undefined && readyAt(f) !== undefined) readyCpu[i] = procCpuS(f.child.pid!)
    })
    const agreed = () => {
      noteReady()
      return fs.every((f) => members(f) === n)
    }
    const converged = await until(agreed, bound, `${n} members everywhere`)
    const startCpu = fs.map((f) => procCpuS(f.child.pid!))
    // Every fulcrum lists N members, so every one has said it started (it logs that before its flock runs).
    const lastReady = Math.max(...fs.map((f) => readyAt(f)!))

    // Idle: 5 s with nothing happening.
    const cpu0 = fs.map((f) => procCpuS(f.child.pid!))
    await new Promise((r) => setTimeout(r, 5000))
    const cpu5 = fs.map((f) => procCpuS(f.child.pid!))
    const idle = fs.map((f, i) => ((cpu5[i]! - cpu0[i]!) / 5) * 100)
    // A second window, 5–10 s after: the first still holds the join's tail (the reeve registers two
    // heartbeats after the flock settles, checkpoints follow), this one only the heartbeat's own work.
    await new Promise((r) => setTimeout(r, 5000))
    const idleLate = fs.map((f, i) => ((procCpuS(f.child.pid!) - cpu5[i]!) / 5) * 100)
    const rss = fs.map((f) => peakRssMb(f.child.pid!))

    const leader = fs.find((f) => f.view()!.node === f.view()!.leader)!
    const [victim, leaver] = fs.filter((f) => f !== leader && f !== fs[0]).slice(-2) as [FulcrumProcess, FulcrumProcess]
    const killAt = Date.now()
    victim.child.kill('SIGKILL')
    const survivors = fs.filter((f) => f !== victim)
    const detected = await until(() => survivors.every((f) => members(f) === n - 1), bound, 'the killed member gone everywhere')
    const leaveAt = Date.now()
    leaver.child.kill('SIGTERM')
    const rest = survivors.filter((f) => f !== leaver)
    const left = await until(() => rest.every((f) => members(f) === n - 2), bound, 'the leaver gone everywhere')
    const deaths = await threeDeaths(fs[0]!, rest, hb)
    return {
      like: 'serf',
      nodes: n,
      profile: `hb${hb}`,
      launch_s: +((launched - t0) / 1000).toFixed(3),
      converge_s: +((converged - t0) / 1000).toFixed(3),
      converge_last_ready_s: +((converged - lastReady) / 1000).toFixed(3),
      last_ready_s: +((lastReady - t0) / 1000).toFixed(3),
      detect_s: +((detected - killAt) / 1000).toFixed(3),
      detect_hb: +((detected - killAt) / hb).toFixed(1),
      leave_s: +((left - leaveAt) / 1000).toFixed(3),
      rss_mb_median: +median(rss).toFixed(1),
      rss_mb_max: +Math.max(...rss).toFixed(1),
      idle_cpu_pct_per_agent: +median(idle).toFixed(2),
      idle_late_cpu_pct_per_agent: +median(idleLate).toFixed(2),
      ready_cpu_s_per_agent: +median(readyCpu.map((c, i) => c ?? startCpu[i]!)).toFixed(2),
      start_cpu_s_per_agent: +median(startCpu).toFixed(2),
      ...deaths,
    }
  } finally {
    for (const f of fs) if (f.child.exitCode === null) f.child.kill('SIGKILL')
    await Promise.all(fs.map((f) => f.exited))
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One flock, one leader among `fs` (the one that leads itself), every list holding all of them. */
const oneFlock = (fs: readonly FulcrumProcess[]): boolean =>
  agreedOn(fs, fs.length) && fs.filter((f) => f.view()!.node === f.view()!.leader).length === 1

/**
 * SIGKILLs `dead` and times, from the kill, until it is gone everywhere (no survivor names it as its
 * leader or lists more than the survivors) and until the survivors are one flock; NaN for what did
 * not happen within 60 HB.
 */
async function death(dead: FulcrumProcess, survivors: readonly FulcrumProcess[], hb: number): Promise<{ detect: number; reflock: number }> {
  const id = dead.view()!.node
  const at = Date.now()
  dead.child.kill('SIGKILL')
  const within = Math.max(30_000, 60 * hb)
  const gone = () => survivors.every((f) => f.view()!.leader !== id && f.view()!.members <= survivors.length)
  const detect = await until(gone, within, 'the dead node gone everywhere').then((t) => (t - at) / 1000, () => NaN)
  const reflock = await until(() => oneFlock(survivors), Math.max(0, at + within - Date.now()), 'the survivors one flock').then((t) => (t - at) / 1000, () => NaN)
  return { detect, reflock }
}

/** A random member, then the seed (node 0), then whoever leads: each death timed (see the header). */
async function threeDeaths(seed: FulcrumProcess, alive: readonly FulcrumProcess[], hb: number): Promise<Record<string, number | string | boolean | null>> {
  const out: Record<string, number | string | boolean | null> = {
    detect_member_s: 'NA',
    detect_seed_s: 'NA',
    reflock_seed_s: 'NA',
    detect_leader_s: 'NA',
    reflock_leader_s: 'NA',
    seed_was_leader: null,
  }
  const fmt = (s: number) => (Number.isNaN(s) ? 'NA' : +s.toFixed(3))
  let live = [...alive]
  if (live.length < 5) return { ...out, deaths_note: 'needs --nodes 7 or more' }
  const leaderOf = () => live.find((f) => f.view()!.node === f.view()!.leader)
  const others = live.filter((f) => f !== seed && f !== leaderOf())
  const member = others[Math.floor(Math.random() * others.length)]!
  live = live.filter((f) => f !== member)
  out.detect_member_s = fmt((await death(member, live, hb)).detect)
  out.seed_was_leader = leaderOf() === seed
  live = live.filter((f) => f !== seed)
  const s = await death(seed, live, hb)
  out.detect_seed_s = fmt(s.detect)
  out.reflock_seed_s = fmt(s.reflock)
  const leader = Number.isNaN(s.reflock) ? undefined : leaderOf()
  if (leader === undefined) return { ...out, deaths_note: 'no one flock after the seed died: no leader to kill' }
  live = live.filter((f) => f !== leader)
  const l = await death(leader, live, hb)
  out.detect_leader_s = fmt(l.detect)
  out.reflock_leader_s = fmt(l.reflock)
  return out
}
