/**
 * The flock's route on a session transport: each datagram is decoded once, by the bridge, and the
 * route checks the packet's claimed sender against the node id the session's peer proved, and takes
 * only Confab queries from the secondary channel. Simulated network, virtual clock.
 */
import test from 'ava'
import { createFlockActor } from '../../../actors/flock/flock.actor.js'
import type { FlockWireEvent } from '../../../machines/flock/events.js'
import type { ConfabQuery } from '../../../machines/flock/types.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../../runtime/ed25519.js'
import { nodeIdOf } from '../../../runtime/node-identity.js'
import { createSealedTransport } from '../../../runtime/sealed-transport.js'
import { createSessionTransport } from '../../../runtime/session-transport.js'
import { SimNetwork } from '../../../runtime/sim-network.js'
import type { Codec } from '../../../runtime/transport-bridge.js'
import { encodeWire, wireCodec } from '../../../actors/flock/wire-codec.js'
import { info, input, node } from '../../fixtures/flock-fixtures.js'

const SECRET = new Uint8Array(32).fill(3)
const identity = () => {
  const secretKey = randomEd25519SecretKey()
  return { secretKey, publicKey: ed25519PublicKey(secretKey) }
}

/** Node `b` (a flock actor on a session transport, counting its codec's decodes) and a peer `a`. */
function world() {
  const net = new SimNetwork({ seed: 3 })
  const a = identity()
  const b = identity()
  const bId = nodeIdOf(b.publicKey)
  const bTransport = createSessionTransport({ transport: net.endpoint('b'), clock: net.clock }, { secret: SECRET, identity: b, keyId: 2, startCounter: 0 })
  let decodes = 0
  const counting: Codec<FlockWireEvent> = { encode: wireCodec.encode, decode: (bytes) => (decodes++, wireCodec.decode(bytes)) }
  const flock = createFlockActor({ transport: bTransport, clock: net.clock, codec: counting }, { node: bId, input: input({ self: { addr: 'b', id: bId } }) })
  const taken: string[] = []
  flock.host.onStep((s) => taken.push(s.event.type))
  const peer = createSessionTransport({ transport: net.endpoint('a'), clock: net.clock }, { secret: SECRET, identity: a, keyId: 1, startCounter: 0 })
  return { net, flock, bTransport, peer, aId: nodeIdOf(a.publicKey), taken, decodes: () => decodes }
}

const infoFrom = (id: string) => encodeWire({ type: 'info', info: info({ me: node(id), kind: 'probe' }) })

test('a packet that names its session peer as sender is taken; one naming another node is denied as an impostor', (t) => {
  const w = world()
  w.peer.send('b', infoFrom(w.aId))
  w.peer.send('b', infoFrom('n0123456789abcdef'))
  w.peer.send('b', encodeWire({ type: 'list.pull', pull: { flock: 'f', me: node('n0123456789abcdef'), since: 0 } }))
  w.net.clock.advance(50)
  t.is(w.bTransport.accepted(), 3)
  t.is(w.decodes(), 3, 'each datagram decoded once')
  t.deepEqual(w.flock.bridge.counters.denied, { secondary: 0, impostor: 2 })
  t.is(w.taken.filter((x) => x === 'info').length, 1)
  t.false(w.taken.includes('list.pull'))
})

test('on the secondary channel only Confab queries are taken; flock traffic is denied', (t) => {
  const w = world()
  const asker = createSealedTransport({ transport: w.net.endpoint('asker') }, { secret: SECRET, keyId: 9, startCounter: 0 })
  const query: ConfabQuery = { nonce: 1, ask: 'names', introduce: '', time: 0, target: '', page: 0, pad: 0 }
  asker.send('b', encodeWire({ type: 'info', info: info({ me: node('asker') }) }))
  asker.send('b', encodeWire({ type: 'confab.query', query }))
  w.net.clock.advance(50)
  t.is(w.decodes(), 2, 'each datagram decoded once')
  t.deepEqual(w.flock.bridge.counters.denied, { secondary: 1, impostor: 0 })
  t.true(w.taken.includes('confab.query'))
  t.false(w.taken.includes('info'))
})

test('a transport that authenticates nothing (the simulator) passes every packet to its actor', (t) => {
  const net = new SimNetwork({ seed: 4 })
  const flock = createFlockActor({ transport: net.endpoint('b'), clock: net.clock }, { node: 'b', input: input({ self: { addr: 'b', id: 'b' } }) })
  const taken: string[] = []
  flock.host.onStep((s) => taken.push(s.event.type))
  net.endpoint('x').send('b', infoFrom('anyone'))
  net.clock.advance(50)
  t.deepEqual(flock.bridge.counters.denied, { secondary: 0, impostor: 0 })
  t.true(taken.includes('info'))
})
