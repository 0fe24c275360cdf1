/**
 * What a captured call can do once the server restarts, on real in-process fulcrums (a flock of one:
 * leader, steward and reeve) restarted on the same data dir and ports (127.77.182.1, 127.77.183.1):
 * - the bytes of a deregister, recorded by a proxy on the way and sent again to the restarted
 *   server, remove nothing (its TLS handshake cannot be completed again);
 * - an UpdateEndpoints for the term the reeve registered with before the restart is refused by the
 *   next steward (FAILED_PRECONDITION), one for its own term taken.
 */
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFulcrum, type Fulcrum } from '../../../actors/fulcrum/fulcrum.js'
import { createReeveClient } from '../../../actors/strew/client.js'
import { ServiceState } from '../../../protos/gen/crux/v1/heartbeat.js'
import { StewardServiceService } from '../../../protos/gen/crux/v1/steward.js'
import { Code, type CruxError } from '../../../runtime/errors.js'
import { loadPeerTls } from '../../../runtime/grpc-tls.js'
import { createPeerClient } from '../../../runtime/peer-client.js'
import { parseProbeSpecs } from '../../../actors/flock/probe-spec.js'
import { tcpProxy } from '../../fixtures/tcp-proxy.js'
import { generateSecret } from '../../../runtime/secret.js'

const BOUND = 20_000

async function until<T>(cond: () => Promise<T | undefined | false> | T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + BOUND
  for (;;) {
    const v = await cond()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A fulcrum on `host` that can be stopped and started again on the same data dir and ports. */
function node(t: import('ava').ExecutionContext, host: string, grpcPort: number) {
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-channel-'))
  const secret = new Uint8Array(Buffer.from(generateSecret(), 'base64'))
  let f: Fulcrum | undefined
  t.teardown(async () => {
    await f?.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    dir,
    address: `${host}:${grpcPort}`,
    async start(): Promise<Fulcrum> {
      f = await startFulcrum({ host, port: 23123, dataDir: dir, probe: parseProbeSpecs([`${host}:23123`], 23123), secret, hbMs: 200, logLevel: 'silent', grpc: { host, port: grpcPort } })
      const started = f
      await until(() => started.strew!.following() !== null && started.strew!.stewardTerm() !== null, 'the reeve to follow its own steward')
      return started
    },
    async stop(): Promise<void> {
      await f?.stop()
      f = undefined
    },
  }
}

/** A proxy to `target` that records every byte the client sends. */
async function recordingProxy(t: import('ava').ExecutionContext, host: string, target: string) {
  const sent: Buffer[] = []
  const address = await tcpProxy(t, host, target, { request: (b) => (sent.push(Buffer.from(b)), b) })
  return { address, sent }
}

/** Sends `bytes` to `target` as they were recorded, and waits for the server to hang up (or 3 s). */
function replay(target: string, bytes: Buffer[]): Promise<void> {
  const at = target.lastIndexOf(':')
  return new Promise((resolve) => {
    const s = connect({ host: target.slice(0, at), port: Number(target.slice(at + 1)) }, () => {
      for (const b of bytes) s.write(b)
    })
    const done = () => (clearTimeout(timer), s.destroy(), resolve())
    const timer = setTimeout(done, 3_000)
    s.on('error', done).on('close', done).resume()
  })
}

test('a deregister captured on the way and sent again after the server restarts removes nothing', async (t) => {
  const n = node(t, '127.77.182.1', 50611)
  await n.start()
  const point = { service: 'Replay', api: 'Replay1', address: '127.77.182.1:4001' }
  const direct = () => createReeveClient({ address: n.address, tls: loadPeerTls(n.dir), timeoutMs: 5_000 })
  const c1 = direct()
  const id = await c1.register(point)
  c1.close()
  const proxy = await recordingProxy(t, '127.77.182.1', n.address)
  const via = createReeveClient({ address: proxy.address, tls: loadPeerTls(n.dir), timeoutMs: 5_000 })
  await via.deregister(id)
  via.close()
  t.true(proxy.sent.length > 0, 'the call was recorded')

  await n.stop()
  const again = await n.start()
  const c2 = direct()
  t.teardown(() => c2.close())
  t.is(await c2.register(point), id)
  const upAt = async () => (await c2.catalog({ endpoint: id })).endpoints.map((e) => [e.nodeId, e.state])
  await until(async () => (await upAt()).length === 1, 'the registration in the catalog')
  const failedBefore = again.strew!.server.channelCounters.handshakeFailures
  await replay(n.address, proxy.sent)
  t.true(again.strew!.server.channelCounters.handshakeFailures > failedBefore, 'the copy failed its handshake')
  await new Promise((r) => setTimeout(r, 500)) // a deregister would reach the catalog within a batch
  t.deepEqual(await upAt(), [[id, 'up']], 'still registered')
})

test('an UpdateEndpoints for the term before a restart is refused by the next steward; one for its own term is taken', async (t) => {
  const n = node(t, '127.77.183.1', 50612)
  const first = await n.start()
  const tls = loadPeerTls(n.dir)
  const s = first.strew!
  const [, bloc, horde, nodeId] = s.reeveNodeId.split('/')
  const update = (term: number, service: string) => ({
    reeve: s.reeveNodeId,
    full: false,
    upsert: [{ nodeId: `/${bloc}/${horde}/${nodeId}/${service}/${service}1`, netId: '', horde: horde!, api: `${service}1`, instance: '', address: '127.77.183.1:4002', state: ServiceState.SERVICE_STATE_UP, keyId: '', tags: [] }],
    remove: [],
    address: s.address,
    horde: horde!,
    term,
  })
  const steward = () => createPeerClient(n.address, { tls, key: s.reeveKeyId, expect: { publicKey: tls.publicKey }, timeoutMs: 5_000 })
  const before = s.stewardTerm()!
  const c1 = steward()
  t.is((await c1.unary(StewardServiceService.updateEndpoints, update(before, 'Old'))).term, before, 'taken by the steward of its term')
  c1.close()

  await n.stop()
  const next = (await n.start()).strew!
  const after = next.stewardTerm()!
  t.true(after > before)
  const c2 = steward()
  t.teardown(() => c2.close())
  const stale = await c2.unary(StewardServiceService.updateEndpoints, update(before, 'Stale')).then(() => null, (err: CruxError) => err)
  t.like(stale, { code: Code.FAILED_PRECONDITION, details: { grpc: `the update is for term ${before}; this steward's is ${after}` } })
  t.is((await c2.unary(StewardServiceService.updateEndpoints, update(after, 'Fresh'))).term, after)
})
