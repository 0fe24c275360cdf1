/**
 * The client's download to a file (actors/pastiche/get-file.ts), on 127.78.62.1: verified as it
 * arrives, resumed after breaks, and nothing left at the path when the bytes are wrong.
 */
import test from 'ava'
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getToFile } from '../../../actors/pastiche/get-file.js'
import { Code, CruxError } from '../../../runtime/errors.js'
import { drainHash, hashOfPattern, patternBytes } from '../../fixtures/pastiche-bytes.js'
import { cuttingProxy, PasticheNet } from '../../fixtures/pastiche-node.js'
import { createReadStream } from 'node:fs'

const HOST = '127.78.62.1'

function outDir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-get-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

test('a download cut every 4 MiB resumes from the bytes it has and ends verified', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const total = 14 << 20
  const hash = await hashOfPattern(total, 21)
  await net.client(a).put(patternBytes(total, 21), { hash })
  const proxy = await cuttingProxy(t, HOST, a.address, 4 << 20)
  const out = join(outDir(t), 'blob')
  const r = await getToFile(net.client({ address: proxy }, a), hash, out, { retries: 3 })
  t.is(r.bytes, total)
  t.true(r.resumes >= 2, `${r.resumes} resumes`)
  t.deepEqual(await drainHash(createReadStream(out)), { hash, bytes: total })
})

test('bytes that do not hash to the name: DATA_LOSS and nothing at the path', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const total = 2 << 20
  const hash = await hashOfPattern(total, 22)
  await net.client(a).put(patternBytes(total, 22), { hash })
  const fd = openSync(join(a.dataDir, 'pastiche', 'blobs', hash.slice(7, 9), hash.slice(7)), 'r+')
  writeSync(fd, Buffer.from([1]), 0, 1, 100)
  closeSync(fd)
  const dir = outDir(t)
  const err = await getToFile(net.client(a), hash, join(dir, 'blob')).catch((e: unknown) => e as CruxError)
  t.is((err as CruxError).code, Code.DATA_LOSS)
  t.false(existsSync(join(dir, 'blob')))
  t.deepEqual(readdirSync(dir), [])
})

test('a blob the node lacks: NOT_FOUND at once, no retries, nothing written', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const dir = outDir(t)
  const err = await getToFile(net.client(a), await hashOfPattern(1, 23), join(dir, 'blob')).catch((e: unknown) => e as CruxError)
  t.is((err as CruxError).code, Code.NOT_FOUND)
  t.deepEqual(readdirSync(dir), [])
})
