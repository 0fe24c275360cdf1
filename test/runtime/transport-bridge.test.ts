import test from 'ava'
import { VirtualClock } from '../../runtime/clock.js'
import { createActorHost, type ActorHost } from '../../runtime/host.js'
import { createMemoryNetwork } from '../../runtime/memory-transport.js'
import { MemorySink, Recorder } from '../../runtime/recorder.js'
import { replayJournal } from '../../runtime/replayer.js'
import { SimNetwork } from '../../runtime/sim-network.js'
import { createTransportBridge, jsonCodec } from '../../runtime/transport-bridge.js'
import type { Transport } from '../../runtime/transport.js'
import { fixtureMachines, rally } from '../fixtures/machines.js'

const versions = Object.fromEntries(fixtureMachines.map((m) => [m.name, m.version]))

/** A node: one host whose `rally` actor plays against a peer node's address over `transport`. */
function node(name: string, transport: Transport, peer: string, clock: VirtualClock | ReturnType<SimNetwork['clockFor']>, recorder?: Recorder) {
  const bridge = createTransportBridge({ transport }, { codec: jsonCodec, route: (e) => (e.type === 'ball' ? { actor: `${name}/rally`, cls: 'data' } : undefined) })
  const host = createActorHost({ clock, machines: fixtureMachines, outbound: bridge.outbound, recorder }, { node: name })
  bridge.attach(host)
  host.spawn(`${name}/rally`, rally.name, { peer })
  return { host, bridge }
}

const hits = (h: ActorHost, id: string) => (h.state(id).context as { n: number }).n

test('a rally crosses a memory network through the bridge', async (t) => {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const a = node('a', net.endpoint('a'), 'b', clock)
  const b = node('b', net.endpoint('b'), 'a', clock)
  a.host.send('a/rally', { type: 'ball', left: 9 })
  clock.runAll()
  t.is(hits(a.host, 'a/rally') + hits(b.host, 'b/rally'), 10)
  t.is(a.bridge.counters.sent + b.bridge.counters.sent, 9)
})

test('malformed and unroutable datagrams are dropped and counted, never delivered', (t) => {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const a = node('a', net.endpoint('a'), 'b', clock)
  const evil = net.endpoint('evil')
  for (const junk of ['', '{', '[1]', '{"type":5}', '\u00ff\u00fe', 'null']) evil.send('a', new TextEncoder().encode(junk))
  evil.send('a', new Uint8Array([0xc3, 0x28]))
  evil.send('a', new TextEncoder().encode('{"type":"not-a-ball"}'))
  clock.runAll()
  t.is(a.bridge.counters.malformed, 7)
  t.is(a.bridge.counters.unrouted, 1)
  t.is(a.host.counters.deliveries, 0)
})

test('the sender address comes from the transport, not the packet', (t) => {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const a = node('a', net.endpoint('a'), 'b', clock)
  const froms: unknown[] = []
  a.host.onStep((s) => froms.push(s.event.from))
  net.endpoint('mallory').send('a', new TextEncoder().encode('{"type":"ball","left":0,"from":"b"}'))
  clock.runAll()
  t.deepEqual(froms, ['mallory'])
})

test('an oversized event is counted, not thrown into the machine', (t) => {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const a = node('a', net.endpoint('a'), 'b', clock)
  a.bridge.outbound('b', { type: 'ball', pad: 'x'.repeat(2000) }, 'a/rally', 'data', undefined)
  t.is(a.bridge.counters.tooLarge, 1)
})

/** Two nodes over a faulty SimNetwork, journaled together (header node null, as the simulator will). */
function simRun(seed: number) {
  const net = new SimNetwork({ seed, faults: { loss: 0.1, duplicate: 0.1, reorder: 0.2, delay: [1, 20] } })
  net.setSkew('b', 2000)
  const sink = new MemorySink()
  const recorder = new Recorder(sink, { node: null, seed, machines: versions })
  const nodes = [node('a', net.endpoint('a'), 'b', net.clockFor('a'), recorder), node('b', net.endpoint('b'), 'a', net.clockFor('b'), recorder)]
  for (let i = 0; i < 50; i++) nodes[0]!.host.send('a/rally', { type: 'ball', left: 20 })
  net.clock.runAll()
  recorder.flush()
  return sink
}

test('same seed → byte-identical journal of two nodes over a faulty network; another seed → another', (t) => {
  const one = simRun(1).text()
  t.is(simRun(1).text(), one)
  t.not(simRun(2).text(), one)
  t.true(one.split('\n').length > 200)
})

test('the two-node journal replays without divergence, per node and together', (t) => {
  const sink = simRun(3)
  const all = replayJournal(sink.lines, { machines: fixtureMachines })
  t.is(all.diverged, false)
  t.is(all.nodes, 2)
  const onlyB = replayJournal(sink.lines, { machines: fixtureMachines, node: 'b' })
  t.is(onlyB.diverged, false)
  t.deepEqual(Object.keys(onlyB.final), ['b/rally'])
  t.true(sink.lines.some((l) => l.includes('"node":"b"') && l.includes('"t":2')))
})

test('an event the codec refuses is counted, not thrown into the host', (t) => {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const a = node('a', net.endpoint('a'), 'b', clock)
  const cyclic: Record<string, unknown> = { type: 'ball' }
  cyclic.self = cyclic
  a.bridge.outbound('b', cyclic as never, 'a/rally', 'data', undefined)
  t.is(a.bridge.counters.unencodable, 1)
})

test('one event sent to many is encoded once', (t) => {
  let encodes = 0
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const bridge = createTransportBridge(
    { transport: net.endpoint('a') },
    { codec: { encode: (e) => (encodes++, jsonCodec.encode(e)), decode: jsonCodec.decode }, route: () => undefined },
  )
  const event = { type: 'ball', left: 1 }
  for (const to of ['b', 'c', 'd']) bridge.outbound(to, event, 'a/x', 'data', undefined)
  bridge.outbound('b', { type: 'ball', left: 1 }, 'a/x', 'data', undefined)
  t.is(encodes, 2)
  t.is(bridge.counters.sent, 4)
})
