import test from 'ava'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBlobStore } from '../../../actors/pastiche/store.js'
import { hashOfBytes } from '../../../actors/pastiche/hash.js'
import { BlobBusyError, StoreFullError } from '../../../actors/pastiche/errors.js'
import { drainHash, hashOfPattern } from '../../fixtures/pastiche-bytes.js'

const WRITER = fileURLToPath(new URL('../../fixtures/pastiche-range-writer.js', import.meta.url))

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-asm-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/** `bytes` in chunks of `size`, one at a time after a turn of the event loop (so ranges interleave). */
async function* chunks(bytes: Buffer, size = 7): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) {
    await new Promise((r) => setImmediate(r))
    yield bytes.subarray(at, at + size)
  }
}

const blob = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff))
const hash = hashOfBytes(blob)

test('ranges written out of order and at once assemble into the blob', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  const a = await store.assemble(hash, blob.length)
  t.is(store.usage().incoming, blob.length, 'the whole size is counted when the assembly opens')
  const cuts = [[600, 1000], [0, 250], [250, 600]] as const
  const got = await Promise.all(cuts.map(([lo, hi]) => a.writeRange(lo, hi - lo, chunks(blob.subarray(lo, hi)))))
  t.deepEqual(got.map((r) => r.received), [400, 250, 350])
  t.false(store.has(hash), 'nothing is visible before finish')
  t.true(await a.finish())
  t.deepEqual(store.stat(hash), { hash, bytes: 1000, pinned: false, reserved: false })
  t.deepEqual(await drainHash(store.read(hash)), { hash, bytes: 1000 })
  t.deepEqual(readdirSync(join(store.dir, 'incoming')), [])
  t.deepEqual(store.usage(), { blobs: 1000, incoming: 0, limit: 1 << 20 })
})

test('one wrong byte: finish says false and nothing is kept', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  const a = await store.assemble(hash, blob.length)
  const bad = Buffer.from(blob.subarray(500))
  bad[123] ^= 1
  await a.writeRange(0, 500, chunks(blob.subarray(0, 500)))
  await a.writeRange(500, 500, chunks(bad))
  t.false(await a.finish())
  t.false(store.has(hash))
  t.deepEqual(store.ls(), [])
  t.deepEqual(readdirSync(join(store.dir, 'incoming')), [])
  t.deepEqual(readdirSync(join(store.dir, 'blobs')), [])
  t.deepEqual(store.usage(), { blobs: 0, incoming: 0, limit: 1 << 20 })
})

test('a range that sends more than asked is cut at the range: nothing past it is written', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  const a = await store.assemble(hash, blob.length)
  await a.writeRange(0, 600, chunks(blob.subarray(0, 600)))
  // A liar sends its range and 10 bytes of garbage past it, into a range that is already right.
  const r = await a.writeRange(400, 100, chunks(Buffer.concat([blob.subarray(400, 500), Buffer.alloc(10, 0xee)])))
  t.true(r.received > 100)
  await a.writeRange(600, 400, chunks(blob.subarray(600)))
  t.true(await a.finish())
})

test('an assembly is counted against the bound up front, never evicted, and one per blob at a time', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1500 })
  const a = await store.assemble(hash, blob.length)
  await t.throwsAsync(store.assemble(hash, blob.length), { instanceOf: BlobBusyError })
  // Another write that needs the room cannot take the assembly's.
  const other = Buffer.alloc(800, 1)
  await t.throwsAsync(store.write(hashOfBytes(other), chunks(other, 100)), { instanceOf: StoreFullError })
  await t.throwsAsync(store.assemble(hashOfBytes(other), other.length), { instanceOf: StoreFullError })
  await a.abandon()
  t.deepEqual(store.usage(), { blobs: 0, incoming: 0, limit: 1500 })
  t.deepEqual(readdirSync(join(store.dir, 'incoming')), [])
  const b = await store.assemble(hash, blob.length)
  await b.writeRange(0, 1000, chunks(blob, 300))
  t.true(await b.finish())
})

test('a range outside the blob is refused', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  const a = await store.assemble(hash, blob.length)
  await t.throwsAsync(a.writeRange(900, 200, chunks(blob.subarray(0, 200))), { message: /outside blob/ })
  await a.abandon()
})

test('kill -9 mid-range: after reopening nothing is visible and the in-progress file is gone', async (t) => {
  const d = dir(t)
  const total = 6 << 20
  const expected = await hashOfPattern(total, 9)
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, d, String(total), '9', String(1 << 20)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString()
      if (/ready \d+\n/.test(out)) child.kill('SIGKILL')
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code} ${signal}: ${out}`))))
  })
  t.is(readdirSync(join(d, 'incoming')).length, 1, 'the killed assembly left its in-progress file')
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 30 })
  t.false(store.has(expected))
  t.deepEqual(store.ls(), [])
  t.deepEqual(readdirSync(join(d, 'blobs')), [])
  t.deepEqual(readdirSync(join(d, 'incoming')), [])
  t.deepEqual(store.usage(), { blobs: 0, incoming: 0, limit: 1 << 30 })
})

test('watch tells every blob that comes and goes: a write, an assembly, gc, a failed verify', async (t) => {
  const store = await createBlobStore({ dir: dir(t), limitBytes: 1 << 20 })
  const seen: Array<[string, number | null]> = []
  store.watch((h, bytes) => seen.push([h, bytes]))
  const other = Buffer.from('another blob')
  await store.write(hashOfBytes(other), chunks(other))
  await store.write(hashOfBytes(other), chunks(other)) // held already: no news
  const a = await store.assemble(hash, blob.length)
  await a.writeRange(0, blob.length, chunks(blob, 400))
  t.true(await a.finish())
  t.deepEqual(seen, [[hashOfBytes(other), other.length], [hash, 1000]])
  store.gc((h) => h === hash)
  t.deepEqual(seen.at(-1), [hashOfBytes(other), null])
  const hex = hash.slice(7)
  writeFileSync(join(store.dir, 'blobs', hex.slice(0, 2), hex), Buffer.alloc(1000))
  t.false(await store.verify(hash))
  t.deepEqual(seen.at(-1), [hash, null])
})
