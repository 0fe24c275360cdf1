import test from 'ava'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { createBlobStore } from '../../../actors/pastiche/store.js'
import type { Manifest } from '../../../machines/picket/types.js'
import { alivePid, fixtureManifest, FIXTURES, harness, isType, putDir, until, type Harness } from './harness.js'

/** Prepares fixture `name` and spawns it as run `run`, with manifest changes. */
async function start(h: Harness, name: string, run: number, change: Partial<Manifest> = {}): Promise<{ hash: string; manifest: Manifest }> {
  const hash = await putDir(h.store, join(FIXTURES, name))
  h.edge.take({ type: 'prepare', run, hash })
  const ready = await h.waitFor(isType('bundle.ready', run))
  const manifest = { ...ready.manifest, ...change }
  h.edge.take({ type: 'spawn', run, name: `${name}-svc`, hash, manifest })
  return { hash, manifest }
}

const post = (address: string, body: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
    const req = request({ host, port, method: 'POST', path: '/' }, (res) => {
      let s = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (s += c))
      res.on('end', () => resolve(s))
    })
    req.on('error', reject)
    req.end(body)
  })

test('a service says where it listens, beats, serves, and exits 0 when asked to quit', async (t) => {
  const h = await harness(t)
  await start(h, 'echo', 1)
  const spawned = await h.waitFor(isType('run.spawned', 1))
  t.true(typeof spawned.pid === 'number' && alivePid(spawned.pid))
  const listening = await h.waitFor(isType('run.listening', 1))
  t.regex(listening.address, /^127\.79\.40\.1:\d+$/)
  await h.waitFor(isType('run.alive', 1))
  t.is(await post(listening.address, 'hello picket'), 'hello picket')
  // Beats keep coming (every ttl/3: 100 ms).
  t.true(await until(() => h.events.filter(isType('run.alive', 1)).length >= 3))
  // It works in its own directory, 0700, under the data dir.
  const work = join(h.data, 'picket', 'work', 'echo-svc')
  t.is(statSync(work).mode & 0o777, 0o700)
  t.is(readFileSync(join(work, 'echo.pid'), 'utf8'), String(spawned.pid))
  t.deepEqual([...h.edge.runs()], [[1, spawned.pid]])
  h.edge.take({ type: 'quit', run: 1 })
  const exited = await h.waitFor(isType('run.exited', 1))
  t.deepEqual({ code: exited.code, signal: exited.signal }, { code: 0, signal: null })
  t.false(alivePid(spawned.pid!))
  t.is(h.edge.runs().size, 0)
  // Forget removes its working directory.
  h.edge.take({ type: 'forget', name: 'echo-svc' })
  t.true(await until(() => !existsSync(work)))
})

test('a crashing service exits 1 and its error reaches the log', async (t) => {
  const h = await harness(t)
  await start(h, 'crash', 1)
  const exited = await h.waitFor(isType('run.exited', 1))
  t.deepEqual({ code: exited.code, signal: exited.signal, error: exited.error }, { code: 1, signal: null, error: undefined })
  t.true(h.logs.some((l) => l.stream === 'stderr' && l.line.includes('crash fixture: boom') && l.name === 'crash-svc' && l.run === 1))
})

test('a hung service that ignores quit is ended by kill with SIGKILL', async (t) => {
  const h = await harness(t)
  await start(h, 'hang', 1)
  const { pid } = await h.waitFor(isType('run.spawned', 1))
  await h.waitFor(isType('run.alive', 1))
  h.edge.take({ type: 'quit', run: 1 })
  await new Promise((r) => setTimeout(r, 300))
  t.true(alivePid(pid!), 'it ignores quit')
  t.false(h.events.some(isType('run.exited', 1)))
  h.edge.take({ type: 'kill', run: 1 })
  const exited = await h.waitFor(isType('run.exited', 1))
  t.deepEqual({ code: exited.code, signal: exited.signal }, { code: null, signal: 'SIGKILL' })
  t.false(alivePid(pid!))
})

test('a service reads neither the node key nor the fulcrum environment, starts no process, and writes where it works', async (t) => {
  const h = await harness(t)
  const key = join(h.data, 'node.key')
  writeFileSync(key, 'PRIVATE KEY', { mode: 0o600 })
  process.env.CRUX_SECRET = 'flock-secret'
  t.teardown(() => delete process.env.CRUX_SECRET)
  const manifest = await fixtureManifest('escape')
  await start(h, 'escape', 1, { args: ['--flag', 'v'], env: { ...manifest.env, ESCAPE_PATH: key } })
  const exited = await h.waitFor(isType('run.exited', 1))
  t.is(exited.code, 0)
  const line = h.logs.find((l) => l.stream === 'stdout')
  t.truthy(line, JSON.stringify(h.logs))
  const report = JSON.parse(line!.line)
  const work = join(h.data, 'picket', 'work', 'escape-svc')
  t.is(report.read, 'ERR_ACCESS_DENIED')
  t.is(report.write, 'ERR_ACCESS_DENIED')
  t.is(report.spawn, 'ERR_ACCESS_DENIED')
  // Nor through a link it makes in its own directory.
  t.is(report.symlink, 'ERR_ACCESS_DENIED')
  t.is(report.hardlink, 'ERR_ACCESS_DENIED')
  t.is(report.secret, null)
  t.deepEqual(report.env, ['ESCAPE_PATH', 'PATH'])
  t.is(report.cwd, work)
  t.is(report.dir, work)
  t.deepEqual(report.argv, ['--flag', 'v'])
  t.is(report.local, 'ok')
  t.true(existsSync(join(work, 'written-here.txt')))
  t.is(report.relative, 'ok')
  t.true(existsSync(join(work, 'relative.txt')))
  t.is(readFileSync(key, 'utf8'), 'PRIVATE KEY')
})

test('what a service sends that is not a message is dropped and counted; floods of messages and output are bounded', async (t) => {
  const h = await harness(t)
  await start(h, 'chatter', 1)
  const exited = await h.waitFor(isType('run.exited', 1))
  t.is(exited.code, 0)
  t.deepEqual(
    h.events.filter(isType('run.listening', 1)).map((e) => e.address),
    ['127.79.40.2:4000'],
  )
  // not json, bogus, alive with extra, over-long, an array, an address without a port.
  t.is(h.edge.counters.bad, 6)
  const alive = h.events.filter(isType('run.alive', 1)).length
  t.true(alive >= 45 && alive <= 100, `${alive} beats taken`)
  // The bucket refills with wall time (50 a second after a burst of 50): on a loaded machine the node
  // reads the 500 beats over seconds and takes more of them, so only a floor of the drops is certain.
  t.true(h.edge.counters.flooded >= 100, `${h.edge.counters.flooded} dropped`)
  // An over-long output line is cut, not held whole.
  const long = h.logs.find((l) => l.line.startsWith('xxxx'))
  t.is(long?.line.length, 2001)
  // A thousand lines at once: a burst is logged, the rest counted.
  t.true(h.logs.length >= 200 && h.logs.length <= 400, `${h.logs.length} lines logged`)
  t.is(h.logs.length + h.edge.counters.unlogged, 1001, `${h.logs.length} logged, ${h.edge.counters.unlogged} not; last: ${h.logs.at(-1)?.line}`)
})

test('a worker thread service runs on the same contract', async (t) => {
  const h = await harness(t)
  await start(h, 'echo', 1, { kind: 'worker', memoryMb: 64 })
  const spawned = await h.waitFor(isType('run.spawned', 1))
  t.is(spawned.pid, null)
  const listening = await h.waitFor(isType('run.listening', 1))
  await h.waitFor(isType('run.alive', 1))
  t.is(await post(listening.address, 'worker echo'), 'worker echo')
  t.is(readFileSync(join(h.data, 'picket', 'work', 'echo-svc', 'echo.pid'), 'utf8'), String(process.pid))
  h.edge.take({ type: 'quit', run: 1 })
  const exited = await h.waitFor(isType('run.exited', 1))
  t.deepEqual({ code: exited.code, signal: exited.signal }, { code: 0, signal: null })
})

test('a crashing worker exits 1 with its error logged; a hung one is terminated by kill', async (t) => {
  const h = await harness(t)
  await start(h, 'crash', 1, { kind: 'worker' })
  const crashed = await h.waitFor(isType('run.exited', 1))
  t.is(crashed.code, 1)
  t.true(h.logs.some((l) => l.stream === 'stderr' && l.line.includes('crash fixture: boom')))
  await start(h, 'hang', 2, { kind: 'worker' })
  await h.waitFor(isType('run.alive', 2))
  h.edge.take({ type: 'kill', run: 2 })
  const killed = await h.waitFor(isType('run.exited', 2))
  t.deepEqual({ code: killed.code, signal: killed.signal }, { code: null, signal: 'SIGKILL' })
})

test('a spawn that cannot start is answered run.exited with the error', async (t) => {
  const h = await harness(t)
  const { hash, manifest } = await start(h, 'echo', 1)
  await h.waitFor(isType('run.spawned', 1))
  h.edge.take({ type: 'spawn', run: 2, name: '../escape', hash, manifest })
  t.regex((await h.waitFor(isType('run.exited', 2))).error ?? '', /cannot name a working directory/)
  h.edge.take({ type: 'spawn', run: 3, name: 'x', hash: `sha256:${'ef'.repeat(32)}`, manifest })
  t.regex((await h.waitFor(isType('run.exited', 3), 5000)).error ?? '', /no such bundle/)
  const bad = await start(h, 'echo', 4, { entry: 'nothere.mjs' })
  void bad
  const e4 = await h.waitFor(isType('run.exited', 4))
  t.is(e4.code, 1)
  // A message about a run the edge does not know is nothing to do.
  h.edge.take({ type: 'kill', run: 99 })
  h.edge.take({ type: 'quit', run: 99 })
  t.pass()
})

test('closeAll quits every run, kills each that outlives its stopMs (closeMs at most), and resolves when all have exited', async (t) => {
  const h = await harness(t, { closeMs: 800 })
  await start(h, 'echo', 1)
  await start(h, 'hang', 2, { stopMs: 100 })
  await start(h, 'hang', 3, { stopMs: 60_000 })
  const pids = await Promise.all([1, 2, 3].map(async (run) => (await h.waitFor(isType('run.spawned', run))).pid!))
  await h.waitFor(isType('run.alive', 2))
  await h.waitFor(isType('run.alive', 3))
  const t0 = Date.now()
  await h.edge.closeAll()
  const took = Date.now() - t0
  t.true(took >= 750 && took < 3000, `${took} ms`)
  for (const pid of pids) t.false(alivePid(pid))
  const exits = h.events.filter((e) => e.type === 'run.exited').map((e) => [e.run, (e as { code: number | null }).code, (e as { signal: string | null }).signal])
  // The echo quits; the hang with the short stopMs is killed first, the other at closeMs.
  t.deepEqual(exits, [[1, 0, null], [2, null, 'SIGKILL'], [3, null, 'SIGKILL']])
  // Closed: later messages do nothing.
  h.edge.take({ type: 'spawn', run: 4, name: 'late', hash: `sha256:${'ab'.repeat(32)}`, manifest: (await fixtureManifest('echo')) })
  await new Promise((r) => setTimeout(r, 100))
  t.is(h.events.length, h.events.filter((e) => (e as { run?: number }).run !== 4).length)
})

test('a service past its memoryMb is ended by its heap limit, in a child process or a worker', async (t) => {
  const h = await harness(t)
  await start(h, 'hog', 1)
  const child = await h.waitFor(isType('run.exited', 1), 20_000)
  t.true(child.code !== 0 || child.signal !== null, JSON.stringify(child))
  t.log('child past its heap:', JSON.stringify({ code: child.code, signal: child.signal }))
  await start(h, 'hog', 2, { kind: 'worker' })
  const worker = await h.waitFor(isType('run.exited', 2), 20_000)
  t.is(worker.code, 1)
  t.true(h.logs.some((l) => l.run === 2 && /memory/i.test(l.line)), JSON.stringify(h.logs.filter((l) => l.run === 2)))
})

test('a worker thread is not confined: it reads the node key (only its environment is its own)', async (t) => {
  const h = await harness(t)
  const key = join(h.data, 'node.key')
  writeFileSync(key, 'PRIVATE KEY', { mode: 0o600 })
  process.env.CRUX_SECRET = 'flock-secret'
  t.teardown(() => delete process.env.CRUX_SECRET)
  await start(h, 'escape', 1, { kind: 'worker', env: { ESCAPE_PATH: key }, args: ['a'] })
  await h.waitFor(isType('run.exited', 1))
  const report = JSON.parse(h.logs.find((l) => l.stream === 'stdout')!.line)
  t.is(report.secret, null)
  t.deepEqual(report.env, ['ESCAPE_PATH'])
  t.deepEqual(report.argv, ['a'])
  // What a child process is refused, a worker may: read and overwrite the key, start processes.
  t.is(report.read, 'ok')
  t.is(report.write, 'ok')
  t.is(readFileSync(key, 'utf8'), 'overwritten')
  t.is(report.spawn, 'ok')
})

test('a data dir whose path holds a comma cannot confine a child, and says so', async (t) => {
  const h = await harness(t, {}, 'crux,picket-')
  await start(h, 'echo', 1)
  const exited = await h.waitFor(isType('run.exited', 1))
  t.regex(exited.error ?? '', /^cannot confine a service under a path with a comma: /)
  t.false(h.events.some(isType('run.spawned', 1)))
})

test('a run killed while its bundle is still coming is answered at once and never started', async (t) => {
  const h = await harness(t, { fetchMs: 3000 })
  const manifest = await fixtureManifest('echo')
  // The echo bundle's hash, from another store: this node has not got it yet.
  const hash = await putDir(await createBlobStore({ dir: join(h.data, 'other'), limitBytes: 1 << 20 }), join(FIXTURES, 'echo'))
  const t0 = Date.now()
  h.edge.take({ type: 'spawn', run: 1, name: 'early', hash, manifest })
  h.edge.take({ type: 'kill', run: 1 })
  const exited = await h.waitFor(isType('run.exited', 1))
  t.true(Date.now() - t0 < 1000)
  t.deepEqual({ code: exited.code, signal: exited.signal }, { code: null, signal: 'SIGKILL' })
  t.is(h.edge.runs().size, 0)
  // Its bundle arriving later starts nothing, and it is answered once.
  t.true(await until(() => h.wanted.length > 0))
  t.deepEqual(h.wanted, [hash])
  await putDir(h.store, join(FIXTURES, 'echo'))
  t.true(await until(() => existsSync(join(h.data, 'picket', 'bundles', hash.slice(7)))))
  await new Promise((r) => setTimeout(r, 200))
  t.is(h.events.filter((e) => e.type === 'run.exited').length, 1)
  t.false(h.events.some(isType('run.spawned', 1)))
  t.false(existsSync(join(h.data, 'picket', 'work', 'early')))
})

test('what a service wrote before it returned reaches the node, though it was more than a pipe holds', async (t) => {
  const h = await harness(t)
  await start(h, 'loud', 1)
  t.is((await h.waitFor(isType('run.exited', 1))).code, 0)
  t.is(h.logs.length + h.edge.counters.unlogged, 3000)
})
