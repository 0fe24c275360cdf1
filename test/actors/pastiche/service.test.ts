/**
 * PasticheService at its gRPC edge, in process on 127.78.60.1: verified uploads, statuses for every
 * bad request, who may call what, and back-pressure of a download.
 */
import test from 'ava'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { EMPTY_BLOB, hashOfBytes } from '../../../actors/pastiche/hash.js'
import { Code, CruxError } from '../../../runtime/errors.js'
import { PasticheNet } from '../../fixtures/pastiche-node.js'
import { drainHash, hashOfPattern, patternBytes } from '../../fixtures/pastiche-bytes.js'

const HOST = '127.78.60.1'

async function* from(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p)
}

const codeOf = async (p: Promise<unknown>): Promise<number> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(err instanceof CruxError)) throw new Error(`expected a CruxError, got ${String(err)}`)
  return err.code
}

/** Every blob and in-progress file of a node's store. */
const filesOf = (dataDir: string) => (readdirSync(join(dataDir, 'pastiche'), { recursive: true }) as string[]).filter((p) => /^(blobs\/..\/|incoming\/)./.test(p)).sort()

async function bytesOf(source: AsyncIterable<{ data: Buffer }>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const m of source) parts.push(m.data)
  return Buffer.concat(parts)
}

test('put then get, has and ls over the edge; the upload is verified under its name', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const c = net.client(a)
  const hash = hashOfBytes(Buffer.from('hello, pastiche'))
  t.deepEqual(await c.put(from('hello, ', 'pastiche'), { hash, pin: true }), { hash, bytes: 15, existed: false })
  t.is((await bytesOf(c.get(hash))).toString(), 'hello, pastiche')
  t.is((await bytesOf(c.get(hash, { offset: 7 }))).toString(), 'pastiche')
  t.is((await bytesOf(c.get(hash, { offset: 7, length: 3 }))).toString(), 'pas')
  t.deepEqual(await c.has(hash), { held: true, bytes: 15, partial: 0 })
  const ls = await c.ls()
  t.deepEqual(ls.blobs, [{ hash, bytes: 15, pinned: true, wanted: false, held: true, from: [] }])
  t.is(ls.bytes, 15)
  // Under no name: stored under what the bytes hash to; a second put of them finds the blob.
  t.deepEqual(await c.put(from('hello, pastiche')), { hash, bytes: 15, existed: true })
})

test('bytes that do not match the name: DATA_LOSS, and nothing kept (ls, the directory)', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const c = net.client(a)
  const hash = hashOfBytes(Buffer.from('the real bytes'))
  const err = await c.put(from('other bytes'), { hash }).catch((e: unknown) => e as CruxError)
  t.is((err as CruxError).code, Code.DATA_LOSS)
  t.regex((err as CruxError).message, /hash to sha256:[0-9a-f]{64}; nothing kept/)
  t.deepEqual((await c.ls()).blobs, [])
  t.deepEqual(filesOf(a.dataDir), [])
  t.deepEqual(await c.has(hash), { held: false, bytes: 0, partial: 0 })
})

test('empty hash, bad hash and unknown hash each get their own status', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const c = net.client(a)
  t.is(await codeOf(bytesOf(c.get(''))), Code.INVALID_ARGUMENT)
  t.is(await codeOf(c.has('sha256:ABC')), Code.INVALID_ARGUMENT)
  t.is(await codeOf(bytesOf(c.get(hashOfBytes(Buffer.from('nobody has this'))))), Code.NOT_FOUND)
  t.is(await codeOf(c.pin(hashOfBytes(Buffer.from('nobody has this')))), Code.NOT_FOUND)
  const held = await c.put(from('0123456789'))
  t.is(await codeOf(bytesOf(c.get(held.hash, { offset: 11 }))), Code.OUT_OF_RANGE)
  t.is((await bytesOf(c.get(held.hash, { offset: 10 }))).length, 0)
})

test('a zero-byte upload: the empty blob’s name works, any other is DATA_LOSS', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const c = net.client(a)
  t.deepEqual(await c.put(from(), { hash: EMPTY_BLOB }), { hash: EMPTY_BLOB, bytes: 0, existed: false })
  t.is((await bytesOf(c.get(EMPTY_BLOB))).length, 0)
  t.is(await codeOf(c.put(from(), { hash: hashOfBytes(Buffer.from('x')) })), Code.DATA_LOSS)
  t.deepEqual((await c.ls()).blobs.map((b) => b.hash), [EMPTY_BLOB])
})

test('malformed Put streams are INVALID_ARGUMENT: offset without a hash, data first, no header, two headers', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const c = net.client(a)
  t.is(await codeOf(c.put(from('abc'), { offset: 2 })), Code.INVALID_ARGUMENT)
  // The client always sends a header: raw streams for the others.
  const raw = await import('../../../actors/pastiche/client.js')
  const send = (msgs: Array<{ part: { $case: 'header'; value: { hash: string; offset: number; bytes: number; pin: boolean } } | { $case: 'data'; value: Buffer } }>) => rawPut(raw, a, msgs)
  t.is(await codeOf(send([{ part: { $case: 'data', value: Buffer.from('abc') } }])), Code.INVALID_ARGUMENT)
  t.is(await codeOf(send([])), Code.INVALID_ARGUMENT)
  const header = { part: { $case: 'header' as const, value: { hash: '', offset: 0, bytes: 0, pin: false } } }
  t.is(await codeOf(send([header, { part: { $case: 'data', value: Buffer.from('abc') } }, header])), Code.INVALID_ARGUMENT)
  t.deepEqual(filesOf(a.dataDir), [])
})

test('two concurrent uploads of one hash: one stores it, the other is ABORTED at once', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const c = net.client(a)
  const total = 8 << 20
  const hash = await hashOfPattern(total, 7)
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  async function* slow(): AsyncGenerator<Buffer> {
    let i = 0
    for await (const chunk of patternBytes(total, 7)) {
      if (i++ === 2) await gate
      yield chunk
    }
  }
  const first = c.put(slow(), { hash })
  // The first holds the hash once its header is in: wait until the node keeps bytes of it.
  for (let i = 0; i < 400 && (await c.has(hash)).partial === 0; i++) await new Promise((r) => setTimeout(r, 10))
  const second = await c.put(patternBytes(total, 7), { hash }).catch((e: unknown) => e as CruxError)
  t.is((second as CruxError).code, Code.ABORTED)
  t.regex((second as CruxError).message, /already being written/)
  release()
  t.deepEqual(await first, { hash, bytes: total, existed: false })
  // Asked again, the second finds it held.
  t.is((await c.put(patternBytes(total, 7), { hash })).existed, true)
})

test('a key the flock CA certified but no member holds can neither read nor write', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const stranger = net.identity()
  const held = await net.client(a).put(from('secret bytes'))
  const s = net.client(a, stranger)
  t.is(await codeOf(bytesOf(s.get(held.hash))), Code.PERMISSION_DENIED)
  t.is(await codeOf(s.put(from('intruder'))), Code.PERMISSION_DENIED)
  t.is(await codeOf(s.has(held.hash)), Code.PERMISSION_DENIED)
  t.is(await codeOf(s.ls()), Code.PERMISSION_DENIED)
  t.is(await codeOf(s.want(held.hash)), Code.PERMISSION_DENIED)
  t.is(await codeOf(s.unwant(held.hash)), Code.PERMISSION_DENIED)
  t.deepEqual((await net.client(a).ls()).blobs.map((b) => b.hash), [held.hash])
  // The same key once a member: reads and writes, but Pin, Gc and Fetch stay the node's own.
  net.members[stranger.id] = true
  t.is((await bytesOf(s.get(held.hash))).toString(), 'secret bytes')
  t.is((await s.put(from('a member’s bytes'))).existed, false)
  t.is(await codeOf(s.pin(held.hash)), Code.PERMISSION_DENIED)
  t.is(await codeOf(s.gc()), Code.PERMISSION_DENIED)
  t.is(await codeOf(s.fetch(held.hash, a.address)), Code.PERMISSION_DENIED)
})

test('pin, unpin and gc: gc removes what is neither pinned nor in use', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const c = net.client(a)
  const keep = await c.put(from('keep me'), { pin: true })
  const drop = await c.put(from('drop me'))
  t.is(await c.pin(keep.hash), false)
  t.deepEqual(await c.gc(), { removed: 1, bytes: 7 })
  t.deepEqual((await c.ls()).blobs.map((b) => b.hash), [keep.hash])
  t.is(await c.unpin(keep.hash), true)
  t.deepEqual(await c.gc(), { removed: 1, bytes: 7 })
  t.false(existsSync(join(a.dataDir, 'pastiche', 'blobs', drop.hash.slice(7, 9), drop.hash.slice(7))))
})

test('a 64 MiB download read slowly holds a bounded part of the blob in the server', async (t) => {
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const c = net.client(a)
  const total = 64 << 20
  const hash = await hashOfPattern(total, 3)
  t.is((await c.put(patternBytes(total, 3), { hash, bytes: total })).bytes, total)
  // Buffers still held, not garbage a collection has yet to free (how much of that there is depends
  // on when the collector runs, which a loaded machine moves): sampled after a full collection.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  const before = process.memoryUsage().arrayBuffers
  let peak = 0
  async function* slowly(): AsyncGenerator<Buffer> {
    let i = 0
    for await (const m of c.get(hash)) {
      if (i++ % 8 === 0) {
        await new Promise((r) => setTimeout(r, 5))
        gc()
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)
      }
      yield m.data
    }
  }
  t.deepEqual(await drainHash(slowly()), { hash, bytes: total })
  // Client and server share this process: both sides' buffers together stay well below the blob.
  // Held at most: the client stream's 16 messages (grpc-js's object-mode high-water mark, 1 MiB each),
  // the server's 4 MiB queue, and HTTP/2's windows; measured 21 MiB.
  t.log(`peak ${(peak / 2 ** 20).toFixed(1)} MiB of buffers held`)
  t.true(peak < 32 << 20, `peak ${peak >> 20} MiB of buffers`)
})

async function rawPut(raw: typeof import('../../../actors/pastiche/client.js'), node: { address: string; tls: import('../../../runtime/grpc-tls.js').PeerTls }, msgs: unknown[]): Promise<unknown> {
  const grpc = await import('@grpc/grpc-js')
  const { PasticheServiceService: M } = await import('../../../protos/gen/crux/v1/pastiche.js')
  const { peerChannel } = await import('../../../runtime/peer-client.js')
  const { CALLER_HEADER } = await import('../../../runtime/grpc-tls.js')
  const { errorFor } = await import('../../../runtime/errors.js')
  const { credentials, options } = peerChannel(node.tls)
  const client = new grpc.Client(node.address, credentials, options)
  const meta = new grpc.Metadata()
  meta.set(CALLER_HEADER, raw.callerKeyId(node.tls))
  try {
    return await new Promise((resolve, reject) => {
      const call = client.makeClientStreamRequest(M.put.path, M.put.requestSerialize, M.put.responseDeserialize, meta, {}, (err, res) => (err ? reject(errorFor(err.code, err.details)) : resolve(res)))
      for (const m of msgs) call.write(m as never)
      call.end()
    })
  } finally {
    client.close()
  }
}

test('reflection lists PasticheService and health says it serves (what grpcurl list and a probe ask, in plaintext)', async (t) => {
  const grpc = await import('@grpc/grpc-js')
  const { loadSync } = await import('@grpc/proto-loader')
  const { createRequire } = await import('node:module')
  const { dirname } = await import('node:path')
  const { protoPath: healthProto } = await import('grpc-health-check')
  const net = new PasticheNet(t, HOST)
  const a = await net.node()
  const reflectionProto = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto')
  const refl = new (grpc.loadPackageDefinition(loadSync(reflectionProto)) as any).grpc.reflection.v1.ServerReflection(a.address, grpc.credentials.createInsecure())
  t.teardown(() => refl.close())
  const names = await new Promise<string[]>((resolve, reject) => {
    const call = refl.ServerReflectionInfo()
    call.on('data', (res: { listServicesResponse?: { service: Array<{ name: string }> } }) => {
      resolve(res.listServicesResponse!.service.map((x) => x.name))
      call.end()
    })
    call.on('error', reject)
    call.write({ listServices: '' })
  })
  t.true(names.includes('crux.v1.PasticheService'), names.join(', '))
  const health = new (grpc.loadPackageDefinition(loadSync(healthProto, { enums: String })) as any).grpc.health.v1.Health(a.address, grpc.credentials.createInsecure())
  t.teardown(() => health.close())
  const status = await new Promise<string>((resolve, reject) => health.Check({ service: 'crux.v1.PasticheService' }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))))
  t.is(status, 'SERVING')
})
