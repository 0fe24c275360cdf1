import test from 'ava'
import { issueCert, type NodeCert } from '../../runtime/node-cert.js'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import { ENVELOPE_TYPE, SecondaryChannel } from '../../runtime/secondary-channel.js'
import { createSessionTransport, type SessionTransport, type SessionTransportInit } from '../../runtime/session-transport.js'
import { SimNetwork } from '../../runtime/sim-network.js'
import type { Faults } from '../../runtime/sim-faults.js'
import { DATAGRAM_BOUNDS, type Origin, type Transport } from '../../runtime/transport.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'

const SECRET = new Uint8Array(32).fill(1)
const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)
const identity = () => {
  const secretKey = randomEd25519SecretKey()
  return { secretKey, publicKey: ed25519PublicKey(secretKey) }
}

/** A simulated network (1 ms links unless told) and session transports on it, recording what arrives. */
function world(faults: Partial<Faults> = {}) {
  const net = new SimNetwork({ seed: 7, faults })
  const got = new Map<string, Array<[string, string]>>()
  /** What each node's handler was told of each datagram's origin, in arrival order. */
  const origins = new Map<string, Array<Origin | undefined>>()
  let nextKeyId = 1
  /** Every datagram each node put on the wire, by sender. */
  const wire = new Map<string, Uint8Array[]>()
  const node = (addr: string, init: Partial<SessionTransportInit> = {}): SessionTransport => {
    const ep = net.endpoint(addr)
    const sent: Uint8Array[] = []
    wire.set(addr, sent)
    const tapped: Transport = { address: addr, bounds: ep.bounds, send: (to, b) => (sent.push(b.slice()), ep.send(to, b)), onReceive: (h) => ep.onReceive(h), close: () => ep.close() }
    const tr = createSessionTransport({ transport: tapped, clock: net.clock }, { secret: SECRET, identity: identity(), keyId: nextKeyId++, startCounter: 0, ...init })
    got.set(addr, [])
    origins.set(addr, [])
    tr.onReceive((b, from, origin) => {
      got.get(addr)!.push([from, str(b)])
      origins.get(addr)!.push(origin)
    })
    return tr
  }
  return { net, clock: net.clock, got, origins, wire, node }
}

test('first contact: datagrams wait one round trip for the handshake, then arrive in order', (t) => {
  const w = world()
  const a = w.node('a')
  const b = w.node('b')
  for (const m of ['one', 'two', 'three']) a.send('b', text(m))
  w.clock.runAll()
  t.deepEqual(w.got.get('b'), [['a', 'one'], ['a', 'two'], ['a', 'three']])
  t.is(a.counts.offers, 1)
  t.is(b.counts.answers, 1)
  t.is(a.sessions(), 1)
  t.is(b.sessions(), 1)
  b.send('a', text('back'))
  w.clock.runAll()
  t.deepEqual(w.got.get('a'), [['b', 'back']])
  t.is(b.counts.offers, 0, 'the answerer reuses the session; no second handshake')
})

test('flock traffic is sealed under the session, which the flock secret alone cannot open', (t) => {
  const w = world()
  const a = w.node('a')
  w.node('b')
  a.send('b', text('hello'))
  w.clock.runAll()
  const [offer, ...rest] = w.wire.get('a')!
  t.is(offer![1], ENVELOPE_TYPE.offer)
  t.true(rest.length >= 2, 'the confirmation and the data')
  const secondary = new SecondaryChannel({ secret: SECRET, keyId: 999, startCounter: 0 })
  t.true(secondary.open(offer!).ok, 'the offer travels on the secondary channel')
  for (const d of rest) {
    t.is(d[1], ENVELOPE_TYPE.session)
    t.false(secondary.open(d).ok, 'no key derived from the secret opens session traffic')
  }
})

test('re-keying every epoch under steady traffic loses no datagram, and old keys are erased after the grace period', (t) => {
  const w = world({ delay: [1, 40] })
  const a = w.node('a', { graceMs: 2_000 })
  const b = w.node('b', { graceMs: 2_000 })
  let sentAB = 0
  let sentBA = 0
  // One datagram per 100 ms each way for 60 s; the leader's epoch changes every 5 s, reaching b 0–300 ms later.
  for (let tick = 0; tick < 600; tick++) {
    w.clock.advance(100)
    if (tick % 50 === 10) {
      const e = String(Math.floor(tick / 50) + 1).padStart(3, "0")
      a.rekey(e)
      w.clock.schedule((tick * 37) % 300, () => b.rekey(e))
    }
    a.send('b', text(`ab${sentAB++}`))
    b.send('a', text(`ba${sentBA++}`))
  }
  w.clock.advance(5_000)
  t.is(w.got.get('b')!.length, sentAB, 'every datagram a sent arrived')
  t.is(w.got.get('a')!.length, sentBA, 'every datagram b sent arrived')
  t.true(a.counts.sessions + b.counts.sessions >= 2 * 12, `sessions made: ${a.counts.sessions} + ${b.counts.sessions}`)
  t.is(a.drops['unknown-key'] + b.drops['unknown-key'] + a.drops.tag + b.drops.tag, 0)
  t.is(a.heldKeys(), 1, 'only the current receive key is left')
  t.is(b.heldKeys(), 1)
  t.true(a.counts.erased >= 11)
})

test('a datagram under an erased key is refused as unknown, not merely as a replay', (t) => {
  const w = world()
  const a = w.node('a', { graceMs: 1_000 })
  const b = w.node('b', { graceMs: 1_000 })
  a.send('b', text('first'))
  w.clock.runAll()
  const old = w.wire.get('a')!.at(-1)!
  a.rekey('2')
  a.send('b', text('second')) // still under the epoch-1 session; starts the re-key
  w.clock.advance(10)
  w.net.endpoint('x').send('b', old)
  w.clock.advance(10)
  t.is(b.drops.replay, 1, 'within the grace period the old key is held: a replay')
  w.clock.advance(2_000)
  w.net.endpoint('y').send('b', old)
  w.clock.runAll()
  t.is(b.drops['unknown-key'], 1, 'after it, the key is gone')
  t.deepEqual(w.got.get('b')!.map(([, m]) => m), ['first', 'second'])
  t.is(b.heldKeys(), 1)
  t.true(b.counts.erased >= 1)
})

test('glare: both ends offer at once; exactly one handshake completes and traffic flows both ways', (t) => {
  const w = world()
  const a = w.node('a')
  const b = w.node('b')
  a.send('b', text('from a'))
  b.send('a', text('from b'))
  w.clock.runAll()
  t.deepEqual(w.got.get('a'), [['b', 'from b']])
  t.deepEqual(w.got.get('b'), [['a', 'from a']])
  t.is(a.counts.glare + b.counts.glare, 1)
  t.is(a.counts.sessions, 1)
  t.is(b.counts.sessions, 1)
  a.send('b', text('again'))
  b.send('a', text('again'))
  w.clock.runAll()
  t.is(a.counts.offers + b.counts.offers, 2, 'no further handshakes')
})

test('a node with the wrong secret never gets a session; its offers drop as bad tags', (t) => {
  const w = world()
  const a = w.node('a')
  const b = w.node('b', { secret: new Uint8Array(32).fill(9) })
  b.send('a', text('let me in'))
  w.clock.advance(5_000)
  b.send('a', text('please'))
  w.clock.runAll()
  t.deepEqual(w.got.get('a'), [])
  t.is(a.drops.tag, 2)
  t.is(a.counts.answers, 0)
  t.is(a.sessions(), 0)
})

test('a hello with a broken signature is dropped as a bad handshake', (t) => {
  const w = world()
  const a = w.node('a')
  // A holder of the secret who signs with one key and claims another: seal a tampered offer by hand.
  const out: Uint8Array[] = []
  const liar = createSessionTransport({ transport: { address: 'liar', bounds: DATAGRAM_BOUNDS, send: (_to, b) => out.push(b.slice()), onReceive: () => {}, close: async () => {} }, clock: w.clock }, { secret: SECRET, identity: identity(), keyId: 66, startCounter: 0 })
  liar.send('a', text('x'))
  const channel = new SecondaryChannel({ secret: SECRET, keyId: 67, startCounter: 0 })
  const opened = new SecondaryChannel({ secret: SECRET, keyId: 68, startCounter: 0 }).open(out[0]!)
  t.true(opened.ok)
  if (!opened.ok) return
  const tampered = opened.plaintext.slice()
  tampered[50] = tampered[50]! ^ 1 // inside the ephemeral key: the signature no longer covers it
  const raw = w.net.endpoint('liar')
  raw.send('a', channel.seal(ENVELOPE_TYPE.offer, tampered))
  w.clock.runAll()
  t.is(a.drops.handshake, 1)
  t.is(a.counts.answers, 0)
})

test('an offer from a clock far off is dropped as stale', (t) => {
  const w = world()
  const a = w.node('a', { skewMs: 60_000 })
  const out: Uint8Array[] = []
  const late = createSessionTransport({ transport: { address: 'late', bounds: DATAGRAM_BOUNDS, send: (_to, b) => out.push(b.slice()), onReceive: () => {}, close: async () => {} }, clock: w.clock }, { secret: SECRET, identity: identity(), keyId: 70, startCounter: 0 })
  late.send('a', text('x'))
  w.clock.advance(120_000)
  w.net.endpoint('late').send('a', out[0]!)
  w.clock.runAll()
  t.is(a.drops.stale, 1)
  t.is(a.counts.answers, 0)
})

function bloc(name: string, ca = randomEd25519SecretKey(), notAfterMs = 10 ** 13) {
  const caPub = ed25519PublicKey(ca)
  const member = (): Partial<SessionTransportInit> & { cert: NodeCert } => {
    const id = identity()
    const cert = issueCert(ca, { publicKey: id.publicKey, bloc: name, name: 'n1', notAfterMs })
    return { identity: id, bloc: { ca: caPub, cert }, cert }
  }
  return { ca, caPub, member }
}

test('bloc mode: members certified by the bloc CA talk', (t) => {
  const w = world()
  const x = bloc('blue')
  w.node('a', x.member())
  const b = w.node('b', x.member())
  b.send('a', text('hi'))
  w.clock.runAll()
  t.deepEqual(w.got.get('a'), [['b', 'hi']])
})

test('bloc mode: another CA, another bloc, an expired certificate or a certificate for another key are ignored', (t) => {
  const w = world()
  const x = bloc('blue')
  const a = w.node('a', x.member())
  const other = bloc('blue').member()
  const red = bloc('red', x.ca).member()
  const old = bloc('blue', x.ca, 1).member()
  const stolen = { ...x.member(), identity: identity() } // a valid certificate, but not for this key
  const none = { identity: identity() } // no certificate at all
  w.clock.advance(100) // past the expired one's notAfter
  for (const [addr, init] of [['other', other], ['red', red], ['old', old], ['stolen', stolen], ['none', none]] as const) {
    w.node(addr, init).send('a', text(`from ${addr}`))
  }
  w.clock.runAll()
  t.deepEqual(w.got.get('a'), [])
  t.is(a.drops.cert, 5)
  t.is(a.sessions(), 0)
})

test('a restarted peer (new keys, same address) gets a new session on its first send', async (t) => {
  const w = world()
  const a = w.node('a')
  const b = w.node('b')
  a.send('b', text('one'))
  w.clock.runAll()
  await b.close()
  const b2 = w.node('b')
  a.send('b', text('lost')) // under the session the old b had: b2 cannot open it
  w.clock.runAll()
  t.is(b2.drops['unknown-key'], 1)
  b2.send('a', text('hello again'))
  w.clock.runAll()
  a.send('b', text('welcome'))
  w.clock.runAll()
  t.deepEqual(w.got.get('a'), [['b', 'hello again']])
  t.deepEqual(w.got.get('b'), [['a', 'welcome']])
})

test('Confab: a secondary datagram reaches the node marked as such, and the reply goes back on the secondary channel', (t) => {
  const w = world()
  const a = w.node('a')
  const asker = createSealedTransport({ transport: w.net.endpoint('asker') }, { secret: SECRET, keyId: 500, startCounter: 0 })
  const replies: string[] = []
  asker.onReceive((b) => replies.push(str(b)))
  asker.send('a', text('query names'))
  w.clock.runAll()
  t.deepEqual(w.got.get('a'), [['asker', 'query names']])
  t.deepEqual(w.origins.get('a'), [{ channel: 'secondary' }], 'no identity: the router decides what a key holder may send')
  a.send('asker', text('answer'))
  w.clock.runAll()
  t.deepEqual(replies, ['answer'])
  t.is(a.counts.offers, 0, 'an asker gets no handshake')
})

test('first contact queues at most pendingMax datagrams; the overflow is counted, not sent', (t) => {
  const w = world({ delay: 50 })
  const a = w.node('a', { pendingMax: 4 })
  w.node('b')
  for (let i = 0; i < 6; i++) a.send('b', text(`m${i}`))
  w.clock.runAll()
  t.deepEqual(w.got.get('b')!.map(([, m]) => m), ['m2', 'm3', 'm4', 'm5'])
  t.is(a.counts.unsent, 2)
})

test('an unanswered offer is sent again after retryMs, no sooner', (t) => {
  const w = world()
  const a = w.node('a', { retryMs: 1_000 })
  a.send('nobody', text('x'))
  a.send('nobody', text('y'))
  w.clock.advance(500)
  a.send('nobody', text('z'))
  t.is(a.counts.offers, 1)
  w.clock.advance(600)
  a.send('nobody', text('w'))
  t.is(a.counts.offers, 2)
})

test('a datagram to our own address is delivered without a handshake', async (t) => {
  const w = world()
  const a = w.node('a')
  a.send('a', text('me'))
  await Promise.resolve()
  t.deepEqual(w.got.get('a'), [['a', 'me']])
  t.is(a.counts.offers, 0)
})

test('a session datagram reaches the handler with the node id its peer proved in the handshake', async (t) => {
  const w = world()
  const aIdentity = identity()
  const bIdentity = identity()
  const b = w.node('b', { identity: bIdentity })
  const a = w.node('a', { identity: aIdentity })
  a.send('b', text('I am a'))
  w.clock.runAll()
  b.send('a', text('I am b'))
  b.send('b', text('to myself'))
  w.clock.runAll()
  await Promise.resolve()
  t.deepEqual(w.origins.get('b'), [{ channel: 'session', peer: nodeIdOf(aIdentity.publicKey) }, { channel: 'session', peer: nodeIdOf(bIdentity.publicKey) }])
  t.deepEqual(w.origins.get('a'), [{ channel: 'session', peer: nodeIdOf(bIdentity.publicKey) }])
})

test('a flood of forged key ids is dropped as key-budget past the budget; a new peer elsewhere still gets a session', (t) => {
  const w = world()
  const b = w.node('b')
  const c = w.node('c')
  c.send('b', text('before'))
  w.clock.runAll()
  const evil = w.net.endpoint('evil')
  for (let i = 0; i < 10_000; i++) {
    const d = new Uint8Array(94)
    d[0] = 1
    d[1] = ENVELOPE_TYPE.offer
    new DataView(d.buffer).setUint32(2, 0x5000_0000 + i)
    evil.send('b', d)
  }
  w.clock.runAll()
  // At most the per-source burst (32, docs/LIMITS.md) cost a key derivation; the rest no crypto.
  t.is(b.drops.tag, 32)
  t.is(b.drops['key-budget'], 10_000 - 32)
  const a = w.node('a')
  a.send('b', text('new'))
  c.send('b', text('after'))
  w.clock.runAll()
  t.deepEqual(w.got.get('b'), [['c', 'before'], ['c', 'after'], ['a', 'new']], 'the known peer at once, the new one after its handshake')
})

test('onUnopenable hears of each handshake sealed under another secret, and of nothing a peer of the flock sends', (t) => {
  const w = world()
  const heard: Array<[string, string]> = []
  const a = w.node('a', { onUnopenable: (source, reason) => heard.push([source, reason]) })
  const b = w.node('b', { secret: new Uint8Array(32).fill(9) })
  const c = w.node('c')
  b.send('a', text('let me in'))
  c.send('a', text('a friend'))
  w.clock.advance(5_000)
  b.send('a', text('please'))
  a.send('c', text('back'))
  w.clock.runAll()
  t.deepEqual(heard, [['b', 'tag'], ['b', 'tag']])
  t.deepEqual(w.got.get('a'), [['c', 'a friend']])
})

test('onUnopenable hears of certificates from another bloc CA as cert', (t) => {
  const w = world()
  const x = bloc('blue')
  const heard: Array<[string, string]> = []
  w.node('a', { ...x.member(), onUnopenable: (source, reason) => heard.push([source, reason]) })
  w.node('other', bloc('blue').member()).send('a', text('hi'))
  w.node('friend', x.member()).send('a', text('hi'))
  w.clock.runAll()
  t.deepEqual(heard, [['other', 'cert']])
  t.deepEqual(w.got.get('a'), [['friend', 'hi']])
})

test('a session that replaces one in use counts as a re-key at both ends; first contact does not', (t) => {
  const w = world()
  const a = w.node('a')
  const b = w.node('b')
  a.send('b', text('one'))
  w.clock.runAll()
  t.deepEqual([a.counts.rekeys, b.counts.rekeys], [0, 0])
  a.rekey('2')
  b.rekey('2')
  a.send('b', text('two'))
  w.clock.runAll()
  a.send('b', text('three'))
  w.clock.runAll()
  t.deepEqual([a.counts.sessions, b.counts.sessions], [2, 2])
  t.deepEqual([a.counts.rekeys, b.counts.rekeys], [1, 1])
  t.deepEqual(w.got.get('b')!.map(([, m]) => m), ['one', 'two', 'three'])
})
