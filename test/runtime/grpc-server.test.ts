/**
 * crux's gRPC edge on a real server (127.77.42.1): signed calls accepted, every kind of bad call
 * refused with the right code and no clue, malformed and oversized requests refused while the server
 * keeps serving, grpc.health.v1 and reflection answering.
 */
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import test from 'ava'
import { protoPath as healthProto } from 'grpc-health-check'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ReeveServiceClient, ReeveServicePingRequest, ReeveServiceService } from '../../protos/gen/crux/v1/reeve.js'
import { CALL_HEADERS, CallVerifier, signCall } from '../../runtime/call-signature.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import type { CruxError } from '../../runtime/errors.js'
import { createSecureServer } from '../../runtime/grpc-server.js'
import { createSignedClient, type CallSigner } from '../../runtime/signed-client.js'

const KEY = '/Reeve1_0/n1/keys/ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89'
const sk = randomEd25519SecretKey()
const PING = '/crux.v1.ReeveService/Ping'

async function world(t: import('ava').ExecutionContext, host: string) {
  const verifier = new CallVerifier({ lookup: (k) => (k === KEY ? ed25519PublicKey(sk) : undefined) })
  const s = createSecureServer({ host, port: 0, verifier, now: () => Date.now(), maxMessageBytes: 64 * 1024 })
  s.addService(ReeveServiceService, { ping: (call: grpc.ServerUnaryCall<ReeveServicePingRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: call.request.text, nodeId: '', steward: '', term: 0 }) })
  const addr = await s.start()
  const clients: grpc.Client[] = []
  t.teardown(async () => {
    for (const c of clients) c.close()
    await s.close()
  })
  /** An unsigned client. */
  const client = () => {
    const c = new ReeveServiceClient(addr, grpc.credentials.createInsecure())
    clients.push(c)
    return c
  }
  const ping = (c: ReeveServiceClient, text = 'hi') =>
    new Promise<{ text?: string; code?: number; details?: string }>((resolve) => c.ping({ text }, (err, res) => resolve(err ? { code: err.code, details: err.details } : { text: res.text })))
  /** A ping signed by runtime/signed-client.ts, as the strew layer's clients sign. */
  const signedPing = (over: Partial<CallSigner> = {}, text = 'hi') => {
    const c = signed(addr, over)
    return c.unary(ReeveServiceService.ping, { text }).then(
      (res) => ({ text: res.text }) as { text?: string; code?: number; details?: string },
      (err: CruxError) => ({ code: err.code as number, details: String(err.details?.grpc) }),
    ).finally(() => c.close())
  }
  /** A raw call with hand-made metadata and bytes (replays, malformed bodies). */
  const raw = (body: Buffer, meta: Record<string, string>) => {
    const c = new grpc.Client(addr, grpc.credentials.createInsecure())
    clients.push(c)
    const m = new grpc.Metadata()
    for (const [k, v] of Object.entries(meta)) m.set(k, v)
    return new Promise<{ code: number; details: string }>((resolve) =>
      c.makeUnaryRequest(PING, (b: Buffer) => b, (b: Buffer) => b, body, m, (err) => resolve({ code: err?.code ?? 0, details: err?.details ?? '' })),
    )
  }
  return { s, addr, verifier, client, ping, signedPing, raw }
}

const signed = (addr: string, over: Partial<CallSigner> = {}) => createSignedClient(addr, { key: KEY, secretKey: sk, now: () => Date.now(), ...over })

test('a signed call from a whitelisted key is served', async (t) => {
  const w = await world(t, '127.77.42.1')
  t.deepEqual(await w.signedPing({}, 'hello'), { text: 'hello' })
})

test('unsigned, forged and stale calls get UNAUTHENTICATED, an unknown key PERMISSION_DENIED, all with the same words', async (t) => {
  const w = await world(t, '127.77.42.2')
  t.deepEqual(await w.ping(w.client()), { code: grpc.status.UNAUTHENTICATED, details: 'call refused' })
  t.deepEqual(await w.signedPing({ secretKey: randomEd25519SecretKey() }), { code: grpc.status.UNAUTHENTICATED, details: 'call refused' })
  t.deepEqual(await w.signedPing({ now: () => Date.now() - 600_000 }), { code: grpc.status.UNAUTHENTICATED, details: 'call refused' })
  t.deepEqual(await w.signedPing({ key: '/Reeve1_0/n9/keys/*' }), { code: grpc.status.PERMISSION_DENIED, details: 'call refused' })
  t.deepEqual(w.verifier.refused, { unsigned: 1, forged: 1, stale: 1, unknown: 1, replayed: 0, busy: 0 })
})

test('the same signed call sent twice is served once', async (t) => {
  const w = await world(t, '127.77.42.3')
  const body = Buffer.from(ReeveServicePingRequest.encode({ text: 'once' }).finish())
  const sig = signCall({ key: KEY, secretKey: sk, method: PING, body, nowMs: Date.now() })
  const meta = { [CALL_HEADERS.key]: sig.key, [CALL_HEADERS.time]: sig.time, [CALL_HEADERS.nonce]: sig.nonce, [CALL_HEADERS.signature]: sig.signature }
  t.is((await w.raw(body, meta)).code, grpc.status.OK)
  t.deepEqual(await w.raw(body, meta), { code: grpc.status.UNAUTHENTICATED, details: 'call refused' })
})

test('a malformed request and an oversized one are refused with a clear status; the server keeps serving', async (t) => {
  const w = await world(t, '127.77.42.4')
  const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]) // field 1, a length past the end
  const sig = signCall({ key: KEY, secretKey: sk, method: PING, body: garbage, nowMs: Date.now() })
  const meta = { [CALL_HEADERS.key]: sig.key, [CALL_HEADERS.time]: sig.time, [CALL_HEADERS.nonce]: sig.nonce, [CALL_HEADERS.signature]: sig.signature }
  t.deepEqual(await w.raw(garbage, meta), { code: grpc.status.INVALID_ARGUMENT, details: `malformed request for ${PING}` })
  const big = await w.signedPing({}, 'x'.repeat(100 * 1024))
  t.is(big.code, grpc.status.RESOURCE_EXHAUSTED)
  t.deepEqual(await w.signedPing({}, 'still here'), { text: 'still here' })
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

test('a signed server-streaming method refuses an unsigned call the same way, and serves a signed one', async (t) => {
  const verifier = new CallVerifier({ lookup: (k) => (k === KEY ? ed25519PublicKey(sk) : undefined) })
  const s = createSecureServer({ host: '127.77.42.6', port: 0, verifier, now: () => Date.now() })
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
      const c = sign ? signed(addr) : new ReeveServiceClient(addr, grpc.credentials.createInsecure())
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
