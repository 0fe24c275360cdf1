/**
 * fetchBlob and the Fetch call between in-process nodes on 127.78.61.1: a verified pull, a resume
 * after a cut connection, a peer whose blob was altered on disk, and each failure named for the
 * caller's policy.
 */
import test from 'ava'
import { readdirSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { fetchBlob, FetchError } from '../../../actors/pastiche/fetch.js'
import { hashOfBytes } from '../../../actors/pastiche/hash.js'
import { Code } from '../../../runtime/errors.js'
import { cuttingProxy, PasticheNet } from '../../fixtures/pastiche-node.js'
import { hashOfPattern, patternBytes } from '../../fixtures/pastiche-bytes.js'

const HOST = '127.78.61.1'
const filesOf = (dataDir: string) => (readdirSync(join(dataDir, 'pastiche'), { recursive: true }) as string[]).filter((p) => /^(blobs\/..\/|incoming\/)./.test(p)).sort()

const failureOf = async (p: Promise<unknown>): Promise<FetchError> => {
  const err = await p.then(() => null, (e: unknown) => e)
  if (!(err instanceof FetchError)) throw new Error(`expected a FetchError, got ${String(err)}`)
  return err
}

test('a blob pulled from a peer arrives verified; asked again, it is already held', async (t) => {
  const net = new PasticheNet(t, HOST)
  const [a, b] = [await net.node(), await net.node()]
  const total = 5 << 20
  const hash = await hashOfPattern(total, 11)
  await net.client(a).put(patternBytes(total, 11), { hash })
  const r = await fetchBlob({ store: b.pastiche.store, peer: b.pastiche.peer }, { hash, from: a.address })
  t.deepEqual(r, { hash, bytes: total, moved: total, from: 0, existed: false })
  t.true(b.pastiche.store.has(hash))
  t.true(await b.pastiche.store.verify(hash))
  t.is((await fetchBlob({ store: b.pastiche.store, peer: b.pastiche.peer }, { hash, from: a.address })).existed, true)
})

test('a cut transfer keeps its bytes, and the next pull resumes from them', async (t) => {
  const net = new PasticheNet(t, HOST)
  const [a, b] = [await net.node(), await net.node()]
  const total = 24 << 20
  const hash = await hashOfPattern(total, 12)
  await net.client(a).put(patternBytes(total, 12), { hash })
  const cut = await cuttingProxy(t, HOST, a.address, 6 << 20)
  const err = await failureOf(fetchBlob({ store: b.pastiche.store, peer: b.pastiche.peer }, { hash, from: cut }))
  t.is(err.failure, 'broken')
  t.is(err.peer, cut)
  const kept = b.pastiche.store.partial(hash)
  t.true(kept > 0 && kept < total, `kept ${kept}`)
  t.false(b.pastiche.store.has(hash)) // nothing partial is visible as a blob
  const r = await fetchBlob({ store: b.pastiche.store, peer: b.pastiche.peer }, { hash, from: a.address })
  t.deepEqual(r, { hash, bytes: total, moved: total - kept, from: kept, existed: false })
  t.true(await b.pastiche.store.verify(hash))
})

test('a peer whose blob was altered on disk: DATA_LOSS, the peer named as corrupt, nothing kept', async (t) => {
  const net = new PasticheNet(t, HOST)
  const [a, b] = [await net.node(), await net.node()]
  const total = 3 << 20
  const hash = await hashOfPattern(total, 13)
  await net.client(a).put(patternBytes(total, 13), { hash })
  // One byte flipped in the middle of A's file: A still serves it (it hashes nothing on a read).
  const fd = openSync(join(a.dataDir, 'pastiche', 'blobs', hash.slice(7, 9), hash.slice(7)), 'r+')
  writeSync(fd, Buffer.from([0x5a]), 0, 1, total >> 1)
  closeSync(fd)
  const err = await failureOf(fetchBlob({ store: b.pastiche.store, peer: b.pastiche.peer }, { hash, from: a.address }))
  t.is(err.failure, 'corrupt')
  t.is(err.code, Code.DATA_LOSS)
  t.regex(err.message, new RegExp(`^fetching ${hash} from ${a.address.replace(/\./g, '\\.')}: blob ${hash}: the ${total} bytes received hash to`))
  t.deepEqual(filesOf(b.dataDir), [])
  t.is(b.pastiche.store.partial(hash), 0)
})

test('a peer without the blob is not-found; a peer that does not know us is refused', async (t) => {
  const net = new PasticheNet(t, HOST)
  const [a, b] = [await net.node(), await net.node()]
  const hash = hashOfBytes(Buffer.from('only on c'))
  const missing = await failureOf(fetchBlob({ store: b.pastiche.store, peer: b.pastiche.peer }, { hash, from: a.address }))
  t.is(missing.failure, 'not-found')
  t.is(missing.code, Code.NOT_FOUND)
  const outsider = await net.node({ member: false })
  const refused = await failureOf(fetchBlob({ store: outsider.pastiche.store, peer: outsider.pastiche.peer }, { hash, from: a.address }))
  t.is(refused.failure, 'refused')
  t.deepEqual(filesOf(b.dataDir), [])
})

test('Fetch: the node pulls from the peer its own key names, and says how many bytes moved', async (t) => {
  const net = new PasticheNet(t, HOST)
  const [a, b] = [await net.node(), await net.node()]
  writeFileSync(join(a.dataDir, 'x'), 'unused') // the data dir is the node's, not the store's
  const held = await net.client(a).put(patternBytes(2 << 20, 14))
  const r = await net.client(b).fetch(held.hash, a.address)
  t.like(r, { hash: held.hash, bytes: 2 << 20, moved: 2 << 20, existed: false })
  t.like(await net.client(b).fetch(held.hash, a.address), { existed: true, moved: 0 })
  const err = (await net.client(b).fetch(hashOfBytes(Buffer.from('nowhere')), a.address).catch((e: unknown) => e)) as Error & { code: number }
  t.is(err.code, Code.NOT_FOUND)
  t.regex(err.message, /from 127\.78\.61\.1:\d+: blob sha256:[0-9a-f]{64} is not in the store/)
})
