/**
 * A manifest's `modules`: a service loads crux's own grpc-js and proto-loader with `confab.require`
 * (a confined child may read those packages and their dependencies, nothing more), and the relay
 * example — a gRPC service calling the echo it looks up — answers a real gRPC call.
 */
import test from 'ava'
import { createRequire } from 'node:module'
import { cpSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'
import { permissionFlags } from '../../../actors/picket/child.js'
import { resolveModules, SHIPPED_MODULES } from '../../../actors/picket/modules.js'
import type { Manifest } from '../../../machines/picket/types.js'
import { FIXTURES, harness, isType, putDir, type Harness } from './harness.js'

const RELAY = fileURLToPath(new URL('../../../../examples/relay', import.meta.url))
const require = createRequire(import.meta.url)
/** crux's node_modules, as the resolver finds it (its real path). */
const NODE_MODULES = dirname(dirname(dirname(realpathSync(require.resolve('@grpc/grpc-js/package.json')))))

/** Prepares the bundle in `dir` and spawns it as run `run` of `name`, with manifest changes. */
async function start(h: Harness, dir: string, name: string, run: number, change: Partial<Manifest> = {}): Promise<Manifest> {
  const hash = await putDir(h.store, dir)
  h.edge.take({ type: 'prepare', run, hash })
  const manifest = { ...(await h.waitFor(isType('bundle.ready', run))).manifest, ...change }
  h.edge.take({ type: 'spawn', run, name, hash, manifest })
  return manifest
}

/** A grpc-js client of the relay example at `address`, from its own .proto files. */
function relayClient(address: string): { say(text: string): Promise<Record<string, string>>; health(service: string): Promise<string>; close(): void } {
  const defs = grpc.loadPackageDefinition(loader.loadSync(['relay.proto', 'health.proto'], { includeDirs: [RELAY], defaults: true, enums: String })) as any
  const relay = new defs.crux.examples.Relay(address, grpc.credentials.createInsecure())
  const health = new defs.grpc.health.v1.Health(address, grpc.credentials.createInsecure())
  const unary = (client: any, method: string, req: object): Promise<any> =>
    new Promise((resolve, reject) => client[method](req, { deadline: Date.now() + 5000 }, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))))
  return {
    say: (text) => unary(relay, 'Say', { text }),
    health: async (service) => (await unary(health, 'Check', { service })).status,
    close: () => (relay.close(), health.close()),
  }
}

for (const kind of ['process', 'worker'] as const) {
  test(`the relay example (${kind}) loads crux's grpc-js with confab.require and answers a gRPC call with what the echo it looked up said`, async (t) => {
    const asked: string[] = []
    let echoAt: string | null = null
    const h = await harness(t, { host: kind === 'process' ? '127.79.60.2' : '127.79.60.3' }, undefined, (api) => {
      asked.push(api)
      return api === 'Echo1' && echoAt !== null ? { address: echoAt, instance: 'echo_1', nodeId: '/b/h/n/Echo/Echo1' } : null
    })
    await start(h, join(FIXTURES, 'echo'), 'echo', 1, { env: { ECHO_HOST: '127.79.60.1' } })
    echoAt = (await h.waitFor(isType('run.listening', 1))).address
    await start(h, RELAY, 'relay', 2, { kind })
    const { address } = await h.waitFor(isType('run.listening', 2), 10_000)
    t.regex(address, kind === 'process' ? /^127\.79\.60\.2:\d+$/ : /^127\.79\.60\.3:\d+$/)
    const client = relayClient(address)
    t.teardown(() => client.close())
    t.deepEqual(await client.say('hello over gRPC'), { text: 'hello over gRPC', echoInstance: 'echo_1', echoAddress: echoAt, relayedBy: 'relay' })
    t.deepEqual(asked, ['Echo1'])
    t.is(await client.health(''), 'SERVING')
    t.is(await client.health('crux.examples.Relay'), 'SERVING')
    await t.throwsAsync(client.health('Nope'), { message: /NOT_FOUND/ })
    // The echo gone: the relay looks it up again, and says it is not up.
    h.edge.take({ type: 'quit', run: 1 })
    await h.waitFor(isType('run.exited', 1))
    echoAt = null
    await t.throwsAsync(client.say('anyone?'), { message: /UNAVAILABLE: relay: no Echo1 service is up in the flock/ })
    h.edge.take({ type: 'quit', run: 2 })
    t.deepEqual(await h.waitFor(isType('run.exited', 2)).then((e) => [e.code, e.signal]), [0, null])
  })
}

test('a confined service loads the modules its manifest lists and nothing else: not an unlisted one, not another package, not node.key', async (t) => {
  const h = await harness(t, { host: '127.79.60.4' })
  const key = join(h.data, 'node.key')
  writeFileSync(key, 'PRIVATE KEY', { mode: 0o600 })
  await start(h, join(FIXTURES, 'modules'), 'modules', 1, {
    env: { KEY_PATH: key, OUTSIDE_PATH: join(dirname(NODE_MODULES), 'package.json'), UNGRANTED_MODULE: realpathSync(require.resolve('xstate')) },
  })
  t.is((await h.waitFor(isType('run.exited', 1), 10_000)).code, 0)
  const line = h.logs.find((l) => l.stream === 'stdout')
  t.truthy(line, JSON.stringify(h.logs))
  t.deepEqual(JSON.parse(line!.line), {
    grpc: 'function',
    unlisted: 'confab.require("@grpc/proto-loader"): not in the manifest\'s "modules" (it lists @grpc/grpc-js)',
    other: 'confab.require("node:fs"): not in the manifest\'s "modules" (it lists @grpc/grpc-js)',
    ungranted: 'ERR_ACCESS_DENIED',
    key: 'ERR_ACCESS_DENIED',
    outside: 'ERR_ACCESS_DENIED',
  })
})

test('a service whose manifest lists no modules is told so by confab.require', async (t) => {
  const h = await harness(t, { host: '127.79.60.5' })
  await start(h, join(FIXTURES, 'modules'), 'modules', 1, { modules: [] })
  t.is((await h.waitFor(isType('run.exited', 1), 10_000)).code, 1)
  t.true(h.logs.some((l) => l.stream === 'stderr' && l.line.includes('confab.require("@grpc/grpc-js"): not in the manifest\'s "modules" (it lists none)')), JSON.stringify(h.logs))
})

test('a bundle whose manifest names a module crux does not ship fails to prepare, saying which', async (t) => {
  const h = await harness(t, { host: '127.79.60.6' })
  const dir = join(h.data, 'bad-bundle')
  mkdirSync(dir)
  cpSync(join(FIXTURES, 'modules', 'service.mjs'), join(dir, 'service.mjs'))
  writeFileSync(join(dir, 'crux-service.json'), JSON.stringify({ api: 'Modules1', instance: 'm', entry: 'service.mjs', modules: ['@grpc/grpc-js', 'lodash.camelcase'] }))
  const hash = await putDir(h.store, dir)
  h.edge.take({ type: 'prepare', run: 1, hash })
  const failed = await h.waitFor(isType('bundle.failed', 1))
  t.is(failed.reason, `crux-service.json: "modules"[1] may only name a module crux ships (@grpc/grpc-js, @grpc/proto-loader), got "lodash.camelcase"`)
})

test("the shipped modules resolve from crux's installation to their package directories and those of every dependency", (t) => {
  const { entries, dirs } = resolveModules(SHIPPED_MODULES)
  t.is(entries['@grpc/grpc-js'], realpathSync(require.resolve('@grpc/grpc-js')))
  t.is(entries['@grpc/proto-loader'], realpathSync(require.resolve('@grpc/proto-loader')))
  const under = dirs.map((d) => d.slice(NODE_MODULES.length + 1))
  for (const pkg of ['@grpc/grpc-js', '@grpc/proto-loader', '@js-sdsl/ordered-map', 'protobufjs', 'long', 'lodash.camelcase', 'yargs']) t.true(under.includes(pkg), pkg)
  // Packages, not the node_modules directory; none that neither needs.
  t.false(dirs.includes(NODE_MODULES))
  t.true(dirs.every((d) => d.startsWith(`${NODE_MODULES}/`)))
  // grpc-js's own proto-loader (node_modules inside it) comes with grpc-js's directory, not as one more grant.
  t.false(dirs.some((d) => dirs.some((o) => d.startsWith(`${o}/`))))
  for (const pkg of ['xstate', 'commander', '@noble/ciphers', 'ava']) t.false(under.includes(pkg), pkg)
  t.deepEqual(resolveModules([]), { entries: {}, dirs: [] })
  t.throws(() => resolveModules(['xstate']), { message: /module xstate is not one crux ships for services/ })
})

test('a child is granted read access to the module directories, and only read access', (t) => {
  const manifest = { service: 'E', api: 'E1', instance: 'e', entry: 's.mjs', kind: 'process' as const, args: [], env: {}, ttlMs: 300, startMs: 1000, stopMs: 1000, graceMs: 0, memoryMb: null, modules: ['@grpc/grpc-js'] }
  const flags = permissionFlags({ bundleDir: '/d/b', workDir: '/d/w', bootstrap: '/x/service-child.mjs', manifest }, ['/nm/a', '/nm/@s/b'])
  t.deepEqual(flags, ['--experimental-permission', '--allow-fs-read=/d/b/*', '--allow-fs-read=/x/service-child.mjs', '--allow-fs-read=/d/w/*', '--allow-fs-read=/nm/a/*', '--allow-fs-read=/nm/@s/b/*', '--allow-fs-write=/d/w/*', '--no-warnings'])
})
