/**
 * A TCP proxy between a client and a server (127.77.181.x) that flips one byte of the call: of the
 * server's answer, or of the client's request. The answer carries a long known text, so the flipped
 * byte is one of its bytes whenever they travel in the clear (the proxy looks for them); over the
 * flock's TLS they never show, and the byte flipped is one in the middle of the answer's record.
 * Either way the call must fail: never a forged answer, never a forged request served.
 */
import * as grpc from '@grpc/grpc-js'
import test from 'ava'
import { ReeveServiceService, type ReeveServicePingRequest } from '../../protos/gen/crux/v1/reeve.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { createSecureServer } from '../../runtime/grpc-server.js'
import { issuePeerTls } from '../../runtime/grpc-tls.js'
import { createPeerClient } from '../../runtime/peer-client.js'
import { tcpProxy } from '../fixtures/tcp-proxy.js'

const SECRET = new Uint8Array(32).fill(21)
const pair = () => ((sk) => ({ secretKey: sk, publicKey: ed25519PublicKey(sk) }))(randomEd25519SecretKey())
const KEY = '/Reeve1_0/n1/keys/x'
// Longer than any handshake message here: only a chunk carrying the call itself is this big.
const TEXT = 'genuine '.repeat(600)
const BIG = TEXT.length

/**
 * A proxy to `target` that flips one byte of the first chunk of `direction` at least BIG bytes long:
 * a byte of TEXT if the chunk shows it, else the middle one.
 */
async function flippingProxy(t: import('ava').ExecutionContext, host: string, target: string, direction: 'answer' | 'request') {
  let flipped = 0
  const flip = (chunk: Buffer): Buffer => {
    if (flipped > 0 || chunk.length < BIG) return chunk
    flipped++
    const at = chunk.indexOf('genuine')
    const i = at >= 0 ? at + 3 : chunk.length >> 1
    const out = Buffer.from(chunk)
    out[i] = out[i]! ^ 0x01
    return out
  }
  const address = await tcpProxy(t, host, target, direction === 'request' ? { request: flip } : { answer: flip })
  return { address, flipped: () => flipped }
}

async function world(t: import('ava').ExecutionContext, host: string) {
  const client = pair()
  const tls = issuePeerTls(SECRET, client)
  const seen: string[] = []
  const s = createSecureServer({ host, port: 0, tls: issuePeerTls(SECRET, pair()), lookup: () => client.publicKey })
  s.addService(ReeveServiceService, {
    ping: (call: grpc.ServerUnaryCall<ReeveServicePingRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      seen.push(call.request.text)
      cb(null, { text: TEXT, nodeId: '', steward: '', term: 0 })
    },
  })
  const addr = await s.start()
  t.teardown(() => s.close())
  const call = async (via: string, text: string) => {
    const c = createPeerClient(via, { tls, key: KEY, timeoutMs: 5_000 })
    try {
      return await c.unary(ReeveServiceService.ping, { text }).then((r) => ({ text: r.text }), (err: Error) => ({ error: err.message }))
    } finally {
      c.close()
    }
  }
  return { addr, call, seen }
}

test('one byte of the answer flipped on the way: the call fails, it never returns a forged answer', async (t) => {
  const w = await world(t, '127.77.181.1')
  t.deepEqual(await w.call(w.addr, 'direct'), { text: TEXT }, 'served without the proxy')
  const proxy = await flippingProxy(t, '127.77.181.1', w.addr, 'answer')
  const r = await w.call(proxy.address, 'via the proxy')
  t.is(proxy.flipped(), 1, 'a byte was flipped')
  t.true('error' in r, `no answer: ${JSON.stringify(r).slice(0, 80)}`)
})

test('one byte of the request flipped on the way: the call fails, and the server never serves an altered request', async (t) => {
  const w = await world(t, '127.77.181.2')
  const proxy = await flippingProxy(t, '127.77.181.2', w.addr, 'request')
  const r = await w.call(proxy.address, TEXT)
  t.is(proxy.flipped(), 1, 'a byte was flipped')
  t.true('error' in r)
  t.true(w.seen.every((text) => text === TEXT), 'what the server saw is what was sent, if anything')
})
