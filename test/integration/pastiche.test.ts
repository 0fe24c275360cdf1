/**
 * Pastiche on real fulcrum processes (issue 16), through the CLI: a file and a directory go into one
 * node, another pulls them from it (`crux pastiche fetch`), and they come back out identical; a peer
 * whose blob was altered on disk is refused with DATA_LOSS and nothing kept; the receiving node
 * killed with -9 mid-pull shows no partial blob after its restart and resumes from the bytes it
 * kept; CLI errors are one line. Addresses 127.78.63.x and 127.78.64.x.
 */
import test from 'ava'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync, createWriteStream } from 'node:fs'
import { join, relative } from 'node:path'
import { FulcrumPool, crux, until, type RunningFulcrum } from '../fixtures/fulcrums.js'
import { hashOfPattern, patternBytes } from '../fixtures/pastiche-bytes.js'
import { cuttingProxy } from '../fixtures/pastiche-node.js'
import { createPasticheClient, type PasticheClient } from '../../actors/pastiche/client.js'
import { loadPeerTls } from '../../runtime/grpc-tls.js'

const grpcOf = (f: RunningFulcrum) => f.addr.replace(/:\d+$/, ':50059')
const BOUND = 30_000

/** Two fulcrums on `net`.1 and .2 agreed on one flock. */
async function pair(t: import('ava').ExecutionContext, net: string) {
  const pool = new FulcrumPool(t)
  const fs = [1, 2].map((i) => pool.start(`${net}.${i}:23123`, `${net}.0/29`))
  await until(() => fs.every((f) => f.view()?.members === 2), BOUND, 'two fulcrums agreeing')
  return { pool, a: fs[0]!, b: fs[1]! }
}

/** `crux pastiche ARGS --target F --data-dir F's --json`, parsed; fails the test on a non-zero exit. */
async function pastiche(t: import('ava').ExecutionContext, f: RunningFulcrum, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await crux('pastiche', ...args, '--target', grpcOf(f), '--data-dir', f.dataDir, '--json')
  if (r.status !== 0) t.fail(`crux pastiche ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

/** Every file of a tree, relative path → content. */
function tree(dir: string): Record<string, string> {
  const files = readdirSync(dir, { withFileTypes: true, recursive: true }).filter((d) => d.isFile())
  return Object.fromEntries(files.map((d) => [relative(dir, join(d.parentPath, d.name)), readFileSync(join(d.parentPath, d.name), 'utf8')]).sort())
}

/** A client of F's store speaking as F (what the CLI does, without a process per check). */
function store(t: import('ava').ExecutionContext, f: RunningFulcrum): PasticheClient {
  const c = createPasticheClient({ address: grpcOf(f), tls: loadPeerTls(f.dataDir), timeoutMs: 5_000 })
  t.teardown(() => c.close())
  return c
}

const storeFiles = (f: RunningFulcrum) => (readdirSync(join(f.dataDir, 'pastiche'), { recursive: true }) as string[]).filter((p) => /^(blobs\/..\/|incoming\/)./.test(p))

test('a file and a directory: put on one node, fetched by another, got back identical; a corrupted peer is refused', async (t) => {
  const { pool, a, b } = await pair(t, '127.78.63')
  const file = join(pool.dir, 'notes.txt')
  writeFileSync(file, 'pastiche carries bytes\n'.repeat(1000))
  const dir = join(pool.dir, 'site')
  mkdirSync(join(dir, 'css'), { recursive: true })
  writeFileSync(join(dir, 'index.html'), '<h1>hi</h1>\n')
  writeFileSync(join(dir, 'css', 'a.css'), 'h1 { color: red }\n')

  const pf = await pastiche(t, a, 'put', file, '--pin')
  t.like(pf, { bytes: 23_000, kind: 'file', existed: false, pinned: true })
  const pd = await pastiche(t, a, 'put', dir)
  t.is(pd.kind, 'dir')
  for (const p of [pf, pd]) t.like(await pastiche(t, b, 'fetch', p.hash as string, '--from', grpcOf(a)), { hash: p.hash, bytes: p.bytes, from: grpcOf(a), existed: false })
  t.like(await store(t, b).has(pf.hash as string), { held: true, bytes: 23_000 })

  const gf = await pastiche(t, b, 'get', pf.hash as string, '--out', join(pool.dir, 'notes.copy'))
  t.like(gf, { kind: 'file', bytes: 23_000 })
  t.is(readFileSync(join(pool.dir, 'notes.copy'), 'utf8'), readFileSync(file, 'utf8'))
  t.like(await pastiche(t, b, 'get', pd.hash as string, '--out', join(pool.dir, 'site.copy')), { kind: 'dir' })
  t.deepEqual(tree(join(pool.dir, 'site.copy')), { 'css/a.css': 'h1 { color: red }\n', 'index.html': '<h1>hi</h1>\n' })
  const ls = await pastiche(t, a, 'ls')
  t.is(ls.limit, 10 * 1024 ** 3)
  t.deepEqual((ls.blobs as Array<{ hash: string; pinned: boolean }>).map((x) => [x.hash, x.pinned]).sort(), [[pf.hash, true], [pd.hash, false]].sort())

  // A's copy of a third blob altered on disk: B's pull is DATA_LOSS, one line, and B keeps nothing of it.
  const bad = join(pool.dir, 'bad.bin')
  writeFileSync(bad, Buffer.alloc(300_000, 7))
  const pb = await pastiche(t, a, 'put', bad)
  const hex = (pb.hash as string).slice(7)
  const fd = openSync(join(a.dataDir, 'pastiche', 'blobs', hex.slice(0, 2), hex), 'r+')
  writeSync(fd, Buffer.from([8]), 0, 1, 150_000)
  closeSync(fd)
  const before = storeFiles(b).length
  const r = await crux('pastiche', 'fetch', pb.hash as string, '--from', grpcOf(a), '--target', grpcOf(b), '--data-dir', b.dataDir)
  t.is(r.status, 1)
  t.regex(r.stderr, /^crux: .*fetching sha256:[0-9a-f]{64} from 127\.78\.63\.1:50059: blob sha256:[0-9a-f]{64}: the 300000 bytes received hash to sha256:[0-9a-f]{64}; nothing kept\n$/)
  t.is(storeFiles(b).length, before)
  t.like(await store(t, b).has(pb.hash as string), { held: false, partial: 0 })
})

test('CLI errors are one line: a bad hash and a missing --out are usage (2), a node that is down a failure (1)', async (t) => {
  const pool = new FulcrumPool(t)
  const a = pool.start('127.78.65.1:23123', '127.78.65.1:23123', ['--pastiche-limit', '1G'])
  await until(() => a.view()?.members === 1, BOUND, 'a flock of one')
  const hash = `sha256:${'0'.repeat(64)}`
  const cases: Array<[string[], number, RegExp]> = [
    [['get', 'sha256:xyz', '--out', '/tmp/never'], 2, /^crux: bad blob hash "sha256:xyz": 3 hex digits after "sha256:", 64 expected\n$/],
    [['get', hash], 2, /^crux: .*--out.*\n$/],
    [['has', hash, '--target', '127.78.65.7:50059'], 1, /^crux: no fulcrum answers at 127\.78\.65\.7:50059: connection refused .*\n$/],
    [['get', hash, '--out', join(a.dataDir, 'nothing-here')], 1, /^crux: 127\.78\.65\.1:50059: blob sha256:0{64} is not in the store\n$/],
    [['put', join(a.dataDir, 'no-such-file')], 2, /^crux: cannot read .*no-such-file: ENOENT\n$/],
  ]
  for (const [args, status, line] of cases) {
    const r = await crux('pastiche', ...args, ...(args.includes('--target') ? [] : ['--target', grpcOf(a)]), '--data-dir', a.dataDir)
    t.is(r.status, status, args.join(' '))
    t.regex(r.stderr, line)
    t.is(r.stdout, '')
  }
  t.false(existsSync(join(a.dataDir, 'nothing-here')))
  t.is((await store(t, a).ls()).limit, 1 << 30) // --pastiche-limit 1G
})

test('the receiving fulcrum killed -9 mid-pull: after its restart no partial blob is visible, and the pull resumes from the bytes it kept', async (t) => {
  const { pool, a, b } = await pair(t, '127.78.64')
  const total = 32 << 20
  const file = join(pool.dir, 'big.bin')
  const out = createWriteStream(file)
  for await (const c of patternBytes(total, 5)) if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()))
  await new Promise<void>((r) => out.end(() => r()))
  const hash = await hashOfPattern(total, 5)
  t.is((await pastiche(t, a, 'put', file)).hash, hash)
  // B pulls through a proxy that stops forwarding after 8 MiB: the pull hangs with bytes kept.
  const slow = await cuttingProxy(t, '127.78.64.1', grpcOf(a), 8 << 20, 'stall')
  const hanging = crux('pastiche', 'fetch', hash, '--from', slow, '--target', grpcOf(b), '--data-dir', b.dataDir)
  let partial = 0
  const end = Date.now() + BOUND
  const onB = store(t, b)
  while (partial < 4 << 20 && Date.now() < end) partial = (await onB.has(hash)).partial
  onB.close()
  t.true(partial >= 4 << 20, `partial ${partial}`)
  b.child.kill('SIGKILL')
  await b.exited
  await hanging

  const b2 = pool.start(b.addr, '127.78.64.0/29', [], b.addr)
  await until(() => b2.view()?.members === 2 && a.view()?.members === 2, BOUND, 'B back in the flock')
  const has = await pastiche(t, b2, 'has', hash)
  t.is(has.held, false)
  t.true((has.partial as number) > 0)
  t.deepEqual((await pastiche(t, b2, 'ls')).blobs, [])
  t.false(storeFiles(b2).some((p) => p.startsWith('blobs/')))
  const r = await pastiche(t, b2, 'fetch', hash, '--from', grpcOf(a))
  t.like(r, { hash, bytes: total, existed: false })
  t.is(r.moved, total - (has.partial as number))
  t.like(await store(t, b2).has(hash), { held: true, bytes: total })
})
