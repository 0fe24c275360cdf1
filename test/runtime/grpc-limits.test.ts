/**
 * The gRPC server's bounds in one process on a real server (127.77.46.x): an idle connection is
 * closed, and unfinished requests past the per-connection byte budget are reset while the connection
 * and the server go on serving. The real-process figures are test/integration/grpc-bounds.test.ts'.
 */
import * as grpc from '@grpc/grpc-js'
import test from 'ava'
import { connect } from 'node:http2'
import { ReeveServiceService } from '../../protos/gen/crux/v1/reeve.js'
import { createSecureServer, type SecureServerInit } from '../../runtime/grpc-server.js'
import { stallStreams } from '../fixtures/grpc-stall.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { issuePeerTls } from '../../runtime/grpc-tls.js'

const SECRET = new Uint8Array(32).fill(3)
const ID = ((sk) => ({ secretKey: sk, publicKey: ed25519PublicKey(sk) }))(randomEd25519SecretKey())

async function server(t: import('ava').ExecutionContext, host: string, limits: SecureServerInit['limits']) {
  const s = createSecureServer({ host, port: 0, tls: issuePeerTls(SECRET, ID), lookup: () => undefined, limits })
  s.addService(ReeveServiceService, { ping: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: '', nodeId: '', steward: '', term: 0 }) }, { open: true })
  const addr = await s.start()
  t.teardown(() => s.close())
  return { s, addr }
}

/** A health check answered on a new plaintext connection (the server is serving). */
const pingOk = (addr: string) =>
  new Promise<boolean>((resolve) => {
    const c = new grpc.Client(addr, grpc.credentials.createInsecure())
    c.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 5_000 }, (err) => {
      c.close()
      resolve(err === null)
    })
  })

test('a connection with no call open is closed after idleMs', async (t) => {
  const { addr } = await server(t, '127.77.46.1', { idleMs: 300 })
  const session = connect(`http://${addr}`)
  t.teardown(() => session.destroy())
  session.on('error', () => {})
  const started = Date.now()
  const closed = new Promise<number>((resolve) => session.once('close', () => resolve(Date.now() - started)))
  const guard = new Promise<number>((resolve) => setTimeout(() => resolve(-1), 20_000).unref())
  const ms = await Promise.race([closed, guard])
  t.true(ms >= 0, 'closed within the hang guard')
})

test('unfinished requests past the per-connection budget are reset; the server keeps serving', async (t) => {
  const { s, addr } = await server(t, '127.77.46.2', { maxPendingBytesPerConnection: 256 * 1024, maxMessageBytes: 128 * 1024 })
  // Ten streams of 127 KiB each: the third takes the connection past 256 KiB.
  const stall = await stallStreams(addr, 10, 128 * 1024 - 64, 20_000)
  t.teardown(() => stall.session.destroy())
  t.true(s.limitCounters.resetStreams >= 8, `${s.limitCounters.resetStreams} reset`)
  t.true(await pingOk(addr))
})
