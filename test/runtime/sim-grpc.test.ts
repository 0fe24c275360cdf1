/**
 * The gRPC road on the simulated network: the compliance suite on a virtual clock, then what only
 * the simulator has: faults (loss as latency, dead and partitioned targets) and determinism.
 */
import test from 'ava'
import { grpcAddress } from '../../runtime/address.js'
import { createActorHost } from '../../runtime/host.js'
import { createMetrics } from '../../runtime/metrics.js'
import { registerRoadMetrics } from '../../runtime/road-metrics.js'
import { MemorySink, Recorder } from '../../runtime/recorder.js'
import { createRouter } from '../../runtime/router.js'
import { createSimGrpcRoad, SimGrpcNetwork } from '../../runtime/sim-grpc.js'
import { SimNetwork, type Faults } from '../../runtime/sim-network.js'
import type { HostEvent } from '../../machines/effects.js'
import type { RouteTable } from '../../runtime/road-routes.js'
import { echoMachines, echoRoutes } from '../fixtures/echo-road.js'
import { roadCompliance, type RoadNode, type RoadWorld, type WorldOptions } from './grpc-road-compliance.js'

const versions = Object.fromEntries(echoMachines.map((m) => [m.name, m.version]))
const NET = { a: '10.0.0.1:7000', b: '10.0.0.2:7000' }
const GRPC = { a: '10.0.0.1:50051', b: '10.0.0.2:50051' }

function simWorld(o: WorldOptions, seed = 1, faults: Partial<Faults> = {}, tweak: (r: RouteTable) => RouteTable = (r) => r): RoadWorld & { net: SimNetwork } {
  const net = new SimNetwork({ seed, faults })
  const network = new SimGrpcNetwork(net, { seed })
  const node = (name: 'a' | 'b'): RoadNode => {
    const clock = net.clockFor(NET[name])
    const routes = tweak(echoRoutes(o))
    const road = createSimGrpcRoad({ clock, network }, { node: name, routes, self: GRPC[name], netAddress: NET[name], caller: `key-${name}`, selfCaller: `key-${name}`, ...(o.maxPending === undefined ? {} : { maxPending: o.maxPending }) })
    const router = createRouter({ grpc: road })
    const sink = new MemorySink()
    const host = createActorHost({ clock, machines: echoMachines, outbound: router.outbound, recorder: new Recorder(sink, { node: name, machines: versions }) }, { node: name })
    road.attach(host)
    host.spawn(`${name}/echo`, 'echo')
    host.spawn(`${name}/asker`, 'asker')
    return { name, host, road, router, grpc: GRPC[name], sink }
  }
  const a = node('a')
  const b = node('b')
  return {
    a,
    b,
    net,
    callerOfA: 'key-a',
    until: (done, ms) => {
      const end = net.clock.now() + ms
      while (!done() && net.clock.now() <= end && net.clock.step()) {
        /* one timer at a time */
      }
      return Promise.resolve()
    },
  }
}

roadCompliance('sim', (_t, o) => Promise.resolve(simWorld(o)))

const got = (w: RoadWorld): HostEvent[] => (w.a.host.state('a/asker').context as { got: HostEvent[] }).got
const ask = (w: RoadWorld, request: HostEvent, to = grpcAddress(GRPC.b, 'echo')) => w.a.host.send('a/asker', { type: 'ask', to, request }, 'control')
const opts: WorldOptions = { unaryDeadlineMs: 2_000, serverDeadlineMs: 1_500 }

test('sim: on a lossy link every call is still answered, later (loss is latency, not a lost message)', async (t) => {
  // Deadlines far above the retransmissions: what is measured is that nothing is lost, only late.
  const patient = { unaryDeadlineMs: 60_000, serverDeadlineMs: 50_000 }
  const clean = simWorld(patient, 5, { delay: [5, 15] })
  const lossy = simWorld(patient, 5, { delay: [5, 15], loss: 0.3 })
  for (const w of [clean, lossy]) {
    for (let i = 0; i < 20; i++) ask(w, { type: 'echo.say', text: `m${i}` })
    await w.until(() => got(w).length === 20, 60_000)
  }
  t.deepEqual(got(lossy).filter((e) => e.type !== 'echo.said'), [])
  t.is(got(lossy).length, 20)
  t.true(lossy.net.clock.now() > clean.net.clock.now() + 150, `lossy ${lossy.net.clock.now()} vs clean ${clean.net.clock.now()}`)
})

test('sim: a dead target fails UNAVAILABLE and a partitioned one DEADLINE_EXCEEDED, both at the deadline', async (t) => {
  const dead = simWorld(opts)
  dead.net.crash(NET.b)
  ask(dead, { type: 'echo.say', text: 'x' })
  const t0 = dead.net.clock.now()
  await dead.until(() => got(dead).length > 0, 5_000)
  t.like(got(dead)[0], { type: 'call.failed', code: 'UNAVAILABLE' })
  t.true(dead.net.clock.now() - t0 >= 2_000)

  const cut = simWorld(opts)
  cut.net.partition([[NET.a], [NET.b]])
  ask(cut, { type: 'echo.say', text: 'x' })
  await cut.until(() => got(cut).length > 0, 5_000)
  t.like(got(cut)[0], { type: 'call.failed', code: 'DEADLINE_EXCEEDED' })
})

test('sim: a quiet stream whose client dies is dropped by the server within a keepalive period', async (t) => {
  const w = simWorld(opts)
  ask(w, { type: 'echo.count', n: -1 })
  const watchers = () => (w.b.host.state('b/echo').context as { watchers: unknown[] }).watchers
  await w.until(() => watchers().length === 1, 1_000)
  t.is(w.b.road.pending, 1)
  w.net.crash(NET.a)
  const t0 = w.net.clock.now()
  await w.until(() => watchers().length === 0, 30_000)
  t.is(w.b.road.pending, 0)
  t.is(w.b.road.counters.cancelled, 1)
  t.true(w.net.clock.now() - t0 <= 10_000)
  t.deepEqual(watchers(), [])
})

test('sim: the same seed gives the same delivery order', async (t) => {
  const run = async () => {
    const w = simWorld(opts, 42, { delay: [1, 30], loss: 0.2 })
    const order: string[] = []
    w.a.host.onStep((s) => order.push(`${s.actor}:${s.event.type}:${String(s.event.id)}`))
    w.b.host.onStep((s) => order.push(`${s.actor}:${s.event.type}:${String(s.event.id)}`))
    for (let i = 0; i < 10; i++) ask(w, i % 3 === 0 ? { type: 'echo.count', n: 2 } : { type: 'echo.say', text: `m${i}` })
    await w.until(() => got(w).filter((e) => e.type !== 'echo.tick').length === 10, 60_000)
    return order
  }
  const one = await run()
  t.deepEqual(await run(), one)
  t.true(one.length > 20)
})

test('sim: the road and router counters appear on /metrics, unrouted sends among the drops', async (t) => {
  const w = simWorld(opts)
  const metrics = createMetrics({ labels: { node: 'a' } })
  registerRoadMetrics(metrics, w.a.road, w.a.router)
  ask(w, { type: 'echo.say', text: 'refuse' })
  ask(w, { type: 'no.such.route' })
  ask(w, { type: 'echo.say', text: 'x' }, 'not an address')
  await w.until(() => got(w).length === 1, 3_000)
  const text = await metrics.text()
  t.regex(text, /crux_road_calls_failed_total\{code="PERMISSION_DENIED",node="a"\} 1/)
  t.regex(text, /crux_road_dropped_total\{reason="unrouted",node="a"\} 1/)
  t.regex(text, /crux_router_dropped_total\{reason="unparseable",node="a"\} 1/)
  t.regex(text, /crux_road_calls_sent_total\{node="a"\} 1/)
})

test('sim: an answer the client cannot decode is call.failed INTERNAL; one the server cannot encode is INTERNAL too', async (t) => {
  // The server's Say answers with an id that is not a number (the client's codec refuses it); its Count's response() throws.
  const w = simWorld(opts, 1, {}, (r) => {
    const svc = r.inbound[0]!
    const say = svc.methods.Say!
    const count = svc.methods.Count!
    return { ...r, inbound: [{ ...svc, methods: { ...svc.methods, Say: { ...say, response: (a: HostEvent) => ({ id: String(a.id), text: a.text, caller: a.caller }) }, Count: { ...count, response: () => { throw new Error('no') } } } }] }
  })
  ask(w, { type: 'echo.say', text: 'x' })
  ask(w, { type: 'echo.count', n: 1 })
  await w.until(() => got(w).length === 2, 3_000)
  t.deepEqual(got(w).map((e) => [e.type, e.id, e.code]).sort(), [['call.failed', 1, 'INTERNAL'], ['call.failed', 2, 'INTERNAL']])
  t.is(w.b.road.counters.dropped.unanswerable, 1)
  t.is(w.b.road.pending, 0)
})

test('sim: a stream, looped or called, is forgotten once it ends: a later call.cancel for it is dropped as unrouted', async (t) => {
  const w = simWorld(opts)
  ask(w, { type: 'echo.count', n: 1 }, grpcAddress(GRPC.a, 'echo'))
  ask(w, { type: 'echo.count', n: 1 })
  await w.until(() => got(w).filter((e) => e.type === 'echo.done').length === 2, 3_000)
  for (const id of [1, 2]) w.a.host.send('a/asker', { type: 'cancel', to: grpcAddress(id === 1 ? GRPC.a : GRPC.b, 'echo'), id }, 'control')
  await w.until(() => false, 100)
  t.is(w.a.road.counters.dropped.unrouted, 2)
  t.is(w.a.road.counters.looped, 1)
})
