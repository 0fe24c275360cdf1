/**
 * The pastiche machine in real fulcrums (issue 16): a blob wanted on one node is fetched in ranges
 * from two peers at once, verified, pinned and listed as wanted; a peer whose copy was altered on
 * disk is found out and counted while the blob comes whole from the honest one; a wanted blob put on
 * the node itself is pinned; unwant unpins; the wanting node's journal replays the pastiche actor
 * without divergence; its holdings outlive a restart. Addresses 127.78.80.x.
 */
import test from 'ava'
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { agreed, crux, FulcrumPool, until, type RunningFulcrum } from '../fixtures/fulcrums.js'
import { createPasticheClient, type PasticheClient } from '../../actors/pastiche/client.js'
import { loadPeerTls } from '../../runtime/grpc-tls.js'
import { replayJournal, readLines } from '../../runtime/replayer.js'
import { productMachines } from '../../machines/index.js'
import type { FetchMsg, PasticheContext } from '../../machines/pastiche/types.js'

const grpcOf = (f: RunningFulcrum) => f.addr.replace(/:\d+$/, ':50059')
const idOf = (f: RunningFulcrum) => f.lines.find((l) => typeof l.node === 'string')!.node as string

async function pastiche(t: import('ava').ExecutionContext, f: RunningFulcrum, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await crux('pastiche', ...args, '--target', grpcOf(f), '--data-dir', f.dataDir, '--json')
  if (r.status !== 0) t.fail(`crux pastiche ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

function store(t: import('ava').ExecutionContext, f: RunningFulcrum): PasticheClient {
  const c = createPasticheClient({ address: grpcOf(f), tls: loadPeerTls(f.dataDir), timeoutMs: 5_000 })
  t.teardown(() => c.close())
  return c
}

/** Polls `check` every 100 ms until it is true (bounded). */
async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const t0 = Date.now()
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The pastiche actor's story in a journal: the fetches it sent, the answers it got, its last context. */
function story(trace: string) {
  const fetches = new Map<number, FetchMsg>()
  const answers: Array<{ id: number; result: string; bytes: number }> = []
  let context: PasticheContext | undefined
  let steps = 0
  const report = replayJournal(readLines(trace), {
    machines: productMachines,
    onStep(s) {
      if (!s.actor.endsWith('/pastiche')) return
      context = structuredClone(s.cell.context) as PasticheContext
      steps++
      if (s.input?.type === 'fetched') answers.push(s.input as unknown as { id: number; result: string; bytes: number })
      for (const e of s.res.out) if (e.type === 'send' && e.event.type === 'fetch') fetches.set((e.event as unknown as FetchMsg).id, e.event as unknown as FetchMsg)
    },
  })
  /** Bytes that came in ranges answered ok, per peer address. */
  const okFrom: Record<string, number> = {}
  for (const a of answers) if (a.result === 'ok') okFrom[fetches.get(a.id)!.from] = (okFrom[fetches.get(a.id)!.from] ?? 0) + a.bytes
  return { report, okFrom, context, steps }
}

test('want on C: ranges from A and B at once, verified and pinned; an altered copy on B is found out and B counted; a wanted blob put on C is pinned; unwant unpins; the journal of C replays; holdings outlive a restart', async (t) => {
  t.timeout(60_000)
  const pool = new FulcrumPool(t)
  const trace = join(pool.dir, 'c.ndjson')
  const [a, b, c] = [1, 2, 3].map((i) => pool.start(`127.78.80.${i}:23123`, '127.78.80.0/29', i === 3 ? ['--trace', trace] : [])) as [RunningFulcrum, RunningFulcrum, RunningFulcrum]
  await until(() => agreed([a, b, c], 3), 20_000, 'one flock of 3')

  // 4 MiB on A and B: the machine splits it into ranges between the two holders.
  const file = join(pool.dir, 'blob.bin')
  writeFileSync(file, randomBytes(4 << 20))
  const put = await pastiche(t, a, 'put', file)
  t.like(await pastiche(t, b, 'put', file), { hash: put.hash, existed: false })
  const hash = put.hash as string
  const w = await pastiche(t, c, 'want', hash)
  t.like(w, { hash, changed: true, held: false })
  const sc = store(t, c)
  await eventually(async () => (await sc.has(hash)).held, 15_000, 'C holds the wanted blob')
  await eventually(async () => (await sc.ls()).blobs.some((x) => x.hash === hash && x.pinned), 5_000, 'C pins it')
  t.deepEqual((await pastiche(t, c, 'ls')).blobs, [{ hash, bytes: 4 << 20, pinned: true, wanted: true, held: true, from: [idOf(a), idOf(b)].sort() }])
  t.like(await pastiche(t, c, 'want', hash), { changed: false, held: true })

  // A second blob whose copy on B is altered on disk after the put (same size, a byte flipped in each
  // half: whichever range B serves is wrong).
  const file2 = join(pool.dir, 'blob2.bin')
  writeFileSync(file2, randomBytes(2 << 20))
  const hash2 = (await pastiche(t, a, 'put', file2)).hash as string
  await pastiche(t, b, 'put', file2)
  const hex = hash2.slice(7)
  const fd = openSync(join(b.dataDir, 'pastiche', 'blobs', hex.slice(0, 2), hex), 'r+')
  for (const at of [500_000, 1_500_000]) writeSync(fd, Buffer.from([readFileSync(file2)[at]! ^ 0xff]), 0, 1, at)
  closeSync(fd)
  // Through get: C lacks it, wants it, waits until held, serves it, and withdraws the holding.
  const got = await pastiche(t, c, 'get', hash2, '--out', join(pool.dir, 'blob2.copy'))
  t.like(got, { hash: hash2, bytes: 2 << 20, fetched: true })
  // The copy that hashed right came from A alone (B's ranges made the wrong ones).
  t.deepEqual(got.peers, [idOf(a)])
  t.true(readFileSync(join(pool.dir, 'blob2.copy')).equals(readFileSync(file2)))
  await eventually(async () => !(await sc.ls()).blobs.some((x) => x.hash === hash2 && (x.wanted || x.pinned)), 5_000, 'the holding get gave is withdrawn')

  // A third whose file on B lost its tail: B's Get says DATA_LOSS, the range is bad, B is counted and
  // excluded for it, and the range comes from A.
  const file3 = join(pool.dir, 'blob3.bin')
  writeFileSync(file3, randomBytes(2 << 20))
  const hash3 = (await pastiche(t, a, 'put', file3)).hash as string
  await pastiche(t, b, 'put', file3)
  truncateSync(join(b.dataDir, 'pastiche', 'blobs', hash3.slice(7, 9), hash3.slice(7)), 100_000)
  await pastiche(t, c, 'want', hash3)
  await eventually(async () => (await sc.has(hash3)).held, 15_000, 'C holds the third blob')
  t.true(readFileSync(join(c.dataDir, 'pastiche', 'blobs', hash3.slice(7, 9), hash3.slice(7))).equals(readFileSync(file3)))

  // Wanted before anyone holds it, then put on C itself: the store tells the machine, which pins it.
  const file4 = join(pool.dir, 'blob4.bin')
  writeFileSync(file4, randomBytes(10_000))
  const hash4 = `sha256:${createHash('sha256').update(readFileSync(file4)).digest('hex')}`
  t.like(await pastiche(t, c, 'want', hash4), { changed: true, held: false })
  await eventually(async () => (await sc.ls()).blobs.some((x) => x.hash === hash4 && x.wanted && !x.held), 5_000, 'ls lists the wanted blob not held yet')
  await pastiche(t, c, 'put', file4)
  await eventually(async () => (await sc.ls()).blobs.some((x) => x.hash === hash4 && x.pinned), 5_000, 'a put of a wanted blob is pinned')

  t.like(await pastiche(t, c, 'unwant', hash), { changed: true })
  await eventually(async () => (await sc.ls()).blobs.some((x) => x.hash === hash && !x.pinned && !x.wanted), 5_000, 'unwant unpins')
  t.true((await sc.has(hash)).held, 'an unwanted blob stays until evicted')

  c.child.kill('SIGTERM')
  t.is(await c.exited, 0)
  const s = story(trace)
  t.false(s.report.diverged, `C's journal diverged: ${JSON.stringify(s.report.diverged)}`)
  t.true(s.steps > 10, `the pastiche actor is in the journal (${s.steps} steps replayed)`)
  t.true((s.okFrom[grpcOf(a)] ?? 0) > 0 && (s.okFrom[grpcOf(b)] ?? 0) > 0, `both peers served ranges: ${JSON.stringify(s.okFrom)}`)
  const ctx = s.context!
  t.true(ctx.counters.badAssemblies >= 1, `the altered copy made an assembly fail (${JSON.stringify(ctx.counters)})`)
  t.true(ctx.badPeers[idOf(b)] !== undefined && ctx.badPeers[idOf(a)] === undefined, `B, not A, is counted: ${JSON.stringify(ctx.badPeers)}`)
  t.true(ctx.counters.bad >= 1, `B's short file made a bad range (${JSON.stringify(ctx.counters)})`)
  t.is(ctx.counters.completed, 3)
  t.deepEqual(Object.keys(ctx.wants).sort(), [hash3, hash4].sort())
  // The CLI's replay says the same.
  const r = await crux('replay', trace, '--json')
  t.is(r.status, 0, r.stderr)
  t.false((JSON.parse(r.stdout) as { diverged: unknown }).diverged)

  // The holdings outlive a restart (persisted by the machine, given back at spawn).
  const c2 = pool.start('127.78.80.3:23123', '127.78.80.0/29')
  const sc2 = store(t, c2)
  await eventually(async () => (await sc2.ls().catch(() => ({ blobs: [] }))).blobs.some((x) => x.hash === hash3 && x.wanted && x.pinned), 10_000, 'the holding of the third blob is back after the restart')
  t.false((await sc2.ls()).blobs.find((x) => x.hash === hash)!.wanted, 'the withdrawn one stays withdrawn')
})
