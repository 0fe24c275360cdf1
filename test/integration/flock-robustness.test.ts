/**
 * The flock survives what real machines do (the robustness issue): the seed that is also the leader
 * dies; every node restarts without the seed; a member stalls for 2 HB; the network loses 20 % of
 * datagrams for a minute. Real fulcrums, each given ONE seed address (the first node), as an
 * operator would start them, not a CIDR that lets every node find every other by probing.
 *
 * Each test uses its own 127.77.7x.0/29 (other files use 127.77.0, 21–45, 60–63 and 80–90); the
 * loss test runs in network namespaces of its own (10.78.0.0/24 inside them) and is skipped, with a
 * log line saying why, where those cannot be made.
 */
import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { agreedOn, spawnFulcrum, waitFor, type FlockView, type FulcrumProcess } from '../../actors/local/flock.js'
import { bridgedNamespaces, netnsUnavailable } from '../../actors/local/netns.js'
import { crux, FulcrumPool } from '../fixtures/fulcrums.js'

const HB = 300
const hbs = (ms: number) => +(ms / HB).toFixed(1)

/** Where every node stands, for a failure message: `addr flock leader members` per node. */
function views(fs: readonly FulcrumProcess[]): string {
  return fs.map((f) => {
    const v = f.view()
    return v === undefined ? `${f.addr} (no view)` : `${f.addr} ${v.role} flock=${v.flock} leader=${v.leader} members=${v.members}`
  }).join('; ')
}

/** One flock, one leader (a survivor that leads itself), `n` members in every list. */
function oneFlock(fs: readonly FulcrumProcess[], n: number): boolean {
  if (!agreedOn(fs, n)) return false
  const leader = fs[0]!.view()!.leader
  return fs.filter((f) => f.view()!.node === leader).length === 1
}

/** Waits for `cond`; on time-out fails with where every node stands instead of throwing. */
async function waitOr(t: ExecutionContext, fs: readonly FulcrumProcess[], cond: () => boolean, boundMs: number, what: string): Promise<number | undefined> {
  try {
    return await waitFor(cond, boundMs, what, 20)
  } catch (err) {
    t.fail(`${(err as Error).message}; views: ${views(fs)}`)
    return undefined
  }
}

/** The `flock` log lines `f` wrote from line `from` on. */
const flockLines = (f: FulcrumProcess, from: number) => f.lines.slice(from).filter((l) => l.msg === 'flock') as unknown as FlockView[]

const at = (f: FulcrumProcess) => ['--target', f.addr.replace(/:\d+$/, ':50059'), '--data-dir', f.dataDir]

const kill = async (f: FulcrumProcess, signal: NodeJS.Signals) => {
  if (f.child.exitCode === null && f.child.signalCode === null) f.child.kill(signal)
  return f.exited
}

/**
 * `n` fulcrums on `net`.1…n, node 1 started alone and left to become a stable (promoted) leader,
 * then the others, each with `--probe` naming node 1 only. Resolves once all agree, settled, with
 * node 1 as their leader. A newcomer whose flock name is the greater draws node 1 into its flock
 * (rule 6), and then node 1 leads only if its fresh vote wins; so when the flock settles on another
 * leader the attempt is thrown away and made again with fresh identities (about 2 in 3 attempts are;
 * each costs ~5 s; 20 attempts all failing is a 1-in-10 000 event). Returns the processes and how to
 * start node i again from its data dir.
 */
async function seedLed(t: ExecutionContext, pool: FulcrumPool, net: string, n: number, extra: string[] = []) {
  const addr = (i: number) => `${net}.${i + 1}:23123`
  const args = ['--heartbeat', String(HB), ...extra]
  const settled = (fs: FulcrumProcess[]) =>
    oneFlock(fs, n) && fs.every((f) => (f.view()!.node === f.view()!.leader ? f.view()!.role === 'leader.stable' : f.view()!.role === 'member.following'))
  for (let attempt = 1; attempt <= 20; attempt++) {
    // Node i, with its data dir (a fresh identity per attempt); the same again after a stop.
    const start = (i: number) => pool.start(addr(i), addr(0), args, `${addr(i)}-a${attempt}`)
    const seed = start(0)
    await waitFor(() => seed.view()?.role === 'leader.alone', 20_000, 'the seed leading itself')
    // A leader is promoted after 6 HB of leadership; 7 HB leaves room for the timer's phase.
    await new Promise((r) => setTimeout(r, 7 * HB))
    const fs = [seed, ...Array.from({ length: n - 1 }, (_, i) => start(i + 1))]
    await waitFor(() => settled(fs), 30_000, `one settled flock of ${n}`)
    if (fs[0]!.view()!.leader === seed.view()!.node) {
      t.log(`the seed leads a flock of ${n} (attempt ${attempt})`)
      return { fs, start }
    }
    await Promise.all(fs.map((f) => kill(f, 'SIGKILL')))
  }
  throw new Error('the seed never ended up leading in 20 attempts')
}

test.serial('one seed each; SIGKILL the seed that leads: the survivors are one flock within 6 HB of noticing, and a later registration reaches every survivor', async (t) => {
  t.timeout(180_000)
  const n = 5
  const pool = new FulcrumPool(t)
  const { fs } = await seedLed(t, pool, '127.77.70', n)
  const [seed, ...survivors] = fs as [FulcrumProcess, ...FulcrumProcess[]]
  const marks = survivors.map((f) => f.lines.length)
  const killedAt = Date.now()
  await kill(seed, 'SIGKILL')
  // "Within 6 HB", read literally from the kill, cannot hold: nobody can know the leader died before
  // its check-ins are missed (a member's leader lapses 3 HB after its last check-in, so 3–4 HB after
  // the death). We read it as 6 HB after that detection, and bound it from the kill: 4 + 6 = 10 HB.
  const reflocked = await waitOr(t, survivors, () => oneFlock(survivors, n - 1), 40 * HB, `one flock of the ${n - 1} survivors`)
  const noticed = survivors
    .map((f, i) => f.lines.slice(marks[i]).find((l) => l.msg === 'flock' && l.leader !== seed.view()!.node))
    .filter((l) => l !== undefined)
    .map((l) => Number(l!.time))
  const detect = noticed.length > 0 ? Math.min(...noticed) - killedAt : NaN
  if (reflocked === undefined) return
  t.log(`seed-leader SIGKILLed: first survivor noticed after ${hbs(detect)} HB, one flock of ${n - 1} after ${hbs(reflocked - killedAt)} HB (HB ${HB} ms)`)
  t.true(reflocked - killedAt <= 10 * HB, `one flock after ${hbs(reflocked - killedAt)} HB from the kill; allowed 10 (detection ≤ 4 + 6)`)

  // A registration made now, at one survivor, is listed by `crux registry ls` at every survivor.
  const r = await crux('service', 'register', ...at(survivors[1]!), '--api', 'Robust1', '--instance', 'r1', '--addr', '127.77.70.2:8001')
  t.is(r.status, 0, r.stderr)
  const nodeId = r.stdout.trim()
  const seen = new Set<FulcrumProcess>()
  const end = Date.now() + 15_000
  while (seen.size < survivors.length && Date.now() < end) {
    for (const f of survivors) {
      if (seen.has(f)) continue
      const ls = await crux('registry', 'ls', ...at(f), '--api', 'Robust1', '--json')
      if (ls.status === 0 && (JSON.parse(ls.stdout) as { services: Array<{ node_id: string }> }).services.some((s) => s.node_id === nodeId)) seen.add(f)
    }
    if (seen.size < survivors.length) await new Promise((res) => setTimeout(res, 200))
  }
  t.deepEqual(survivors.filter((f) => !seen.has(f)).map((f) => f.addr), [], `${nodeId} missing from these survivors' registry after 15 s; views: ${views(survivors)}`)
})

test.serial('every fulcrum stopped, restarted from its data dir without the seed: one flock within 10 HB', async (t) => {
  t.timeout(180_000)
  const n = 5
  const pool = new FulcrumPool(t)
  // The seed leads, as it does when it was started first: the others have heard from few but it.
  const { fs, start } = await seedLed(t, pool, '127.77.71', n, ['--no-grpc'])
  t.deepEqual(await Promise.all(fs.map((f) => kill(f, 'SIGTERM'))), fs.map(() => 0))
  // Restarted with the same data dirs and the same --probe, which names only the absent seed.
  const again = fs.slice(1).map((_, i) => start(i + 1))
  t.deepEqual(again.map((f) => f.dataDir), fs.slice(1).map((f) => f.dataDir))
  await waitFor(() => again.every((f) => f.view() !== undefined), 20_000, 'every restarted fulcrum running')
  const lastStart = Math.max(...again.map((f) => Number(f.lines.find((l) => l.msg === 'fulcrum started')!.time)))
  t.true(again.every((f) => f.lines.find((l) => l.msg === 'fulcrum started')!.restored === true), 'every node restored its checkpoint')
  const agreed = await waitOr(t, again, () => oneFlock(again, n - 1), 40 * HB, `one flock of the ${n - 1} restarted`)
  if (agreed === undefined) return
  t.log(`restarted without the seed: one flock of ${n - 1} ${hbs(agreed - lastStart)} HB after the last start (HB ${HB} ms)`)
  t.true(agreed - lastStart <= 10 * HB, `${hbs(agreed - lastStart)} HB`)
})

test.serial('SIGSTOP a member for 2 HB, then SIGCONT: it stays in (or is back within 2 HB) and no second flock appears', async (t) => {
  t.timeout(60_000)
  const n = 5
  const net = '127.77.72'
  const pool = new FulcrumPool(t)
  const fs = Array.from({ length: n }, (_, i) => pool.start(`${net}.${i + 1}:23123`, `${net}.1:23123`, ['--heartbeat', String(HB), '--no-grpc']))
  await waitFor(() => oneFlock(fs, n), 30_000, `one flock of ${n}`)
  // Settled: a promoted leader, every member following it.
  await waitFor(() => fs.every((f) => f.view()!.role === 'leader.stable' || f.view()!.role === 'member.following'), 30_000, 'a stable flock')
  const flock = fs[0]!.view()!.flock
  const stalled = fs.find((f) => f !== fs[0] && f.view()!.node !== f.view()!.leader)!
  const others = fs.filter((f) => f !== stalled)
  const marks = fs.map((f) => f.lines.length)
  stalled.child.kill('SIGSTOP')
  t.teardown(() => void (stalled.child.exitCode === null && stalled.child.kill('SIGCONT')))
  await new Promise((r) => setTimeout(r, 2 * HB))
  const resumedAt = Date.now()
  stalled.child.kill('SIGCONT')
  const back = await waitOr(t, fs, () => oneFlock(fs, n), 30 * HB, `the stalled member back in every list`)
  // Watch a while longer: a late start-over or a removal would show here.
  await new Promise((r) => setTimeout(r, 6 * HB))
  const seen = (f: FulcrumProcess) => flockLines(f, marks[fs.indexOf(f)]!)
  const otherFlocks = new Set(others.flatMap((f) => seen(f).map((v) => v.flock)))
  const stalledFlocks = new Set(seen(stalled).map((v) => v.flock))
  const minMembers = Math.min(...others.flatMap((f) => seen(f).map((v) => v.members)), n)
  t.log(`stalled ${stalled.addr} for 2 HB: fewest members any other node listed ${minMembers}; flocks seen by the others ${[...otherFlocks].join(',') || flock}, by the stalled one ${[...stalledFlocks].join(',') || flock}; back in every list ${back === undefined ? 'never' : `${hbs(back - resumedAt)} HB`} after SIGCONT`)
  t.deepEqual([...otherFlocks].filter((x) => x !== flock), [], 'a second flock among the nodes that were not stopped')
  t.deepEqual([...stalledFlocks].filter((x) => x !== flock), [], 'the stalled member started a flock of its own')
  if (back !== undefined) t.true(back - resumedAt <= 2 * HB, `back in every list ${hbs(back - resumedAt)} HB after SIGCONT`)
  t.true(oneFlock(fs, n), views(fs))
})

test.serial('8 fulcrums in network namespaces, 20 % of datagrams lost for 60 s: nobody is removed, one flock throughout', async (t) => {
  t.timeout(150_000)
  const why = netnsUnavailable()
  if (why !== undefined) {
    t.log(`skipped: ${why}`)
    t.pass()
    return
  }
  const n = 8
  const lossS = 60
  const net = await bridgedNamespaces(n)
  t.teardown(() => net.destroy())
  const pool = new FulcrumPool(t)
  const fs: FulcrumProcess[] = []
  t.teardown(async () => {
    await Promise.all(fs.map((f) => kill(f, 'SIGKILL')))
  })
  const addr = (i: number) => `${net.ip(i)}:23123`
  for (let i = 0; i < n; i++) {
    fs.push(spawnFulcrum(addr(i), join(pool.dir, `n${i}`), ['--probe', addr(0), '--secret-file', pool.secretFile, '--heartbeat', String(HB), '--no-grpc'], { netns: net.node(i) }))
  }
  await waitFor(() => oneFlock(fs, n), 60_000, `one flock of ${n}`)
  await waitFor(() => fs.every((f) => f.view()!.role === 'leader.stable' || f.view()!.role === 'member.following'), 30_000, 'a stable flock')
  const flock = fs[0]!.view()!.flock
  const marks = fs.map((f) => f.lines.length)
  net.setLoss(20)
  const end = Date.now() + lossS * 1000
  let polls = 0
  let full = 0
  while (Date.now() < end) {
    polls++
    if (oneFlock(fs, n)) full++
    await new Promise((r) => setTimeout(r, 1000))
  }
  net.setLoss(0)
  // Every change of view any node logged during the minute, not only what the polls caught.
  const lines = fs.flatMap((f, i) => flockLines(f, marks[i]!).map((v) => ({ ...v, at: f.addr })))
  const short = lines.filter((v) => v.members < n)
  const flocks = new Set(lines.map((v) => v.flock).concat(flock))
  const leaders = new Set(lines.map((v) => v.leader).concat(fs[0]!.view()!.leader))
  t.log(`${lossS} s at 20 % loss (HB ${HB} ms): ${full}/${polls} 1-s polls with all ${n} members everywhere; ${short.length} logged views short of ${n} (fewest ${Math.min(n, ...short.map((v) => v.members))}); flock names ${flocks.size}, leaders ${leaders.size}`)
  t.is(short.length, 0, `views listing fewer than ${n}: ${short.slice(0, 5).map((v) => `${v.at} ${v.members}`).join(', ')}`)
  t.is(flocks.size, 1, `flock names seen: ${[...flocks].join(', ')}`)
  t.is(full, polls)
})
