/**
 * Real fulcrums under packet loss, measured like ../shared/peers/serf-netns.sh SCENARIO=loss measures
 * Serf: N fulcrums, each in its own network namespace on one bridge (actors/local/netns.ts), each
 * given ONE seed address (the first node). Once they agree and settle, the bridge drops `--loss` % of UDP
 * datagrams at random for `--seconds`; every second the bench looks at where every node stands (from
 * its log, as the Serf watcher asks every agent for its member list), then lifts the loss.
 * - polls, polls_all_members: 1-s polls, and those in which every node listed all N (serf: full_polls);
 * - min_members: the fewest members any node listed at a poll (serf: min_alive);
 * - false_removals: the sum over polls and nodes of the members missing (serf: false_failed_observations);
 * - views_short: view changes any node logged with fewer than N members (what 1-s polls can miss);
 * - flock_names_seen, leaders_seen: distinct flock names and leaders in every view logged while lossy
 *   (1 and 1 when nothing flapped);
 * - converge_s: first start to N members everywhere; reagree_s: loss lifted to one flock of N again.
 * Needs root, iproute2 and nftables.
 *
 *   npm run bench -- flock-loss [--nodes 8] [--loss 40] [--seconds 60] [--hb 500]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agreedOn, spawnFulcrum, waitFor, type FlockView, type FulcrumProcess } from '../actors/local/flock.js'
import { bridgedNamespaces, netnsUnavailable } from '../actors/local/netns.js'
import { generateSecret } from '../runtime/secret.js'
import { flag } from './flags.js'

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = flag(args, '--nodes', 8)
  const hb = flag(args, '--hb', 500)
  const lossS = flag(args, '--seconds', 60)
  const loss = args.includes('--loss') ? Number(args[args.indexOf('--loss') + 1]) : 40
  if (!(loss >= 0 && loss <= 100)) throw new Error('--loss must be a percentage, 0–100')
  if (n < 2 || n > 250) throw new Error('--nodes must be 2–250')
  const why = netnsUnavailable()
  if (why !== undefined) throw new Error(why)
  const dir = mkdtempSync(join(tmpdir(), 'crux-flock-loss-'))
  const secretFile = join(dir, 'flock.secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const net = await bridgedNamespaces(n)
  const fs: FulcrumProcess[] = []
  try {
    const addr = (i: number) => `${net.ip(i)}:23123`
    const t0 = Date.now()
    for (let i = 0; i < n; i++) {
      fs.push(spawnFulcrum(addr(i), join(dir, `n${i}`), ['--probe', addr(0), '--secret-file', secretFile, '--heartbeat', String(hb), '--no-grpc'], { netns: net.node(i) }))
    }
    const converged = await waitFor(() => agreedOn(fs, n), 120_000, `${n} members everywhere`, 10)
    // As the Serf watcher does: 2 s after agreement; and, as the test does, a settled flock (its leader
    // promoted, 6 HB after it began to lead; every member following it). Then the loss.
    await new Promise((r) => setTimeout(r, 2000))
    await waitFor(() => agreedOn(fs, n) && fs.every((f) => f.view()!.role === 'leader.stable' || f.view()!.role === 'member.following'), 60_000, 'a settled flock', 10)
    const marks = fs.map((f) => f.lines.length)
    const before = fs[0]!.view()!
    net.setLoss(loss)
    const end = Date.now() + lossS * 1000
    let polls = 0
    let full = 0
    let minMembers = n
    let falseRemovals = 0
    while (Date.now() < end) {
      polls++
      const counts = fs.map((f) => f.view()?.members ?? 0)
      minMembers = Math.min(minMembers, ...counts)
      falseRemovals += counts.reduce((a, c) => a + Math.max(0, n - c), 0)
      if (agreedOn(fs, n)) full++
      await new Promise((r) => setTimeout(r, 1000))
    }
    const views = fs.flatMap((f, i) => f.lines.slice(marks[i]).filter((l) => l.msg === 'flock') as unknown as FlockView[])
    net.setLoss(0)
    const healed = Date.now()
    const reagreed = await waitFor(() => agreedOn(fs, n), 120_000, `${n} members everywhere after the loss`, 10).catch(() => NaN)
    return {
      like: 'serf-netns',
      scenario: 'loss',
      nodes: n,
      profile: `hb${hb}`,
      loss_pct: loss,
      loss_s: lossS,
      converge_s: +((converged - t0) / 1000).toFixed(3),
      polls,
      polls_all_members: full,
      min_members: minMembers,
      false_removals: falseRemovals,
      views_short: views.filter((v) => v.members < n).length,
      flock_names_seen: new Set(views.map((v) => v.flock).concat(before.flock)).size,
      leaders_seen: new Set(views.map((v) => v.leader).concat(before.leader)).size,
      reagree_s: Number.isNaN(reagreed) ? 'NA' : +((reagreed - healed) / 1000).toFixed(3),
    }
  } finally {
    for (const f of fs) if (f.child.exitCode === null && f.child.signalCode === null) f.child.kill('SIGKILL')
    await Promise.all(fs.map((f) => f.exited))
    net.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}
