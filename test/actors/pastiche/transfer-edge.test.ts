import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { HostEvent } from '../../../machines/effects.js'
import type { GetResponse } from '../../../protos/gen/crux/v1/pastiche.js'
import type { PasticheClient } from '../../../actors/pastiche/client.js'
import { hashOfBytes } from '../../../actors/pastiche/hash.js'
import { createBlobStore } from '../../../actors/pastiche/store.js'
import { createTransferEdge } from '../../../actors/pastiche/transfer-edge.js'
import { CruxError, Code, UnavailableError } from '../../../runtime/errors.js'

const blob = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13 + 5) & 0xff))
const hash = hashOfBytes(blob)

/** How a fake peer serves a Get: `bytes` of the range (default the right ones), `total`, or an error. */
type Serve = { bytes?: (range: Buffer) => Buffer; total?: number; error?: Error; stall?: boolean }

/** A peer at `address` serving `blob` by `serve`, in 1000-byte messages. */
function fakePeer(address: string, serve: Serve = {}, held = true): PasticheClient {
  return {
    address,
    has: async () => {
      if (serve.error !== undefined) throw serve.error
      return { held, bytes: held ? blob.length : 0, partial: 0 }
    },
    get: (_hash: string, o: { offset?: number; length?: number; signal?: AbortSignal } = {}) => ({
      async *[Symbol.asyncIterator](): AsyncGenerator<GetResponse> {
        if (serve.error !== undefined) throw serve.error
        const offset = o.offset ?? 0
        const right = blob.subarray(offset, o.length === 0 || o.length === undefined ? blob.length : offset + o.length)
        const data = serve.bytes?.(right) ?? right
        for (let at = 0; at < data.length; at += 1000) {
          if (serve.stall === true && at > 0) await new Promise<void>((r) => o.signal?.addEventListener('abort', () => r()))
          if (o.signal?.aborted === true) throw new CruxError(Code.CANCELLED, 'cancelled')
          yield { offset: offset + at, data: data.subarray(at, at + 1000), total: at === 0 ? (serve.total ?? blob.length) : 0 }
        }
      },
    }),
  } as unknown as PasticheClient
}

async function setup(t: import('ava').ExecutionContext, peers: Record<string, PasticheClient>, wanted = true) {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-edge-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 20 })
  const got: HostEvent[] = []
  let wake = (): void => undefined
  const edge = createTransferEdge({ store, peer: (a) => peers[a]!, deliver: (ev) => void (got.push(ev), wake()), wanted: () => wanted, stallMs: 5_000 })
  t.teardown(() => edge.close())
  /** Resolves once `n` answers are in. */
  const answers = (n: number) => new Promise<HostEvent[]>((r) => ((wake = () => got.length >= n && r(got)), wake()))
  return { store, edge, got, answers }
}

test('two ranges from two peers, then assemble: fetched ok each, assembled ok, blob.held; counters say who sent what', async (t) => {
  const { store, edge, answers } = await setup(t, { a: fakePeer('a'), b: fakePeer('b') })
  edge.take({ type: 'fetch', id: 1, hash, from: 'a', offset: 0, length: 2500 })
  edge.take({ type: 'fetch', id: 2, hash, from: 'b', offset: 2500, length: 2500 })
  const two = await answers(2)
  t.deepEqual(two.map((e) => JSON.stringify(e)).sort(), [{ type: 'fetched', id: 1, result: 'ok', bytes: 2500 }, { type: 'fetched', id: 2, result: 'ok', bytes: 2500 }].map((e) => JSON.stringify(e)).sort())
  edge.take({ type: 'assemble', id: 3, hash, bytes: blob.length })
  const all = await answers(4)
  t.deepEqual(all.slice(2), [{ type: 'assembled', id: 3, ok: true }, { type: 'blob.held', hash, bytes: 5000 }])
  t.true(store.has(hash))
  t.deepEqual(edge.counters, { ranges: { ok: 2, bad: 0, failed: 0 }, bytesFrom: { a: 2500, b: 2500 } })
  edge.take({ type: 'pin', hash })
  await new Promise((r) => setTimeout(r, 50))
  t.true(store.stat(hash)!.pinned)
})

test('fewer bytes, more bytes, another size, or DATA_LOSS from the peer are bad; a call error is failed', async (t) => {
  const dataLoss = new CruxError(Code.DATA_LOSS, 'pastiche d: blob file ended early', { details: { remote: 'd' } })
  const { edge, got, answers } = await setup(t, {
    short: fakePeer('short', { bytes: (r) => r.subarray(0, r.length - 1) }),
    long: fakePeer('long', { bytes: (r) => Buffer.concat([r, Buffer.alloc(3)]) }),
    size: fakePeer('size', { total: 4999 }),
    d: fakePeer('d', { error: dataLoss }),
    down: fakePeer('down', { error: new UnavailableError('pastiche down: connection refused') }),
  })
  const peers = ['short', 'long', 'size', 'd', 'down']
  peers.forEach((from, i) => edge.take({ type: 'fetch', id: i + 1, hash, from, offset: 1000, length: 2000 }))
  await answers(5)
  const byId = Object.fromEntries(got.map((e) => [e['id'], e['result']]))
  t.deepEqual(byId, { 1: 'bad', 2: 'bad', 3: 'bad', 4: 'bad', 5: 'failed' })
})

test('has: the peer says held and the size; a failed call says nothing (ok false)', async (t) => {
  const { edge, got, answers } = await setup(t, { a: fakePeer('a'), n: fakePeer('n', {}, false), x: fakePeer('x', { error: new UnavailableError('down') }) })
  edge.take({ type: 'has', id: 1, hash, to: 'a' })
  edge.take({ type: 'has', id: 2, hash, to: 'n' })
  edge.take({ type: 'has', id: 3, hash, to: 'x' })
  await answers(3)
  t.deepEqual(
    got.sort((p, q) => (p['id'] as number) - (q['id'] as number)),
    [
      { type: 'has.answer', id: 1, ok: true, held: true, bytes: 5000 },
      { type: 'has.answer', id: 2, ok: true, held: false, bytes: 0 },
      { type: 'has.answer', id: 3, ok: false, held: false, bytes: 0 },
    ],
  )
})

test('a cancelled fetch is never answered; an assembly nobody wants any more is deleted', async (t) => {
  const { store, edge, got } = await setup(t, { s: fakePeer('s', { stall: true }) }, false)
  edge.take({ type: 'fetch', id: 1, hash, from: 's', offset: 0, length: 5000 })
  await new Promise((r) => setTimeout(r, 50))
  t.is(store.usage().incoming, 5000, 'the assembly is open, its room taken')
  edge.take({ type: 'fetch.cancel', id: 1 })
  await new Promise((r) => setTimeout(r, 100))
  t.deepEqual(got, [])
  t.is(store.usage().incoming, 0, 'the assembly went with the last range of a blob no longer wanted')
})

test('assemble of wrong bytes: assembled false, nothing held', async (t) => {
  const { store, edge, got, answers } = await setup(t, { liar: fakePeer('liar', { bytes: (r) => Buffer.from(r.map((x) => x ^ 1)) }) })
  edge.take({ type: 'fetch', id: 1, hash, from: 'liar', offset: 0, length: 5000 })
  await answers(1)
  t.like(got[0], { result: 'ok' })
  edge.take({ type: 'assemble', id: 2, hash, bytes: 5000 })
  await answers(2)
  t.deepEqual(got[1], { type: 'assembled', id: 2, ok: false })
  t.false(store.has(hash))
  t.deepEqual(store.usage(), { blobs: 0, incoming: 0, limit: 1 << 20 })
})

test('a blob put meanwhile: assemble says ok and the ranges fetched are let go', async (t) => {
  const { store, edge, got, answers } = await setup(t, { a: fakePeer('a') })
  edge.take({ type: 'fetch', id: 1, hash, from: 'a', offset: 0, length: 2500 })
  await answers(1)
  t.is(store.usage().incoming, 5000)
  await store.write(hash, (async function* () {
    yield blob
  })())
  edge.take({ type: 'assemble', id: 2, hash, bytes: 5000 })
  await answers(3)
  t.deepEqual(got.slice(1), [{ type: 'assembled', id: 2, ok: true }, { type: 'blob.held', hash, bytes: 5000 }])
  t.deepEqual(store.usage(), { blobs: 5000, incoming: 0, limit: 1 << 20 })
})
