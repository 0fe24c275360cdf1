import test from 'ava'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { createBlobStore } from '../../../actors/pastiche/store.js'
import { hexOf } from '../../../actors/pastiche/hash.js'
import { BundleError, openBundles } from '../../../actors/picket/bundles.js'
import { FIXTURES, harness, isType, putDir, tmp, until } from './harness.js'

async function setup(t: import('ava').ExecutionContext, fetchMs = 2000) {
  const d = tmp(t)
  const store = await createBlobStore({ dir: join(d, 'pastiche'), limitBytes: 16 << 20 })
  const wanted: string[] = []
  const bundles = await openBundles({ store, dir: join(d, 'picket', 'bundles'), want: (h) => wanted.push(h), fetchMs })
  t.teardown(() => bundles.close())
  return { d, store, bundles, wanted }
}

test('a bundle put in the store is unpacked under its hex, once, and its manifest read', async (t) => {
  const { d, store, bundles } = await setup(t)
  const hash = await putDir(store, join(FIXTURES, 'echo'))
  const [a, b] = await Promise.all([bundles.prepare(hash), bundles.prepare(hash)])
  t.is(a.dir, join(d, 'picket', 'bundles', hexOf(hash)))
  t.is(b.dir, a.dir)
  t.is(a.manifest.api, 'Echo1')
  t.is(readFileSync(join(a.dir, 'service.mjs'), 'utf8'), readFileSync(join(FIXTURES, 'echo', 'service.mjs'), 'utf8'))
  // No temporary directory is left beside it.
  t.deepEqual(readdirSync(join(d, 'picket', 'bundles')), [hexOf(hash)])
  // Prepared again (the dir is there): the same, without unpacking.
  t.deepEqual(await bundles.prepare(hash), a)
})

test('a half-unpacked bundle left by a crash is removed when the bundles are opened', async (t) => {
  const d = tmp(t)
  const store = await createBlobStore({ dir: join(d, 'pastiche'), limitBytes: 16 << 20 })
  const dir = join(d, 'bundles')
  mkdirSync(join(dir, '.abc.unpack-x1'), { recursive: true })
  writeFileSync(join(dir, '.abc.unpack-x1', 'half'), 'x')
  const b = await openBundles({ store, dir, want: () => undefined, fetchMs: 10 })
  b.close()
  t.deepEqual(readdirSync(dir), [])
})

test('a blob that is a file, not a directory, is no bundle', async (t) => {
  const { store, bundles } = await setup(t)
  const { hash } = await store.write(null, Readable.from([Buffer.from('just some bytes\n')]))
  await t.throwsAsync(bundles.prepare(hash), { instanceOf: BundleError, message: 'a file, not a bundle: a bundle is a directory put with crux pastiche put DIR' })
})

test('a directory without a good manifest is refused with the manifest error', async (t) => {
  const { d, store, bundles } = await setup(t)
  const src = join(d, 'src')
  mkdirSync(src)
  writeFileSync(join(src, 'crux-service.json'), JSON.stringify({ api: 'X1', instance: 'x', entry: 'gone.mjs' }))
  const hash = await putDir(store, src)
  await t.throwsAsync(bundles.prepare(hash), { message: 'crux-service.json: "entry" "gone.mjs" does not exist in the bundle' })
  writeFileSync(join(src, 'crux-service.json'), JSON.stringify({ api: 'X1', instance: 'x', entry: '../x.mjs' }))
  const h2 = await putDir(store, src)
  await t.throwsAsync(bundles.prepare(h2), { message: /"entry" must stay inside the bundle/ })
})

test('a blob the store lacks is asked of pastiche and waited for', async (t) => {
  const { d, store, bundles, wanted } = await setup(t)
  // Its hash, learnt from a second store.
  const other = await createBlobStore({ dir: join(d, 'other'), limitBytes: 16 << 20 })
  const hash = await putDir(other, join(FIXTURES, 'echo'))
  const p = bundles.prepare(hash)
  t.true(await until(() => wanted.length > 0))
  t.deepEqual(wanted, [hash])
  await putDir(store, join(FIXTURES, 'echo')) // what pastiche's fetch would place
  t.is((await p).manifest.instance, 'echo_1')
})

test('a blob no node holds fails after the deadline, naming the hash', async (t) => {
  const { bundles, wanted } = await setup(t, 150)
  const hash = `sha256:${'ab'.repeat(32)}`
  const t0 = Date.now()
  await t.throwsAsync(bundles.prepare(hash), { instanceOf: BundleError, message: 'no such bundle: no node holds it' })
  t.true(Date.now() - t0 >= 140)
  t.deepEqual(wanted, [hash])
  await t.throwsAsync(bundles.prepare('sha256:nothex'), { instanceOf: BundleError, message: /sha256/ })
})

test('the run edge answers prepare with bundle.ready or bundle.failed', async (t) => {
  const h = await harness(t, { fetchMs: 100 })
  const hash = await putDir(h.store, join(FIXTURES, 'echo'))
  h.edge.take({ type: 'prepare', run: 1, hash })
  const ready = await h.waitFor(isType('bundle.ready', 1))
  t.is(ready.hash, hash)
  t.is(ready.manifest.entry, 'service.mjs')
  t.true(existsSync(join(h.data, 'picket', 'bundles', hexOf(hash), 'crux-service.json')))
  const missing = `sha256:${'cd'.repeat(32)}`
  h.edge.take({ type: 'prepare', run: 2, hash: missing })
  const failed = await h.waitFor(isType('bundle.failed', 2))
  t.is(failed.reason, 'no such bundle: no node holds it')
  t.deepEqual(h.wanted, [missing])
})
