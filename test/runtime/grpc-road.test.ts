/**
 * The gRPC road on grpc-js, on loopback (127.77.210.x): the compliance suite over the flock's mutual
 * TLS (runtime/peer-client.ts) to a SecureServer, plus what only the real edge has.
 */
import test from 'ava'
import { RealClock } from '../../runtime/clock.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { createGrpcRoad, type RoadClient } from '../../runtime/grpc-road.js'
import { createSecureServer } from '../../runtime/grpc-server.js'
import { createActorHost } from '../../runtime/host.js'
import { MemorySink, Recorder } from '../../runtime/recorder.js'
import { createRouter } from '../../runtime/router.js'
import { issuePeerTls } from '../../runtime/grpc-tls.js'
import { createPeerClient, type PeerClient } from '../../runtime/peer-client.js'
import { echoMachines, echoRoutes } from '../fixtures/echo-road.js'
import { roadCompliance, type RoadNode, type WorldMaker } from './grpc-road-compliance.js'

const versions = Object.fromEntries(echoMachines.map((m) => [m.name, m.version]))
const keys = { a: '/Road1_0/a/keys/01', b: '/Road1_0/b/keys/02' }
const secret = randomEd25519SecretKey()
const tls = issuePeerTls(new Uint8Array(32).fill(7), { secretKey: secret, publicKey: ed25519PublicKey(secret) })
let nextHost = 1

const makeWorld: WorldMaker = async (t, o) => {
  const clock = new RealClock()
  const ip = `127.77.210.${nextHost++}`
  const lookup = (k: string) => (k === keys.a || k === keys.b ? ed25519PublicKey(secret) : undefined)
  const clients: PeerClient[] = []
  const closers: Array<() => Promise<void> | void> = []
  const node = async (name: 'a' | 'b'): Promise<RoadNode> => {
    const server = createSecureServer({ host: ip, port: 0, tls, lookup })
    const cache = new Map<string, RoadClient>()
    const clientFor = (hp: string): RoadClient => {
      let c = cache.get(hp)
      if (c === undefined) {
        const s = createPeerClient(hp, { tls, key: keys[name] })
        clients.push(s)
        cache.set(hp, (c = s))
      }
      return c
    }
    const routes = echoRoutes(o)
    const road = createGrpcRoad({ clock, clientFor, server }, { node: name, routes, selfCaller: keys[name], ...(o.maxPending === undefined ? {} : { maxPending: o.maxPending }) })
    const router = createRouter({ grpc: road })
    const sink = new MemorySink()
    const host = createActorHost({ clock, machines: echoMachines, outbound: router.outbound, recorder: new Recorder(sink, { node: name, machines: versions }) }, { node: name })
    road.attach(host)
    road.self = await server.start()
    host.spawn(`${name}/echo`, 'echo')
    host.spawn(`${name}/asker`, 'asker')
    closers.push(() => host.close(), () => server.close())
    return { name, host, road, router, grpc: road.self, sink }
  }
  const a = await node('a')
  const b = await node('b')
  t.teardown(async () => {
    for (const c of clients) c.close()
    for (const c of closers) await c()
    clock.cancelAll()
  })
  return {
    a,
    b,
    callerOfA: keys.a,
    until: async (done, ms) => {
      const end = Date.now() + ms
      while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 5))
    },
  }
}

roadCompliance('grpc', makeWorld)

test('grpc: a call to an address where nothing listens fails UNAVAILABLE into the sender mailbox', async (t) => {
  const w = await makeWorld(t, { unaryDeadlineMs: 2_000, serverDeadlineMs: 300 })
  w.a.host.send('a/asker', { type: 'ask', to: 'grpc://127.77.219.254:9/echo', request: { type: 'echo.say', text: 'x' } }, 'control')
  await w.until(() => (w.a.host.state('a/asker').context as { got: unknown[] }).got.length > 0, 3_000)
  t.like((w.a.host.state('a/asker').context as { got: unknown[] }).got[0], { type: 'call.failed', code: 'UNAVAILABLE' })
})
