/**
 * runService and connect against ONE real in-process fulcrum on 127.77.81.1 (it leads itself, runs
 * its steward, and its reeve's catalog shows what registers there). Each test uses its own service
 * names, so the tests share the node side by side. Every wait polls with a generous bound.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { startFulcrum, type Fulcrum } from '../../../actors/fulcrum/fulcrum.js'
import { createReeveClient, type ReeveClient } from '../../../actors/strew/client.js'
import { catalogOf, connect } from '../../../actors/strew/connect.js'
import { runService, type RunServiceInit, type ServiceFn } from '../../../actors/strew/service.js'
import type { CatalogEndpoint } from '../../../machines/steward/types.js'
import { Code, CruxError } from '../../../runtime/errors.js'
import { loadPeerTls } from '../../../runtime/grpc-tls.js'
import { parseProbeSpecs } from '../../../actors/flock/probe-spec.js'
import { generateSecret } from '../../../runtime/secret.js'

const HOST = '127.77.81.1'
const HB = 200
const TTL = 1_000
const BOUND = 20_000
let dir: string
let fulcrum: Fulcrum
let reeve: ReeveClient

/** Polls `cond` every 50 ms; the value it returns once truthy, or a failure naming `what` after `bound` ms. */
async function until<T>(cond: () => Promise<T | undefined | false>, what: string, bound = BOUND): Promise<T> {
  const deadline = Date.now() + bound
  for (;;) {
    const v = await cond()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${bound} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
/** Every NodeID the tests registered: the node is stopped only once all are gone from its catalog. */
const registered: string[] = []
const run = async (init: RunServiceInit) => {
  const svc = await runService({ reeve }, init)
  registered.push(...svc.nodeIds)
  return svc
}
const states = async (ids: readonly string[]) => {
  const all = new Map((await reeve.catalog()).endpoints.map((e) => [e.nodeId, e] as const))
  return ids.map((id) => all.get(id)?.state ?? 'absent')
}
const allAre = (ids: readonly string[], s: string) => async () => (await states(ids)).every((x) => x === s)
/** A service that beats every `everyMs` while `beat()` says so, until quit (which also cuts its wait short). */
const beatingUntilQuit = (everyMs: number, beat: () => boolean = () => true): ServiceFn => async (quit, alive) => {
  while (!quit.aborted) {
    if (beat()) await alive()
    await new Promise<void>((r) => {
      const cut = () => r(clearTimeout(timer))
      const timer = setTimeout(() => r(quit.removeEventListener('abort', cut)), everyMs)
      quit.addEventListener('abort', cut, { once: true })
    })
  }
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crux-strew-service-'))
  const secret = new Uint8Array(Buffer.from(generateSecret(), 'base64'))
  const probe = parseProbeSpecs([`${HOST}:23123`], 23123)
  fulcrum = await startFulcrum({ host: HOST, port: 23123, dataDir: dir, probe, secret, hbMs: HB, logLevel: 'silent', grpc: { host: HOST, port: 0 } })
  reeve = createReeveClient({ address: fulcrum.strew!.address, tls: loadPeerTls(dir) })
  await until(async () => fulcrum.strew!.following() !== null, 'the reeve to follow its own steward')
})

test.after.always(async () => {
  reeve?.close()
  await fulcrum?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('runService registers every point, and the catalog shows them up', async (t) => {
  const points = [
    { service: 'Reg', api: 'Reg1', instance: 'reg1_0', address: `${HOST}:4001` },
    { service: 'Reg', api: 'RegAdmin1', address: `${HOST}:4002` },
  ]
  const svc = await run({ points, ttlMs: 10_000, fn: beatingUntilQuit(1_000) })
  t.teardown(() => svc.stop())
  await until(allAre(svc.nodeIds, 'up'), 'both points up')
  const byId = new Map((await reeve.catalog()).endpoints.map((e) => [e.nodeId, e] as const))
  t.is(byId.get(svc.nodeIds[0]!)?.instance, 'reg1_0')
  t.is(byId.get(svc.nodeIds[1]!)?.address, `${HOST}:4002`)
})

test('alive() keeps the points up past their TTL', async (t) => {
  // fn hands out its alive() and the test beats at every look: a beat paced by a sleep inside fn
  // could come late on a loaded machine (this process also runs the fulcrum) and let the TTL run out.
  let alive: (() => Promise<void>) | undefined
  const fn: ServiceFn = (quit, a) => new Promise((resolve) => ((alive = a), quit.addEventListener('abort', () => resolve(), { once: true })))
  const svc = await run({ points: [{ service: 'Keep', api: 'Keep1', address: `${HOST}:4011` }], ttlMs: TTL, fn })
  t.teardown(() => svc.stop())
  await until(async () => (await alive?.(), await allAre(svc.nodeIds, 'up')()), 'the point up')
  const upSince = Date.now()
  // Watch for two TTLs, beating at every look: every look must find it up.
  await until(async () => {
    await alive!()
    t.deepEqual(await states(svc.nodeIds), ['up'])
    return Date.now() - upSince > 2 * TTL
  }, 'two TTLs to pass')
})

test('when fn stops calling alive(), its points go down, not before the TTL', async (t) => {
  let beating = true
  let lastBeat = 0
  const svc = await run({
    points: [{ service: 'Lapse', api: 'Lapse1', address: `${HOST}:4021` }, { service: 'Lapse', api: 'LapseAdmin1', address: `${HOST}:4022` }],
    ttlMs: TTL,
    fn: beatingUntilQuit(TTL / 5, () => beating && (lastBeat = Date.now()) > 0),
  })
  t.teardown(() => svc.stop())
  await until(allAre(svc.nodeIds, 'up'), 'both points up')
  beating = false
  await until(allAre(svc.nodeIds, 'down'), 'both points down')
  // The wait's BOUND is a hang guard. How soon after the TTL is no figure for a test: exactly at it
  // on the heartbeater's clock is test/machines/heartbeater-machine.test.ts, and the overshoot
  // through the reeve is `npm run bench -- strew` (lease_overshoot_*).
  const after = Date.now() - lastBeat
  t.true(after >= TTL, `down ${after} ms after the last beat began, before its ${TTL} ms TTL`)
})

test('stop() ends fn through quit and deregisters every point', async (t) => {
  let sawQuit = false
  const svc = await run({
    points: [{ service: 'Stop', api: 'Stop1', address: `${HOST}:4031` }, { service: 'Stop', api: 'StopAdmin1', address: `${HOST}:4032` }],
    ttlMs: 10_000,
    fn: (quit) => new Promise((resolve) => quit.addEventListener('abort', () => resolve(void (sawQuit = true)))),
  })
  await until(allAre(svc.nodeIds, 'up'), 'both points up')
  await svc.stop()
  t.true(sawQuit)
  await until(allAre(svc.nodeIds, 'absent'), 'both points gone from the catalog')
  t.pass()
})

test('fn returning on its own deregisters its points; done resolves', async (t) => {
  let finish = () => {}
  const svc = await run({ points: [{ service: 'Ret', api: 'Ret1', address: `${HOST}:4041` }], ttlMs: 10_000, fn: () => new Promise<void>((r) => (finish = r)) })
  await until(allAre(svc.nodeIds, 'up'), 'the point up')
  finish()
  await svc.done
  await until(allAre(svc.nodeIds, 'absent'), 'the point gone from the catalog')
  t.pass()
})

test('a point the reeve refuses: runService rejects with the reeve\'s code and a message naming the point', async (t) => {
  const fn: ServiceFn = async () => {}
  const err = await t.throwsAsync(runService({ reeve }, { points: [{ service: 'Bad', api: 'lower1', address: `${HOST}:4051` }], ttlMs: TTL, fn }), { instanceOf: CruxError })
  t.is(err?.code, Code.INVALID_ARGUMENT)
  t.regex(err!.message, /^cannot register Bad\/lower1 at 127\.77\.81\.1:4051: reeve .*NodeID api "lower1"/)
})

test('connect() by selector through the reeve\'s catalog reaches the service\'s address', async (t) => {
  const accepted: Socket[] = []
  const server = createServer((s) => void accepted.push(s.end('galumph\n')))
  await new Promise<void>((r) => server.listen(0, HOST, r))
  const address = `${HOST}:${(server.address() as AddressInfo).port}`
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const svc = await run({
    points: [{ service: 'Galumph', api: 'Galumph2', instance: 'galumph2_3', address }, { service: 'GalumphOld', api: 'Galumph2', instance: 'galumph2_1', address: `${HOST}:1` }],
    ttlMs: 10_000,
    fn: beatingUntilQuit(1_000),
  })
  t.teardown(() => svc.stop())
  await until(allAre(svc.nodeIds, 'up'), 'both instances up')
  const dial = (e: CatalogEndpoint) =>
    new Promise<{ socket: Socket; greeting: Promise<string> }>((resolve, reject) => {
      const [host, port] = [e.address.slice(0, e.address.lastIndexOf(':')), Number(e.address.slice(e.address.lastIndexOf(':') + 1))]
      const socket = tcpConnect({ host, port }, () => resolve({ socket, greeting: new Promise((r) => socket.once('data', (d) => r(String(d)))) })).once('error', reject)
    })
  const c = await connect({ catalog: catalogOf(reeve) }, { selector: 'Galumph2/galumph2_*', dial, close: ({ socket }) => void socket.destroy() })
  t.teardown(() => c.close())
  t.is(c.endpoint.address, address)
  t.is(c.endpoint.nodeId, svc.nodeIds[0])
  t.is(await c.conn.greeting, 'galumph\n')
  t.is(accepted.length, 1)
})

test('registered again without a TTL, a service is no longer kept by its old heartbeats', async (t) => {
  const id = await reeve.register({ service: 'Reborn', api: 'Api1', address: `${HOST}:9`, ttlMs: 500 })
  await reeve.register({ service: 'Reborn', api: 'Api1', address: `${HOST}:9` })
  registered.push(id)
  // The heartbeater no longer watches it, so nothing can mark it down (no sleep needed to see that).
  const watched = () => (fulcrum.flock.host.state(fulcrum.strew!.actors.heartbeater).context as { services: Record<string, unknown> }).services['Reborn/Api1']
  await until(async () => watched() === undefined, 'the heartbeater to stop watching Reborn/Api1')
  await until(allAre([id], 'up'), 'Reborn up in the catalog')
  t.pass()
  await reeve.deregister(id)
})
