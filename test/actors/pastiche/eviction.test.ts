import test from 'ava'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBlobStore } from '../../../actors/pastiche/store.js'
import { hashOfBytes } from '../../../actors/pastiche/hash.js'
import { StoreFullError } from '../../../actors/pastiche/errors.js'

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

async function* bytes(n: number, fill: number): AsyncGenerator<Buffer> {
  yield Buffer.alloc(n, fill)
}

const put = async (store: Awaited<ReturnType<typeof createBlobStore>>, n: number, fill: number) => (await store.write(null, bytes(n, fill))).hash

test('a write past the bound evicts the least recently used blobs first; a read counts as a use', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 300 })
  const a = await put(store, 100, 1)
  const b = await put(store, 100, 2)
  const c = await put(store, 100, 3)
  for await (const _ of store.read(a)); // a is now more recent than b
  const d = await put(store, 100, 4)
  t.deepEqual(store.ls().map((x) => x.hash), [a, c, d].sort())
  t.false(store.has(b))
  const e = await put(store, 150, 5) // needs two evictions: c, then a
  t.deepEqual(store.ls().map((x) => x.hash), [d, e].sort())
  t.deepEqual(store.usage(), { blobs: 250, incoming: 0, limit: 300 })
})

test('eviction never removes a pinned, a reserved or an in-use blob, even the least recently used', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 400 })
  const pinned = await put(store, 100, 1)
  const reserved = await put(store, 100, 2)
  const inUse = await put(store, 100, 3)
  const free = await put(store, 100, 4)
  await store.pin(pinned)
  const hold = store.reserve(reserved)
  const reading = store.read(inUse)
  reading.pause()
  await new Promise((r) => reading.once('readable', r)) // opened, not yet consumed
  const n = await put(store, 100, 5)
  t.false(store.has(free), 'the only evictable blob went')
  for (const h of [pinned, reserved, inUse, n]) t.true(store.has(h))
  t.true(store.stat(reserved)!.reserved)
  t.true(store.stat(pinned)!.pinned)
  await store.pin(n)
  // Nothing left to evict: the write fails and the store is as it was.
  const before = store.ls()
  const err = await t.throwsAsync(store.write(null, bytes(100, 6)), { instanceOf: StoreFullError })
  t.regex(err!.message, /^blob store full: 100 more bytes do not fit/)
  t.deepEqual(store.ls(), before)
  t.deepEqual(readdirSync(join(store.dir, 'incoming')), [])
  t.is(store.usage().incoming, 0)
  // Let go of each: each becomes evictable in turn.
  hold.release()
  hold.release() // idempotent
  await put(store, 100, 6)
  t.false(store.has(reserved))
  reading.destroy()
  await new Promise((r) => reading.once('close', r))
  await put(store, 100, 7)
  t.false(store.has(inUse))
  t.true(store.has(pinned))
  await store.unpin(pinned)
  await put(store, 100, 8)
  t.false(store.has(pinned))
})

test('a reservation taken before a blob arrives protects it once it is there', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 100 })
  const want = hashOfBytes(Buffer.alloc(100, 9))
  const hold = store.reserve(want)
  await store.write(want, bytes(100, 9))
  await t.throwsAsync(store.write(null, bytes(1, 1)), { instanceOf: StoreFullError })
  hold.release()
  await put(store, 1, 1)
  t.false(store.has(want))
})

test('a declared size that cannot fit fails before a byte is written; a blob bigger than the bound never fits', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 100 })
  const keep = await put(store, 60, 1)
  await store.pin(keep)
  const h = hashOfBytes(Buffer.alloc(50, 2))
  let pulled = 0
  async function* counted(): AsyncGenerator<Buffer> {
    pulled++
    yield Buffer.alloc(50, 2)
  }
  await t.throwsAsync(store.write(h, counted(), { bytes: 50 }), { instanceOf: StoreFullError })
  t.is(pulled, 0)
  t.is(store.partial(h), 0)
  await t.throwsAsync(store.write(null, bytes(101, 3)), { instanceOf: StoreFullError })
  t.deepEqual(store.ls().map((x) => x.hash), [keep])
  t.deepEqual(store.usage(), { blobs: 60, incoming: 0, limit: 100 })
})

test('bytes kept for a resume count against the bound and are the first to go when room is needed', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 300 })
  const blob = await put(store, 100, 1)
  const h = hashOfBytes(Buffer.alloc(200, 2))
  async function* broken(): AsyncGenerator<Buffer> {
    yield Buffer.alloc(150, 2)
    throw new Error('connection reset')
  }
  await t.throwsAsync(store.write(h, broken()))
  t.deepEqual(store.usage(), { blobs: 100, incoming: 150, limit: 300 })
  await put(store, 100, 3) // needs 50 bytes more: the idle partial goes, not the blob
  t.is(store.partial(h), 0)
  t.true(store.has(blob))
  t.deepEqual(readdirSync(join(store.dir, 'incoming')), [])
  t.deepEqual(store.usage(), { blobs: 200, incoming: 0, limit: 300 })
})
