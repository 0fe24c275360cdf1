import test from 'ava'
import type { HostEvent } from '../../machines/effects.js'
import { createActorHost } from '../../runtime/host.js'
import { createRouter, type RoadPort } from '../../runtime/router.js'
import { createSimGrpcRoad, SimGrpcNetwork } from '../../runtime/sim-grpc.js'
import { SimNetwork } from '../../runtime/sim-network.js'
import { createTransportBridge, jsonCodec } from '../../runtime/transport-bridge.js'
import { echoMachines, echoRoutes } from '../fixtures/echo-road.js'

function fixture() {
  const seen: string[] = []
  const grpc: RoadPort = {
    call: (hp, name, e, from) => void seen.push(`grpc ${hp} ${name} ${e.type} ${from}`),
    reply: (id, e) => void seen.push(`reply ${id} ${e.type}`),
  }
  const router = createRouter({ udp: (to, e, from) => void seen.push(`udp ${to} ${e.type} ${from}`), grpc, ports: { health: (e, from) => void seen.push(`port health ${e.type} ${from}`) } })
  return { seen, router }
}

const ev: HostEvent = { type: 'x.y' }

test('each address kind goes to its carrier', (t) => {
  const { seen, router } = fixture()
  router.outbound('10.0.0.1:7000', ev, 'n/flock', 'data', undefined)
  router.outbound('grpc://[::1]:5/steward', ev, 'n/reeve', 'data', undefined)
  router.outbound('reply:4', ev, 'n/steward', 'data', undefined)
  router.outbound('port:health', ev, 'n/reeve', 'data', undefined)
  t.deepEqual(seen, ['udp 10.0.0.1:7000 x.y n/flock', 'grpc [::1]:5 steward x.y n/reeve', 'reply 4 x.y', 'port health x.y n/reeve'])
  t.like(router.counters, { udp: 1, grpc: 1, reply: 1, port: 1, dropped: {} })
})

test('what cannot go anywhere is dropped and counted by reason, never thrown', (t) => {
  const { seen, router } = fixture()
  router.outbound('nonsense', ev, 'n/a', 'data', undefined)
  router.outbound('grpc://x/steward', ev, 'n/a', 'data', undefined)
  router.outbound('other/actor', ev, 'n/a', 'data', undefined)
  router.outbound('port:nope', ev, 'n/a', 'data', undefined)
  router.port('boom', () => {
    throw new Error('boom')
  })
  router.outbound('port:boom', ev, 'n/a', 'data', undefined)
  t.deepEqual(seen, [])
  t.deepEqual(router.counters.dropped, { unparseable: 2, 'no-actor': 1, 'no-port': 1, 'port-failed': 1 })
  const bare = createRouter({})
  bare.outbound('1.2.3.4:5', ev, 'n/a', 'data', undefined)
  bare.outbound('grpc://1.2.3.4:5/x', ev, 'n/a', 'data', undefined)
  bare.outbound('reply:1', ev, 'n/a', 'data', undefined)
  t.deepEqual(bare.counters.dropped, { 'no-udp': 1, 'no-grpc': 2 })
})

test('one host, one router: a datagram to HOST:PORT and a call to grpc:// leave by their own roads', async (t) => {
  const net = new SimNetwork({ seed: 3 })
  const network = new SimGrpcNetwork(net, { seed: 3 })
  const clock = net.clockFor('10.0.0.1:7000')
  const bridgeB = createTransportBridge({ transport: net.endpoint('10.0.0.2:7000') }, { codec: jsonCodec, route: () => ({ actor: 'b/asker', cls: 'data' }) })
  const roads = (['a', 'b'] as const).map((n, i) => createSimGrpcRoad({ clock, network }, { node: n, routes: echoRoutes({ unaryDeadlineMs: 1_000, serverDeadlineMs: 500 }), self: `10.0.0.${i + 1}:50051`, netAddress: `10.0.0.${i + 1}:7000` }))
  const bridgeA = createTransportBridge({ transport: net.endpoint('10.0.0.1:7000') }, { codec: jsonCodec, route: () => undefined })
  const routerA = createRouter({ udp: bridgeA.outbound, grpc: roads[0] })
  const a = createActorHost({ clock, machines: echoMachines, outbound: routerA.outbound }, { node: 'a' })
  const b = createActorHost({ clock, machines: echoMachines, outbound: createRouter({ grpc: roads[1] }).outbound }, { node: 'b' })
  roads[0]!.attach(a)
  roads[1]!.attach(b)
  bridgeB.attach(b)
  a.spawn('a/asker', 'asker')
  b.spawn('b/echo', 'echo')
  b.spawn('b/asker', 'asker')
  a.send('a/asker', { type: 'ask', to: '10.0.0.2:7000', request: { type: 'hello' } }, 'control')
  a.send('a/asker', { type: 'ask', to: 'grpc://10.0.0.2:50051/echo', request: { type: 'echo.say', text: 'hi' } }, 'control')
  for (let i = 0; i < 1000 && net.clock.step(); i++) {
    /* run the virtual clock dry */
  }
  t.like(routerA.counters, { udp: 1, grpc: 1 })
  t.like((b.state('b/asker').context as { got: HostEvent[] }).got, [{ type: 'hello', id: 1, from: '10.0.0.1:7000' }])
  t.like((a.state('a/asker').context as { got: HostEvent[] }).got, [{ type: 'echo.said', id: 2, text: 'hi' }])
})
