/**
 * crux's gRPC edge on a real server (127.77.42.1): calls over the flock's mutual TLS from a
 * whitelisted key accepted, every kind of bad call refused with the right code and no clue, malformed
 * and oversized requests refused while the server keeps serving, grpc.health.v1 and reflection
 * answering (in plaintext too).
 */
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import test from 'ava'
import { protoPath as healthProto } from 'grpc-health-check'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ReeveServiceClient, ReeveServicePingRequest, ReeveServiceService } from '../../protos/gen/crux/v1/reeve.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import type { CruxError } from '../../runtime/errors.js'
import { createSecureServer } from '../../runtime/grpc-server.js'
import { CALLER_HEADER, issuePeerTls, type PeerTls } from '../../runtime/grpc-tls.js'
import { createPeerClient, peerChannel, type PeerClientInit } from '../../runtime/peer-client.js'

const KEY = '/Reeve1_0/n1/keys/ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89'
const SECRET = new Uint8Array(32).fill(4)
const pair = () => ((sk) => ({ secretKey: sk, publicKey: ed25519PublicKey(sk) }))(randomEd25519SecretKey())
/** The whitelisted client's key, and the server's own. */
const client = pair()
const clientTls = issuePeerTls(SECRET, client)
const serverTls = issuePeerTls(SECRET, pair())
const PING = '/crux.v1.ReeveService/Ping'

async function world(t: import('ava').ExecutionContext, host: string, tls: PeerTls = serverTls) {
  const s = createSecureServer({ host, port: 0, tls, lookup: (k) => (k === KEY ? client.publicKey : undefined), maxMessageBytes: 64 * 1024 })
  s.addService(ReeveServiceService, { ping: (call: grpc.ServerUnaryCall<ReeveServicePingRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: call.request.text, nodeId: '', steward: '', term: 0 }) })
  const addr = await s.start()
  const clients: Array<{ close(): void }> = []
  t.teardown(async () => {
    for (const c of clients) c.close()
    await s.close()
  })
  /** A ping by runtime/peer-client.ts, as the strew layer's clients call. */
  const peerPing = (over: Partial<PeerClientInit> = {}, text = 'hi', anonymous = false) => {
    const c = createPeerClient(addr, { tls: clientTls, ...(anonymous ? {} : { key: KEY }), timeoutMs: 5_000, ...over })
    return c.unary(ReeveServiceService.ping, { text }).then(
      (res) => ({ text: res.text }) as { text?: string; code?: number; details?: string },
      (err: CruxError) => ({ code: err.code as number, details: String(err.details?.grpc) }),
    ).finally(() => c.close())
  }
  /** A raw call on the flock's TLS with hand-made metadata and bytes (malformed bodies). */
  const raw = (body: Buffer, meta: Record<string, string>) => {
    const ch = peerChannel(clientTls)
    const c = new grpc.Client(addr, ch.credentials, ch.options)
    clients.push(c)
    const m = new grpc.Metadata()
    for (const [k, v] of Object.entries(meta)) m.set(k, v)
    return new Promise<{ code: number; details: string }>((resolve) =>
      c.makeUnaryRequest(PING, (b: Buffer) => b, (b: Buffer) => b, body, m, (err) => resolve({ code: err?.code ?? 0, details: err?.details ?? '' })),
    )
  }
  return { s, addr, peerPing, raw, clients }
}

const signed = (addr: string) => createPeerClient(addr, { tls: clientTls, key: KEY })

test('a call from a whitelisted key over the flock\'s TLS is served', async (t) => {
  const w = await world(t, '127.77.42.1')
  t.deepEqual(await w.peerPing({}, 'hello'), { text: 'hello' })
})

test('no KeyID named, or one the whitelist gives another key: UNAUTHENTICATED; an unknown KeyID: PERMISSION_DENIED; all with the same words', async (t) => {
  const w = await world(t, '127.77.42.2')
  t.deepEqual(await w.peerPing({}, 'hi', true), { code: grpc.status.UNAUTHENTICATED, details: 'call refused' })
  // A key the flock's CA certified, naming the whitelisted KeyID: not the key the whitelist gives it.
  t.deepEqual(await w.peerPing({ tls: issuePeerTls(SECRET, pair()) }), { code: grpc.status.UNAUTHENTICATED, details: 'call refused' })
  t.deepEqual(await w.peerPing({ key: '/Reeve1_0/n9/keys/*' }), { code: grpc.status.PERMISSION_DENIED, details: 'call refused' })
  t.like(w.s.channelCounters, { unnamed: 1, mismatch: 1, unknown: 1, accepted: 0 })
})

test('a plaintext client reaches health and reflection only: ReeveService is not there', async (t) => {
  const w = await world(t, '127.77.42.3')
  const c = new ReeveServiceClient(w.addr, grpc.credentials.createInsecure())
  w.clients.push(c)
  const code = await new Promise<number>((resolve) => c.ping({ text: 'hi' }, (err) => resolve(err?.code ?? 0)))
  t.is(code, grpc.status.UNIMPLEMENTED)
  t.is(w.s.channelCounters.plaintext, 1)
})

test('a malformed request and an oversized one are refused with a clear status; the server keeps serving', async (t) => {
  const w = await world(t, '127.77.42.4')
  const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]) // field 1, a length past the end
  t.deepEqual(await w.raw(garbage, { [CALLER_HEADER]: KEY }), { code: grpc.status.INVALID_ARGUMENT, details: `malformed request for ${PING}` })
  const big = await w.peerPing({}, 'x'.repeat(100 * 1024))
  t.is(big.code, grpc.status.RESOURCE_EXHAUSTED)
  t.deepEqual(await w.peerPing({}, 'still here'), { text: 'still here' })
})

test('grpc.health.v1 reports SERVING and NOT_SERVING as set; reflection lists the services', async (t) => {
  const w = await world(t, '127.77.42.5')
  const healthPkg = grpc.loadPackageDefinition(loadSync(healthProto, { enums: String })) as any
  const health = new healthPkg.grpc.health.v1.Health(w.addr, grpc.credentials.createInsecure())
  t.teardown(() => health.close())
  const check = (service: string) => new Promise<string>((resolve, reject) => health.Check({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))))
  t.is(await check(''), 'SERVING')
  w.s.setStatus('crux.v1.ReeveService', 'NOT_SERVING')
  t.is(await check('crux.v1.ReeveService'), 'NOT_SERVING')
  // A service that is gone is forgotten: Check does not know it any more.
  w.s.setStatus('/crux/default/n1/S/S1', 'SERVING')
  t.is(await check('/crux/default/n1/S/S1'), 'SERVING')
  w.s.setStatus('/crux/default/n1/S/S1', 'SERVICE_UNKNOWN')
  const gone = await check('/crux/default/n1/S/S1').catch((err: grpc.ServiceError) => err.code)
  t.is(gone, grpc.status.NOT_FOUND)

  const reflectionProto = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto')
  const reflPkg = grpc.loadPackageDefinition(loadSync(reflectionProto)) as any
  const refl = new reflPkg.grpc.reflection.v1.ServerReflection(w.addr, grpc.credentials.createInsecure())
  t.teardown(() => refl.close())
  const names = await new Promise<string[]>((resolve, reject) => {
    const call = refl.ServerReflectionInfo()
    call.on('data', (res: { listServicesResponse?: { service: Array<{ name: string }> } }) => {
      resolve(res.listServicesResponse!.service.map((s) => s.name))
      call.end()
    })
    call.on('error', reject)
    call.write({ listServices: '' })
  })
  for (const s of ['crux.v1.ReeveService', 'crux.v1.RegistryService', 'crux.v1.StewardService']) t.true(names.includes(s), `${s} in ${names.join(', ')}`)
})

test('a server-streaming method refuses a call naming no key the same way, and serves a whitelisted one', async (t) => {
  const s = createSecureServer({ host: '127.77.42.6', port: 0, tls: serverTls, lookup: (k) => (k === KEY ? client.publicKey : undefined) })
  s.addService(ReeveServiceService, {
    watchCatalog: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.write({ endpoints: [], version: 7, removed: [], full: true })
      call.end()
    },
  })
  const addr = await s.start()
  t.teardown(() => s.close())
  const watch = (sign: boolean) =>
    new Promise<{ versions: number[]; code: number; details: string }>((resolve) => {
      const req = { nodeId: '/b/h/n/Pastiche/Pastiche1', api: '' }
      const ch = peerChannel(clientTls)
      const c = sign ? signed(addr) : new ReeveServiceClient(addr, ch.credentials, ch.options)
      const versions: number[] = []
      const call = sign ? (c as ReturnType<typeof signed>).stream(ReeveServiceService.watchCatalog, req) : (c as ReeveServiceClient).watchCatalog(req)
      call.on('data', (r: { version: number }) => versions.push(r.version))
      call.on('error', (err: grpc.ServiceError) => {
        c.close()
        resolve({ versions, code: err.code, details: err.details })
      })
      call.on('end', () => {
        c.close()
        resolve({ versions, code: 0, details: '' })
      })
    })
  t.deepEqual(await watch(false), { versions: [], code: grpc.status.UNAUTHENTICATED, details: 'call refused' })
  t.deepEqual(await watch(true), { versions: [7], code: 0, details: '' })
})
