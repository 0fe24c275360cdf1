/**
 * What the gRPC edge tells an operator, on a real server (127.77.121.x): reflection describes
 * grpc.health.v1 (so `grpcurl list` shows it and can call it without the proto), health and
 * reflection need no signature, and every answered call is counted by method and status code with
 * its latency.
 */
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import test from 'ava'
import { protoPath as healthProto } from 'grpc-health-check'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fromBinary } from '@bufbuild/protobuf'
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt'
import { ReeveServiceClient, ReeveServicePingRequest, ReeveServiceService } from '../../protos/gen/crux/v1/reeve.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { createSecureServer } from '../../runtime/grpc-server.js'
import { issuePeerTls } from '../../runtime/grpc-tls.js'
import { createPeerClient } from '../../runtime/peer-client.js'

const KEY = '/Reeve1_0/n1/keys/ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89'
const sk = randomEd25519SecretKey()
const SECRET = new Uint8Array(32).fill(9)
const tls = issuePeerTls(SECRET, { secretKey: sk, publicKey: ed25519PublicKey(sk) })

async function world(t: import('ava').ExecutionContext, host: string) {
  const s = createSecureServer({ host, port: 0, tls, lookup: (k) => (k === KEY ? ed25519PublicKey(sk) : undefined) })
  s.addService(ReeveServiceService, { ping: (call: grpc.ServerUnaryCall<ReeveServicePingRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: call.request.text, nodeId: '', steward: '', term: 0 }) })
  const addr = await s.start()
  const closers: Array<{ close(): void }> = []
  t.teardown(async () => {
    for (const c of closers) c.close()
    await s.close()
  })
  const healthPkg = grpc.loadPackageDefinition(loadSync(healthProto, { enums: String })) as any
  const health = new healthPkg.grpc.health.v1.Health(addr, grpc.credentials.createInsecure())
  const reflectionProto = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto')
  const reflPkg = grpc.loadPackageDefinition(loadSync(reflectionProto)) as any
  const refl = new reflPkg.grpc.reflection.v1.ServerReflection(addr, grpc.credentials.createInsecure())
  closers.push(health, refl)
  /** One reflection request, its one answer. */
  const reflect = (req: object) =>
    new Promise<any>((resolve, reject) => {
      const call = refl.ServerReflectionInfo()
      call.on('data', (res: unknown) => {
        resolve(res)
        call.end()
      })
      call.on('error', reject)
      call.write(req)
    })
  const check = (service: string) => new Promise<string>((resolve, reject) => health.Check({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))))
  return { s, addr, health, reflect, check, closers }
}

test('reflection lists grpc.health.v1.Health and describes it, as grpcurl list and describe ask', async (t) => {
  const w = await world(t, '127.77.121.1')
  const listed = await w.reflect({ listServices: '' })
  const names = (listed.listServicesResponse.service as Array<{ name: string }>).map((s) => s.name)
  for (const s of ['grpc.health.v1.Health', 'crux.v1.ReeveService', 'crux.v1.StewardService', 'crux.v1.RegistryService']) t.true(names.includes(s), `${s} in ${names.join(', ')}`)
  const described = await w.reflect({ fileContainingSymbol: 'grpc.health.v1.Health' })
  const files = (described.fileDescriptorResponse.fileDescriptorProto as Buffer[]).map((b) => fromBinary(FileDescriptorProtoSchema, b))
  const file = files.find((f) => f.name === 'grpc/health/v1/health.proto')!
  t.truthy(file, files.map((f) => f.name).join(', '))
  t.deepEqual(file.service[0]!.method.map((m) => [m.name, m.serverStreaming]), [['Check', false], ['Watch', true]])
  const symbol = await w.reflect({ fileContainingSymbol: 'grpc.health.v1.HealthCheckResponse' })
  t.truthy(symbol.fileDescriptorResponse, 'the messages are described too')
})

test('health and reflection answer in plaintext; ReeveService does not, and over TLS wants a named key', async (t) => {
  const w = await world(t, '127.77.121.2')
  t.is(await w.check(''), 'SERVING')
  t.truthy((await w.reflect({ listServices: '' })).listServicesResponse)
  const c = new ReeveServiceClient(w.addr, grpc.credentials.createInsecure())
  w.closers.push(c)
  const code = await new Promise<number>((resolve) => c.ping({ text: 'hi' }, (err) => resolve(err?.code ?? 0)))
  t.is(code, grpc.status.UNIMPLEMENTED)
  const anonymous = createPeerClient(w.addr, { tls })
  w.closers.push(anonymous)
  t.is(await anonymous.unary(ReeveServiceService.ping, { text: 'hi' }).then(() => 0, (err: { code: number }) => err.code), grpc.status.UNAUTHENTICATED)
})

test('calls are counted by method and status code, with their latency; a call the client abandons counts as CANCELLED', async (t) => {
  const w = await world(t, '127.77.121.3')
  const stats = w.s.callStats.methods
  const unsigned = createPeerClient(w.addr, { tls })
  w.closers.push(unsigned)
  await unsigned.unary(ReeveServiceService.ping, { text: 'hi' }).catch(() => undefined)
  const signed = createPeerClient(w.addr, { tls, key: KEY })
  w.closers.push(signed)
  t.is((await signed.unary(ReeveServiceService.ping, { text: 'ok' })).text, 'ok')
  t.is(await w.check(''), 'SERVING')
  await t.throwsAsync(w.check('no.such.Service'))
  // A Watch the client cancels after its first answer: the server never sends a status.
  await new Promise<void>((resolve) => {
    const call = w.health.Watch({ service: '' })
    call.on('data', () => call.cancel())
    call.on('error', () => resolve())
  })
  const cancelled = Date.now() + 5_000
  while (stats.get('/grpc.health.v1.Health/Watch') === undefined && Date.now() < cancelled) await new Promise((r) => setTimeout(r, 20))
  const codes = (path: string) => Object.fromEntries(stats.get(path)?.codes ?? [])
  t.deepEqual(codes('/crux.v1.ReeveService/Ping'), { UNAUTHENTICATED: 1, OK: 1 })
  t.deepEqual(codes('/grpc.health.v1.Health/Check'), { OK: 1, NOT_FOUND: 1 })
  t.deepEqual(codes('/grpc.health.v1.Health/Watch'), { CANCELLED: 1 })
  const ping = stats.get('/crux.v1.ReeveService/Ping')!
  t.is(ping.service, 'crux.v1.ReeveService')
  t.is(ping.method, 'Ping')
  t.is(ping.latency.count, 2)
  t.true(ping.latency.sum > 0 && ping.latency.sum < 5, `latency sum ${ping.latency.sum} s`)
})
