/**
 * `crux service …` and `crux registry …` against two real fulcrums (CLI.md, Services and the
 * registry): what each prints, the JSON fields the contract names, and the exit codes. One flock
 * serves the file; each test uses its own API names, so they run side by side.
 */
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { certifyNode } from '../../runtime/grpc-tls.js'
import { loadOrCreateIdentity } from '../../runtime/node-identity.js'
import { agreed, crux, FulcrumPool, type RunningFulcrum, until } from '../fixtures/fulcrums.js'

const BOUND = 30_000
const CRUX = 'dist/bin/crux.bundle.mjs'


// One flock for the whole file. FulcrumPool tears down with the test that made it; a before hook's
// teardown would run as soon as the hook ends, so the pool gets a context whose teardowns wait for
// test.after.always.
const cleanups: Array<() => unknown> = []
let started: Promise<{ a: RunningFulcrum; b: RunningFulcrum }> | undefined
const flock = () =>
  (started ??= (async () => {
    const pool = new FulcrumPool({ teardown: (fn: () => unknown) => void cleanups.push(fn) } as unknown as ExecutionContext)
    const [a, b] = [1, 2].map((i) => pool.start(`127.77.80.${i}:23123`, '127.77.80.0/29')) as [RunningFulcrum, RunningFulcrum]
    await until(() => agreed([a, b], 2), BOUND, 'one flock of 2')
    return { a, b }
  })())
test.after.always(async () => {
  for (const fn of cleanups) await fn()
})

/** --target and --data-dir of fulcrum `f`: its gRPC default (listen host, port 50059) and its own key. */
const at = (f: RunningFulcrum) => ['--target', f.addr.replace(/:\d+$/, ':50059'), '--data-dir', f.dataDir]

interface Row {
  api: string
  instance: string
  addr: string
  node: string
  up: boolean
  node_id: string
  tags: string[]
}

async function ls(f: RunningFulcrum, api: string): Promise<Row[]> {
  const r = await crux('registry', 'ls', ...at(f), '--api', api, '--json')
  if (r.status !== 0) throw new Error(`crux registry ls: ${r.stderr}`)
  return (JSON.parse(r.stdout) as { services: Row[] }).services
}

/** Polls `get` (CLI calls) until it holds, every 100 ms, within BOUND. */
async function poll(what: string, get: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + BOUND
  while (!(await get())) {
    if (Date.now() > end) throw new Error(`timed out after ${BOUND} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function register(t: ExecutionContext, f: RunningFulcrum, ...args: string[]): Promise<string> {
  const r = await crux('service', 'register', ...at(f), ...args)
  t.is(r.status, 0, r.stderr)
  return r.stdout.trim()
}

test('register prints the NodeID; registry ls on both nodes lists it, as a table and as JSON with the contract fields', async (t) => {
  const { a, b } = await flock()
  const nodeId = await register(t, a, '--api', 'Web1', '--instance', 'w1', '--addr', '127.77.80.1:8001')
  t.is(nodeId, `/crux/default/${a.view()!.node}/Web/Web1`)
  for (const f of [a, b]) await poll(`Web1 in ${f.addr}'s catalog`, async () => (await ls(f, 'Web1')).length === 1)
  for (const f of [a, b]) t.deepEqual(await ls(f, 'Web1'), [{ api: 'Web1', instance: 'w1', addr: '127.77.80.1:8001', node: a.view()!.node, up: true, node_id: nodeId, horde: 'default', tags: [] } as Row])
  const json = JSON.parse((await crux('registry', 'ls', ...at(b), '--json')).stdout) as { services: Row[]; version: number }
  t.true(Number.isInteger(json.version) && json.version > 0)
  const table = (await crux('registry', 'ls', ...at(b), '--api', 'Web1')).stdout.split('\n')
  t.regex(table[0]!, /^NODE-ID\s+API\s+INSTANCE\s+ADDR\s+STATE$/)
  t.deepEqual(table[1]!.split(/\s+/), [nodeId, 'Web1', 'w1', '127.77.80.1:8001', 'up'])
})

test('--tag: the catalog carries the tags to every node; a repeated tag is a usage error, one line, exit 2', async (t) => {
  const { a, b } = await flock()
  const r = await crux('service', 'register', ...at(a), '--api', 'Tagged1', '--addr', '127.77.80.1:8401', '--tag', 'zone=a', '--tag', 'v2', '--json')
  t.is(r.status, 0, r.stderr)
  t.deepEqual((JSON.parse(r.stdout) as { tags: string[] }).tags, ['zone=a', 'v2'])
  await poll('Tagged1 on b', async () => (await ls(b, 'Tagged1')).length === 1)
  t.deepEqual((await ls(b, 'Tagged1'))[0]!.tags, ['zone=a', 'v2'])
  // Registered again with other tags: the change reaches every node.
  await register(t, a, '--api', 'Tagged1', '--addr', '127.77.80.1:8401', '--tag', 'v3')
  await poll('Tagged1 retagged on b', async () => (await ls(b, 'Tagged1'))[0]?.tags.join() === 'v3')
  const twice = await crux('service', 'register', ...at(a), '--api', 'Tagged2', '--addr', '127.77.80.1:8402', '--tag', 'x', '--tag', 'x')
  t.is(twice.status, 2)
  t.is(twice.stderr, 'crux: reeve 127.77.80.1:50059: endpoint.tags: tag "x" appears twice\n')
})

test('registry get picks the greatest up instance that matches', async (t) => {
  const { a, b } = await flock()
  await register(t, a, '--api', 'Pick1', '--instance', 'p-a', '--addr', '127.77.80.1:8101')
  await register(t, a, '--api', 'Pick1', '--service', 'PickX', '--instance', 'p-c', '--addr', '127.77.80.1:8103')
  await register(t, b, '--api', 'Pick1', '--instance', 'p-b', '--addr', '127.77.80.2:8102')
  await poll('three Pick1 on b', async () => (await ls(b, 'Pick1')).length === 3)
  const best = await crux('registry', 'get', ...at(b), '--api', 'Pick1', '--json')
  t.is(best.status, 0, best.stderr)
  t.like(JSON.parse(best.stdout), { api: 'Pick1', instance: 'p-c', addr: '127.77.80.1:8103', up: true })
  const some = await crux('registry', 'get', ...at(b), '--api', 'Pick1', '--instance', '*-b')
  t.is(some.stdout.split(/\s+/)[0], '127.77.80.2:8102')
})

test('registry get with no up instance: exit 1, one line', async (t) => {
  const { a } = await flock()
  const r = await crux('registry', 'get', ...at(a), '--api', 'Nope1')
  t.is(r.status, 1)
  t.is(r.stderr, 'crux: no up instance of Nope1 matches\n')
})

test('deregister removes the registration everywhere; a second one is NOT_FOUND, exit 1', async (t) => {
  const { a, b } = await flock()
  const nodeId = await register(t, b, '--api', 'Gone1', '--instance', 'g', '--addr', '127.77.80.2:8201')
  await poll('Gone1 on a', async () => (await ls(a, 'Gone1')).length === 1)
  const r = await crux('service', 'deregister', ...at(b), '--api', 'Gone1')
  t.is(r.status, 0, r.stderr)
  t.is(r.stdout, `deregistered ${nodeId}\n`)
  for (const f of [a, b]) await poll(`Gone1 gone from ${f.addr}`, async () => (await ls(f, 'Gone1')).length === 0)
  const again = await crux('service', 'deregister', ...at(b), '--api', 'Gone1')
  t.is(again.status, 1)
  t.is(again.stderr, `crux: ${nodeId} is not registered with the reeve at 127.77.80.2:50059\n`)
})

test('--ttl: a registration goes down when its heartbeats stop, and stays up while crux service heartbeat renews it', async (t) => {
  const { a } = await flock()
  const t0 = Date.now()
  await register(t, a, '--api', 'Lapse1', '--addr', '127.77.80.1:8301', '--ttl', '1')
  await register(t, a, '--api', 'Keep1', '--addr', '127.77.80.1:8302', '--ttl', '1')
  const beat = await crux('service', 'heartbeat', ...at(a), '--api', 'Keep1', '--ttl', '60', '--json')
  t.is(beat.status, 0, beat.stderr)
  t.like(JSON.parse(beat.stdout), { uuid: 'Keep/Keep1', ttl_s: 60 })
  await poll('Lapse1 down', async () => (await ls(a, 'Lapse1'))[0]?.up === false)
  t.true(Date.now() - t0 >= 1000, 'not down before its ttl ran out')
  await poll('Keep1 listed', async () => (await ls(a, 'Keep1')).length === 1)
  t.true((await ls(a, 'Keep1'))[0]!.up)
})

test('registry watch --json: the whole catalog, then a line per change; SIGINT ends it with exit 0', async (t) => {
  const { a, b } = await flock()
  const child = spawn(process.execPath, [CRUX, 'registry', 'watch', ...at(b), '--api', 'Watch1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const lines: Array<{ endpoints: Row[]; removed: string[]; full: boolean; version: number }> = []
  let buf = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)))
      buf = buf.slice(i + 1)
    }
  })
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  await until(() => lines.length > 0, BOUND, 'the whole catalog')
  t.like(lines[0], { full: true, endpoints: [], removed: [] })
  const nodeId = await register(t, a, '--api', 'Watch1', '--addr', '127.77.80.1:8401')
  await until(() => lines.some((l) => !l.full && l.endpoints.some((e) => e.node_id === nodeId && e.up)), BOUND, 'a change line naming Watch1')
  child.kill('SIGINT')
  t.is(await exited, 0)
  t.is(stderr, '')
})

test('usage errors: exit 2 with one crux: line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const reach = ['--target', '127.77.80.9:50059', '--data-dir', dir]
  for (const [args, line] of [
    [['service', 'register', ...reach, '--addr', '127.0.0.1:80'], /^crux: required option '--api <NAME>' not specified/],
    [['service', 'register', ...reach, '--api', 'Http1', '--addr', 'nowhere'], /^crux: --addr must be HOST:PORT, got "nowhere"/],
    [['service', 'register', ...reach, '--api', 'Http1', '--addr', '127.0.0.1:80', '--ttl', '0'], /^crux: --ttl must be from 1ms to /],
    [['registry', 'get', ...reach, '--api', 'http'], /^crux: --api must be an upper-case letter/],
  ] as const) {
    const r = await crux(...args)
    t.is(r.status, 2, args.join(' '))
    t.regex(r.stderr, line)
    t.is(r.stderr.split('\n').length, 2, r.stderr) // one line and its newline
  }
})

test('a data dir with no node.key: exit 2, and no key is made', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const r = await crux('registry', 'ls', '--target', '127.77.80.9:50059', '--data-dir', dir)
  t.is(r.status, 2)
  t.is(r.stderr, `crux: no node key in ${dir} (is it a fulcrum's data dir?)\n`)
  t.false(existsSync(join(dir, 'node.key')))
})

test("another node's key is refused: exit 1, one line saying so", async (t) => {
  const { b } = await flock()
  const r = await crux('registry', 'ls', '--target', '127.77.80.1:50059', '--data-dir', b.dataDir)
  t.is(r.status, 1)
  t.is(r.stderr, `crux: the reeve at 127.77.80.1:50059 refused the call: ${b.dataDir} holds another node's key (use the data dir of the fulcrum serving 127.77.80.1:50059)\n`)
})

test("a data dir certified for another flock (another secret): exit 1, one line saying the handshake failed and why", async (t) => {
  await flock()
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  certifyNode(dir, new Uint8Array(32).fill(2), loadOrCreateIdentity(dir))
  const r = await crux('registry', 'ls', '--target', '127.77.80.1:50059', '--data-dir', dir)
  t.is(r.status, 1)
  t.is(r.stderr, "crux: 127.77.80.1:50059: TLS handshake failed: not this flock's certificate authority\n")
})

test('an unreachable target: exit 1, one line naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // A node's data dir, as its fulcrum leaves it: the key and the certificates made from it.
  certifyNode(dir, new Uint8Array(32).fill(1), loadOrCreateIdentity(dir))
  const r = await crux('registry', 'ls', '--target', '127.77.80.9:50059', '--data-dir', dir)
  t.is(r.status, 1)
  t.regex(r.stderr, /^crux: no reeve answers at 127\.77\.80\.9:50059\b.*\n$/)
  t.is(r.stderr.split('\n').length, 2)
})

test('every command explains its flags with defaults and gives an example', async (t) => {
  for (const cmd of [['service', 'register'], ['service', 'heartbeat'], ['service', 'deregister'], ['registry', 'ls'], ['registry', 'get'], ['registry', 'watch']]) {
    const r = await crux(...cmd, '--help')
    t.is(r.status, 0)
    t.regex(r.stdout, /default: "127\.0\.0\.1:50059"/, cmd.join(' '))
    t.regex(r.stdout, /default: "\.\/crux-data"/, cmd.join(' '))
    t.regex(r.stdout, new RegExp(`Example:\\n  crux ${cmd.join(' ')} `), cmd.join(' '))
  }
})
