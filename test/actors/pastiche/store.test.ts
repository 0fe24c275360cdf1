import test from 'ava'
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, utimesSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBlobStore, partialFileOf } from '../../../actors/pastiche/store.js'
import { EMPTY_BLOB, hashOfBytes } from '../../../actors/pastiche/hash.js'
import { BadHashError, BlobBusyError, BlobNotFoundError, HashMismatchError, ResumeOffsetError } from '../../../actors/pastiche/errors.js'
import { drainHash } from '../../fixtures/pastiche-bytes.js'
import { OutOfRangeError } from '../../../runtime/errors.js'

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

async function* from(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p)
}

async function* breaksAfter(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  yield* from(...parts)
  throw new Error('connection reset')
}

const read = async (s: AsyncIterable<Uint8Array>): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const c of s) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks).toString()
}

/** Every file under the store's blobs/ and incoming/, relative. */
function files(d: string): string[] {
  return (readdirSync(d, { recursive: true }) as string[]).filter((p) => p.split('/').length > 1 && !p.endsWith('/')).filter((p) => p.startsWith('blobs/') ? p.split('/').length === 3 : p.startsWith('incoming/')).sort()
}

test('a file round-trips: write under its hash, read back whole and from an offset', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  const hash = hashOfBytes(Buffer.from('hello, pastiche'))
  const w = await store.write(hash, from('hello, ', 'pastiche'))
  t.deepEqual(w, { hash, bytes: 15, existed: false })
  t.true(store.has(hash))
  t.deepEqual(store.stat(hash), { hash, bytes: 15, pinned: false, reserved: false })
  t.is(await read(store.read(hash)), 'hello, pastiche')
  t.is(await read(store.read(hash, 7)), 'pastiche')
  t.is(await read(store.read(hash, 15)), '')
  t.throws(() => store.read(hash, 16), { instanceOf: OutOfRangeError, message: `blob ${hash}: read offset 16 is outside its 15 bytes` })
  t.throws(() => store.read(hash, -1), { instanceOf: OutOfRangeError })
  t.deepEqual(await store.write(hash, from('not read')), { hash, bytes: 15, existed: true })
  t.true(await store.verify(hash))
})

test('a write of unknown hash is named by its bytes; a second one of the same bytes is the same blob', async (t) => {
  const d = dir(t)
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  const a = await store.write(null, from('abc', 'def'))
  t.is(a.hash, hashOfBytes(Buffer.from('abcdef')))
  t.false(a.existed)
  const b = await store.write(null, from('abcdef'))
  t.true(b.existed)
  t.deepEqual(store.ls().map((x) => x.hash), [a.hash])
  t.deepEqual(readdirSync(join(d, 'incoming')), [], 'no in-progress file left')
})

test('verify on write: a stream that does not match its hash is refused and nothing is kept', async (t) => {
  const d = dir(t)
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  const hash = hashOfBytes(Buffer.from('the real bytes'))
  const err = await t.throwsAsync(store.write(hash, from('the fake bytes')), { instanceOf: HashMismatchError })
  t.regex(err!.message, /the 14 bytes received hash to sha256:[0-9a-f]{64}; nothing kept/)
  t.false(store.has(hash))
  t.deepEqual(store.ls(), [])
  t.is(store.partial(hash), 0)
  t.deepEqual(files(d), [])
  t.deepEqual(store.usage(), { blobs: 0, incoming: 0, limit: 1 << 20 })
})

test('empty hash, malformed hashes and an unknown hash each get their own clear error', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  t.throws(() => store.has(''), { instanceOf: BadHashError, message: 'bad blob hash "": empty hash' })
  t.throws(() => store.has('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'), { instanceOf: BadHashError, message: /must start with "sha256:"/ })
  t.throws(() => store.has(EMPTY_BLOB.toUpperCase().replace('SHA256', 'sha256')), { instanceOf: BadHashError, message: /lower-case/ })
  t.throws(() => store.has('sha256:abc'), { instanceOf: BadHashError, message: /3 hex digits after "sha256:", 64 expected/ })
  t.throws(() => store.has('sha256:../../etc/passwd'.padEnd(71, 'x')), { instanceOf: BadHashError })
  await t.throwsAsync(store.write('', from('x')), { instanceOf: BadHashError })
  const unknown = hashOfBytes(Buffer.from('never stored'))
  t.false(store.has(unknown))
  t.is(store.stat(unknown), undefined)
  t.throws(() => store.read(unknown), { instanceOf: BlobNotFoundError, message: `blob ${unknown} is not in the store` })
  await t.throwsAsync(store.pin(unknown), { instanceOf: BlobNotFoundError })
  await t.throwsAsync(store.verify(unknown), { instanceOf: BlobNotFoundError })
})

test('a zero-byte blob is a blob: stored under the empty hash, read back empty; zero bytes for another hash are a mismatch', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  t.deepEqual(await store.write(EMPTY_BLOB, from()), { hash: EMPTY_BLOB, bytes: 0, existed: false })
  t.is((await store.write(null, from())).hash, EMPTY_BLOB)
  t.deepEqual(store.stat(EMPTY_BLOB), { hash: EMPTY_BLOB, bytes: 0, pinned: false, reserved: false })
  t.is(await read(store.read(EMPTY_BLOB)), '')
  const other = hashOfBytes(Buffer.from('x'))
  const err = await t.throwsAsync(store.write(other, from()), { instanceOf: HashMismatchError })
  t.regex(err!.message, /the 0 bytes received/)
  t.false(store.has(other))
})

test('two concurrent writes of one hash: the second is refused at once with BlobBusyError, the first completes', async (t) => {
  const d = dir(t)
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  const hash = hashOfBytes(Buffer.from('one two'))
  let go!: () => void
  const gate = new Promise<void>((r) => (go = r))
  async function* slow(): AsyncGenerator<Buffer> {
    yield Buffer.from('one ')
    await gate
    yield Buffer.from('two')
  }
  const first = store.write(hash, slow())
  const err = await t.throwsAsync(store.write(hash, from('one two')), { instanceOf: BlobBusyError })
  t.is(err!.message, `blob ${hash} is already being written; retry once that write ends`)
  go()
  t.deepEqual(await first, { hash, bytes: 7, existed: false })
  t.deepEqual(await store.write(hash, from('one two')), { hash, bytes: 7, existed: true }, 'after it ends, a write finds the blob')
})

test('a broken write keeps its bytes and resumes from an offset to completion; a wrong offset is refused', async (t) => {
  const d = dir(t)
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  const hash = hashOfBytes(Buffer.from('0123456789'))
  await t.throwsAsync(store.write(hash, breaksAfter('0123', '45')), { message: 'connection reset' })
  t.false(store.has(hash), 'no partial blob is visible')
  t.is(store.partial(hash), 6)
  t.is(readFileSync(partialFileOf(d, hash), 'utf8'), '012345')
  await t.throwsAsync(store.write(hash, from('89'), { offset: 8 }), { instanceOf: ResumeOffsetError, message: `blob ${hash}: cannot resume at byte 8, 6 bytes are kept` })
  // A resume may start before the end of what is kept (the tail is rewritten).
  t.deepEqual(await store.write(hash, from('56789'), { offset: 5 }), { hash, bytes: 10, existed: false })
  t.is(await read(store.read(hash)), '0123456789')
  t.is(store.partial(hash), 0)
  t.deepEqual(readdirSync(join(d, 'incoming')), [])
})

test('a broken write of unknown hash cannot resume and keeps nothing', async (t) => {
  const d = dir(t)
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  await t.throwsAsync(store.write(null, breaksAfter('half of it')), { message: 'connection reset' })
  await t.throwsAsync(store.write(null, from('x'), { offset: 1 }), { message: /only a write under an expected hash can resume/ })
  t.deepEqual(files(d), [])
  t.deepEqual(store.usage(), { blobs: 0, incoming: 0, limit: 1 << 20 })
})

test('a resumed write whose kept bytes were wrong fails verification and keeps nothing', async (t) => {
  const d = dir(t)
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  const hash = hashOfBytes(Buffer.from('0123456789'))
  await t.throwsAsync(store.write(hash, breaksAfter('01X3')))
  await t.throwsAsync(store.write(hash, from('456789'), { offset: 4 }), { instanceOf: HashMismatchError })
  t.is(store.partial(hash), 0)
  t.deepEqual(files(d), [])
})

test('pins survive a restart; a pin of a blob removed by hand is dropped', async (t) => {
  const d = dir(t)
  const a = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  const x = (await a.write(null, from('x'))).hash
  const y = (await a.write(null, from('y'))).hash
  await Promise.all([a.pin(x), a.pin(y)])
  await a.unpin(y)
  const b = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  t.deepEqual(b.ls().map((i) => [i.hash, i.pinned]), [[x, true], [y, false]].sort((p, q) => (p[0]! < q[0]! ? -1 : 1)))
  rmSync(join(d, 'blobs', x.slice(7, 9), x.slice(7)))
  const c = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  t.deepEqual(c.ls().map((i) => i.hash), [y])
  t.deepEqual(JSON.parse(readFileSync(join(d, 'pins.json'), 'utf8')), { version: 1, pins: [] })
  writeFileSync(join(d, 'pins.json'), '{"version":1,"pins":["md5:00"]}')
  await t.throwsAsync(createBlobStore({ dir: d, limitBytes: 1 << 20 }), { message: /pins\.json: bad blob hash "md5:00"/ })
})

test('at start: stale and unresumable in-progress files are removed, fresh resumable ones kept; nothing is hashed but verify finds damage', async (t) => {
  const d = dir(t)
  const a = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  const kept = hashOfBytes(Buffer.from('kept bytes'))
  const stale = hashOfBytes(Buffer.from('stale bytes'))
  await t.throwsAsync(a.write(kept, breaksAfter('kept')))
  await t.throwsAsync(a.write(stale, breaksAfter('stale')))
  const old = (Date.now() - 2 * 24 * 3600_000) / 1000
  utimesSync(partialFileOf(d, stale), old, old)
  writeFileSync(join(d, 'incoming', 'anon-1-0.part'), 'unknown hash: cannot resume')
  const blob = (await a.write(null, from('good'))).hash
  const b = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  t.is(b.partial(kept), 4)
  t.is(b.partial(stale), 0)
  t.deepEqual(readdirSync(join(d, 'incoming')), [`${kept.slice(7)}.part`])
  t.is(b.scanned.removed.length, 2)
  // Damage the blob behind the store's back: start does not notice (no hashing), verify does.
  writeFileSync(join(d, 'blobs', blob.slice(7, 9), blob.slice(7)), 'evil')
  const c = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  t.true(c.has(blob))
  t.false(await c.verify(blob))
  t.false(c.has(blob))
  t.false(existsSync(join(d, 'blobs', blob.slice(7, 9), blob.slice(7))))
  t.false((await c.write(null, from('good'))).existed, 'the damaged copy is gone; a good one is written anew')
  t.deepEqual(await drainHash(c.read(blob)), { hash: blob, bytes: 4 })
})

test('every watcher hears every change: the pastiche machine and picket both watch one store', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  const heard: string[] = []
  store.watch((hash, bytes) => heard.push(`first ${hash.slice(7, 11)} ${bytes}`))
  store.watch((hash, bytes) => heard.push(`second ${hash.slice(7, 11)} ${bytes}`))
  const { hash } = await store.write(null, from('watched'))
  await store.gc()
  const h = hash.slice(7, 11)
  t.deepEqual(heard, [`first ${h} 7`, `second ${h} 7`, `first ${h} null`, `second ${h} null`])
})
