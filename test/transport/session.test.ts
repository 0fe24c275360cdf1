/**
 * The session transport (runtime/session-transport.ts) and the sealed transport (runtime/sealed-transport.ts)
 * over a simulated network, held to the one conformance suite against the bounds they state: payloads
 * of at most 1 370 bytes (the envelope takes 30), no empty session payloads (an empty one confirms a
 * session), a first burst to a new peer no longer than `pendingMax`.
 */
import test from 'ava'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { MAX_ENVELOPE_PLAINTEXT } from '../../runtime/envelope.js'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import { createSessionTransport } from '../../runtime/session-transport.js'
import { type Faults, SimNetwork } from '../../runtime/sim-network.js'
import type { Transport } from '../../runtime/transport.js'
import { transportConformance, virtualTime } from './conformance.js'

const SECRET = new Uint8Array(32).fill(5)

function identity() {
  const secretKey = randomEd25519SecretKey()
  return { secretKey, publicKey: ed25519PublicKey(secretKey) }
}

function harness(seed: number, faults: Partial<Faults>, make: (net: SimNetwork, i: number) => Transport) {
  return {
    async create(n: number) {
      const net = new SimNetwork({ seed, faults })
      const endpoints = Array.from({ length: n }, (_, i) => make(net, i))
      return {
        endpoints,
        unknownAddress: 'sim-nobody',
        ...virtualTime(net.clock),
        teardown: async () => {
          await Promise.all(endpoints.map((e) => e.close()))
        },
      }
    },
  }
}

const session = (net: SimNetwork, i: number) =>
  createSessionTransport({ transport: net.endpoint(`sim-${i}`), clock: net.clock }, { secret: SECRET, identity: identity(), keyId: 100 + i, startCounter: 0 })
const sealed = (net: SimNetwork, i: number) => createSealedTransport({ transport: net.endpoint(`sim-${i}`), clock: net.clock }, { secret: SECRET, keyId: 200 + i, startCounter: 0 })

transportConformance('session (sim)', harness(1, {}, session))
transportConformance('session (sim, jitter + reorder)', harness(2, { delay: [0, 25], reorder: 0.3, reorderDelay: [1, 40] }, session))
transportConformance('sealed (sim)', harness(3, {}, sealed))

test('the session and sealed transports state the envelope-narrowed bounds', (t) => {
  const net = new SimNetwork({ seed: 4 })
  const s = createSessionTransport({ transport: net.endpoint('a'), clock: net.clock }, { secret: SECRET, identity: identity(), keyId: 1, startCounter: 0, pendingMax: 7 })
  t.deepEqual({ ...s.bounds }, { maxBytes: MAX_ENVELOPE_PLAINTEXT, deliversEmpty: false, firstBurst: 7 })
  t.deepEqual({ ...sealed(net, 9).bounds }, { maxBytes: MAX_ENVELOPE_PLAINTEXT, deliversEmpty: true, firstBurst: Infinity })
})
