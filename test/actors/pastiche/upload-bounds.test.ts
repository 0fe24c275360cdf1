/**
 * An upload is a client stream that is never whole until it ends: the server's bound on unfinished
 * request bytes (runtime/grpc-limits.ts) counts only its unfinished message, so a long upload passes
 * a small bound while a stream that stops inside a message is still reset. On 127.78.66.1.
 */
import test from 'ava'
import { connect, constants } from 'node:http2'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { callerKeyId, createPasticheClient } from '../../../actors/pastiche/client.js'
import { startPastiche } from '../../../actors/pastiche/pastiche.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../../runtime/ed25519.js'
import { createSecureServer } from '../../../runtime/grpc-server.js'
import { CALLER_HEADER, issuePeerTls } from '../../../runtime/grpc-tls.js'
import { randomBytes } from 'node:crypto'
import { hashOfPattern, patternBytes } from '../../fixtures/pastiche-bytes.js'

test('a 6 MiB upload passes a 1.5 MiB bound on unfinished bytes; streams stopped inside their messages are reset past it', async (t) => {
  const secretKey = randomEd25519SecretKey()
  const tls = issuePeerTls(new Uint8Array(randomBytes(32)), { secretKey, publicKey: ed25519PublicKey(secretKey) })
  const dir = mkdtempSync(join(tmpdir(), 'crux-upload-bounds-'))
  const server = createSecureServer({ host: '127.78.66.1', port: 0, tls, lookup: () => undefined, limits: { maxPendingBytesPerConnection: 3 << 19, maxPendingBytes: 8 << 20 } })
  const address = await server.start()
  const pastiche = await startPastiche({ dataDir: dir, server, tls, members: () => ({}) })
  const client = createPasticheClient({ address, tls })
  t.teardown(async () => {
    client.close()
    pastiche.close()
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const total = 6 << 20
  const hash = await hashOfPattern(total, 31)
  t.deepEqual(await client.put(patternBytes(total, 31), { hash }), { hash, bytes: total, existed: false })
  t.is(server.limitCounters.resetStreams, 0)

  // By hand, three streams on one connection: a header message, then 700 KiB of a message that says
  // it is 1 MiB, and nothing more. Two fit the bound; the third takes the connection past it.
  const session = connect(`https://${address}`, { ca: tls.ca, cert: tls.cert, key: tls.key, servername: 'crux', checkServerIdentity: () => undefined, ALPNProtocols: ['h2'] })
  t.teardown(() => session.destroy())
  const frame = (len: number) => Buffer.from([0, len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff])
  const stalled = () => {
    const stream = session.request({ ':method': 'POST', ':path': '/crux.v1.PasticheService/Put', 'content-type': 'application/grpc', te: 'trailers', [CALLER_HEADER]: callerKeyId(tls) })
    stream.on('error', () => undefined)
    stream.write(Buffer.concat([frame(2), Buffer.from([0x0a, 0x00])])) // PutRequest{header: {}}
    stream.write(Buffer.concat([frame(1 << 20), Buffer.alloc(700 << 10, 1)]))
    return stream
  }
  const streams = [stalled(), stalled(), stalled()]
  const code = await new Promise<number>((resolve) => {
    for (const s of streams) s.on('close', () => resolve(s.rstCode ?? -1))
  })
  t.is(code, constants.NGHTTP2_ENHANCE_YOUR_CALM)
  t.is(server.limitCounters.resetStreams, 1)
})
