/**
 * Pastiche in the catalog, in real fulcrums (issue 16: "each node's pastiche is a service in the
 * catalog, with what it holds announced as it changes"): every node's pastiche is listed as
 * Pastiche1 at its gRPC address, its tags naming the blobs it holds; a put, a fetch and a gc each
 * change them on every node; a node wanting a blob learns its holder and size from the catalog, asks
 * no peer, and fetches from the holder at once (read from its journal). Addresses 127.78.81.x.
 */
import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { agreed, crux, FulcrumPool, until, type RunningFulcrum } from '../fixtures/fulcrums.js'
import { replayJournal, readLines } from '../../runtime/replayer.js'
import { productMachines } from '../../machines/index.js'
import type { HasMsg, Peers } from '../../machines/pastiche/types.js'

const grpcOf = (f: RunningFulcrum) => f.addr.replace(/:\d+$/, ':50059')
const idOf = (f: RunningFulcrum) => f.lines.find((l) => typeof l.node === 'string')!.node as string

async function cli(t: import('ava').ExecutionContext, f: RunningFulcrum, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await crux(...args, '--target', grpcOf(f), '--data-dir', f.dataDir, '--json')
  if (r.status !== 0) t.fail(`crux ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

type Row = { node: string; addr: string; tags: string[]; up: boolean }

/** The Pastiche1 entries `f`'s catalog serves, by node. */
async function entries(t: import('ava').ExecutionContext, f: RunningFulcrum): Promise<Record<string, Row>> {
  const rows = (await cli(t, f, 'registry', 'ls', '--api', 'Pastiche1')).services as Row[]
  return Object.fromEntries(rows.map((r) => [r.node, r]))
}

async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const t0 = Date.now()
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('every pastiche is in the catalog with what it holds; a want uses the announced holder without asking; put, fetch and gc change the tags everywhere; want --node gives a holding to another node', async (t) => {
  t.timeout(60_000)
  const pool = new FulcrumPool(t)
  const trace = join(pool.dir, 'c.ndjson')
  const [a, b, c] = [1, 2, 3].map((i) => pool.start(`127.78.81.${i}:23123`, '127.78.81.0/29', i === 3 ? ['--trace', trace] : [])) as [RunningFulcrum, RunningFulcrum, RunningFulcrum]
  await until(() => agreed([a, b, c], 3), 20_000, 'one flock of 3')
  await eventually(async () => Object.keys(await entries(t, c)).length === 3, 15_000, "every node's pastiche in C's catalog")
  const all = await entries(t, c)
  for (const f of [a, b, c]) t.like(all[idOf(f)], { addr: grpcOf(f), tags: [], up: true })

  const file = join(pool.dir, 'blob.bin')
  writeFileSync(file, randomBytes(1 << 20))
  const hash = (await cli(t, a, 'pastiche', 'put', file)).hash as string
  const tag = `${hash}/${1 << 20}`
  await eventually(async () => (await entries(t, c))[idOf(a)]?.tags.join() === tag, 10_000, "A's tag in C's catalog")
  await eventually(async () => (await entries(t, b))[idOf(a)]?.tags.join() === tag, 10_000, "A's tag in B's catalog")

  await cli(t, c, 'pastiche', 'want', hash)
  await eventually(async () => (await cli(t, c, 'pastiche', 'has', hash)).held === true, 15_000, 'C holds it')
  await eventually(async () => ((await cli(t, c, 'pastiche', 'ls')).blobs as Array<{ from: string[] }>)[0]?.from.join() === idOf(a), 5_000, "C's ls says its copy came from A")
  await eventually(async () => (await entries(t, b))[idOf(c)]?.tags.join() === tag, 10_000, "C's new holding in B's catalog")

  // Given from C to B (`--node`): B's machine fetches it, and B's tags say so everywhere.
  t.like(await cli(t, c, 'pastiche', 'want', hash, '--node', idOf(b)), { hash, changed: true })
  const blobsOf = async (f: RunningFulcrum) => (await cli(t, f, 'pastiche', 'ls')).blobs as Array<{ hash: string; wanted: boolean; pinned: boolean; held: boolean }>
  await eventually(async () => (await blobsOf(b)).some((x) => x.hash === hash && x.held && x.wanted && x.pinned), 15_000, 'B holds and pins the holding C gave it')
  t.like(await cli(t, c, 'pastiche', 'unwant', hash, '--node', idOf(b)), { hash, changed: true })
  const nowhere = await crux('pastiche', 'want', hash, '--node', 'n0000000000000000', '--target', grpcOf(c), '--data-dir', c.dataDir)
  t.is(nowhere.status, 1)
  t.is(nowhere.stderr, `crux: no node n0000000000000000 in the catalog of ${grpcOf(c)} (\`crux registry ls --api Pastiche1\` lists the nodes)\n`)
  const bad = await crux('pastiche', 'want', hash, '--node', 'B', '--target', grpcOf(c), '--data-dir', c.dataDir)
  t.is(bad.status, 2)
  t.is(bad.stderr, 'crux: --node must be a node id (n and 16 hex digits, as crux registry ls shows), got "B"\n')

  // Unwanted and not pinned on A: gc removes it there, and A's tags follow.
  await cli(t, a, 'pastiche', 'gc')
  await eventually(async () => (await entries(t, c))[idOf(a)]?.tags.length === 0, 10_000, "A's empty tags in C's catalog")

  c.child.kill('SIGTERM')
  t.is(await c.exited, 0)
  const has: HasMsg[] = []
  let announced = false
  const report = replayJournal(readLines(trace), {
    machines: productMachines,
    onStep(s) {
      if (!s.actor.endsWith('/pastiche')) return
      const p = s.input as unknown as Peers | undefined
      if (p?.type === 'peers' && p.peers.some((x) => x.node === idOf(a) && x.address === grpcOf(a) && x.holds?.some((h) => h.hash === hash && h.bytes === 1 << 20))) announced = true
      for (const e of s.res.out) if (e.type === 'send' && e.event.type === 'has') has.push(e.event as unknown as HasMsg)
    },
  })
  t.false(report.diverged, `C's journal diverged: ${JSON.stringify(report.diverged)}`)
  t.true(announced, "C's pastiche was told A holds the blob, at A's address, with its size")
  t.deepEqual(has.filter((h) => h.hash === hash), [], 'nobody was asked: the announcements settled it')
})
