/**
 * The fulcrum's wire (ARCHITECTURE §5): flock traffic sealed under per-peer session keys that come
 * from signed X25519 handshakes (runtime/handshake.ts), on top of the secondary-key channel that
 * carries the handshakes themselves and Confab.
 *
 * Per peer address there is at most one session we send under (`current`), one the peer offered that
 * we answered but have not yet heard it use (`next`), and one offer of ours awaiting an answer. The
 * rules that make re-keying lose nothing:
 * - make before break: a new session is used only once it is known to work at both ends (the
 *   offerer on the answer; the answerer on the first datagram under it, which the offerer sends at
 *   once), so every datagram is sealed under a key the peer already holds;
 * - a replaced session's receive key stays for `graceMs` (datagrams already in flight still open),
 *   then it is erased, and its send key at once: recorded traffic cannot be opened later;
 * - first contact queues a few datagrams until the session works (one round trip for the offerer,
 *   one and a half for the answerer).
 * Re-keying is driven by the leader's epoch: a session made in an older epoch than ours is re-offered
 * on the next send to that peer. Glare (both sides offer at once) keeps the offer with the greater
 * nonce, as the original did, so exactly one handshake completes.
 *
 * Receiving never throws: whatever does not open or check out is dropped and counted by reason.
 * What opens reaches the handler with its {@link Origin}: the node id a session's peer proved, or the
 * secondary channel; what each may carry is the router's call (actors/flock.actor.ts), which has
 * decoded it anyway.
 * Unlike a bare Transport, and stated in its {@link TransportBounds}: a payload is at most 1 370 bytes
 * (the envelope takes 30), an empty one is never delivered (it confirms a session), and a burst to a
 * new peer beyond `pendingMax` is cut.
 */
import type { Clock, TimerHandle } from './clock.js'
import { ENVELOPE_OVERHEAD, ENVELOPE_VERSION, EnvelopeOpener, EnvelopeSealer, MAX_ENVELOPE_PLAINTEXT, type DropReason, type EnvelopeKey } from './envelope.js'
import { compareNonce, decodeHello, encodeHello, ephemeral, equalBytes, NONCE_BYTES, sessionKeys, type Hello, type HelloKind } from './handshake.js'
import { certProblem, decodeCert, encodeCert, type NodeCert } from './node-cert.js'
import { ENVELOPE_TYPE, SecondaryChannel, type SecondaryChannelInit } from './secondary-channel.js'
import { nodeIdOf } from './node-identity.js'
import { checkSend, MAX_DATAGRAM_BYTES, SECONDARY_ORIGIN, type Origin, type ReceiveHandler, type Transport, type TransportBounds } from './transport.js'

/** Why a datagram was dropped: the envelope's reasons, plus handshake and channel checks. */
export type SessionDropReason = DropReason | 'key-budget' | 'type' | 'handshake' | 'cert'

/** What the session layer did (not drops): exported on `/metrics`. */
export interface SessionCounts {
  offers: number
  answers: number
  /** Sessions that came into use (first contact or re-key). */
  sessions: number
  /** Of those, sessions that replaced one in use with the same peer (a re-key). */
  rekeys: number
  /** Offers of a peer ignored because ours won the glare. */
  glare: number
  /** Receive keys erased after their grace period (or at once, if never used). */
  erased: number
  /** Datagrams queued for a handshake that never completed, dropped. */
  unsent: number
}

export interface SessionTransportInit {
  secret: Uint8Array
  /** The secondary channel's derivation budget for key ids never heard (runtime/key-budget.ts). */
  keyBudget?: SecondaryChannelInit['keyBudget']
  /** This node's Ed25519 key pair (runtime/node-identity.ts). */
  identity: { secretKey: Uint8Array; publicKey: Uint8Array }
  /** Secondary-channel key id and first counter (runtime/secondary-channel.ts). */
  keyId: number
  startCounter: number
  /** Bloc mode: peers must present a certificate from `ca` for our bloc; we present `cert`. */
  bloc?: { ca: Uint8Array; cert: NodeCert }
  /** The epoch sessions are made in until {@link SessionTransport.rekey}. Default ''. */
  epoch?: string
  /** Orders epochs (negative: a is older). Default: string order. */
  epochOrder?: (a: string, b: string) => number
  /** How long a replaced receive key still opens datagrams. Default 10 000 ms. */
  graceMs?: number
  /** An unanswered offer is sent again after this. Default 1 000 ms. */
  retryMs?: number
  /** Handshakes whose sender's clock differs more than this are stale. Default 300 000 ms. */
  skewMs?: number
  /** Peers whose state is kept (least recently used forgotten first). Default 4 096. */
  maxPeers?: number
  /** Datagrams queued per peer while its first handshake runs. Default 16. */
  pendingMax?: number
  /**
   * Told of each handshake or secondary datagram from `source` (HOST:PORT) that did not open (`tag`:
   * sealed under another secret, or damaged) or whose certificate was refused (`cert`): what a peer
   * of another flock or bloc sends. Called on the receive path: it must be cheap and must not throw.
   */
  onUnopenable?: (source: string, reason: SessionDropReason) => void
}

export interface SessionTransport extends Transport {
  /** At most 1 370-byte payloads, none empty, and `pendingMax` queued for a peer's first handshake. */
  readonly bounds: TransportBounds
  readonly drops: Record<SessionDropReason, number>
  readonly counts: SessionCounts
  /** Datagrams delivered to the handler. */
  accepted(): number
  /** A new epoch: every older session is re-keyed on its next send. */
  rekey(epoch: string): void
  /** Peers we currently send to under a session. */
  sessions(): number
  /** Receive keys held (in use, awaiting confirmation, or in their grace period). */
  heldKeys(): number
  /** Sends on the secondary channel (no session): monitoring traffic to a beacon or a dump's receiver. */
  sendSecondary(to: string, type: number, bytes: Uint8Array): void
}

interface Session {
  readonly peer: Peer
  readonly epoch: string
  readonly rxId: number
  readonly madeAt: number
  /** What the handler is told of datagrams under it: the node id its peer's signed hello proves. */
  readonly origin: Origin
  /** Null once retired: we never send under it again. */
  tx: EnvelopeSealer | null
}

interface Peer {
  readonly addr: string
  current: Session | null
  next: Session | null
  offer: { hello: Hello; eph: Uint8Array; at: number } | null
  pending: Array<{ bytes: Uint8Array; at: number }>
}

/** Creates the session transport over `transport` (UDP in a fulcrum), timed by `clock`. */
export function createSessionTransport(components: { transport: Transport; clock: Clock }, init: SessionTransportInit): SessionTransport {
  const { transport: inner, clock } = components
  const channel = new SecondaryChannel({ ...init, clock })
  const opener = new EnvelopeOpener()
  const graceMs = init.graceMs ?? 10_000
  const retryMs = init.retryMs ?? 1_000
  const skewMs = init.skewMs ?? 300_000
  const maxPeers = init.maxPeers ?? 4096
  const pendingMax = init.pendingMax ?? 16
  const bounds: TransportBounds = Object.freeze({ maxBytes: MAX_ENVELOPE_PLAINTEXT, deliversEmpty: false, firstBurst: pendingMax })
  const order = init.epochOrder ?? ((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0))
  const ownCert = init.bloc === undefined ? new Uint8Array() : encodeCert(init.bloc.cert)
  const drops: Record<SessionDropReason, number> = { size: 0, version: 0, 'unknown-key': 0, 'key-budget': 0, tag: 0, replay: 0, stale: 0, type: 0, handshake: 0, cert: 0 }
  const counts: SessionCounts = { offers: 0, answers: 0, sessions: 0, rekeys: 0, glare: 0, erased: 0, unsent: 0 }
  const peers = new Map<string, Peer>() // least recently used first
  const byRx = new Map<number, Session>()
  const reserved = new Set<number>() // rx ids of our outstanding offers
  const askers = new Map<string, true>() // Confab askers (answered on the secondary channel), LRU
  const self: Origin = { channel: 'session', peer: nodeIdOf(init.identity.publicKey) }
  const timers = new Set<TimerHandle>()
  let epoch = init.epoch ?? ''
  let accepted = 0
  let handler: ReceiveHandler | null = null
  let closed = false

  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
  const freshRxId = (): number => {
    for (;;) {
      const id = new DataView(random(4).buffer).getUint32(0)
      if (!byRx.has(id) && !reserved.has(id)) return id
    }
  }

  function peerOf(addr: string): Peer {
    let p = peers.get(addr)
    if (p !== undefined) peers.delete(addr)
    else p = { addr, current: null, next: null, offer: null, pending: [] }
    peers.set(addr, p)
    if (peers.size > maxPeers) forget(peers.keys().next().value!)
    return p
  }

  function forget(addr: string): void {
    const p = peers.get(addr)!
    peers.delete(addr)
    for (const s of [p.current, p.next]) if (s !== null) erase(s)
    dropOffer(p)
    counts.unsent += p.pending.length
  }

  function dropOffer(p: Peer): void {
    if (p.offer === null) return
    p.offer.eph.fill(0)
    reserved.delete(p.offer.hello.rxId)
    p.offer = null
  }

  function erase(s: Session): void {
    if (s.tx !== null) s.tx.key.key.fill(0)
    s.tx = null
    if (byRx.get(s.rxId) === s) {
      byRx.delete(s.rxId)
      opener.removeKey(s.rxId)
      counts.erased++
    }
  }

  /** Stops sending under `s` at once; its receive key opens late arrivals for `graceMs`, then goes. */
  function retire(s: Session): void {
    if (s.tx !== null) s.tx.key.key.fill(0)
    s.tx = null
    const t = clock.schedule(graceMs, () => {
      timers.delete(t)
      erase(s)
    })
    timers.add(t)
  }

  function adopt(p: Peer, s: Session): void {
    if (p.current !== null) {
      retire(p.current)
      counts.rekeys++
    }
    p.current = s
    counts.sessions++
    const now = clock.now()
    for (const q of p.pending) {
      if (now - q.at <= 4 * retryMs) inner.send(p.addr, s.tx!.seal(ENVELOPE_TYPE.session, q.bytes))
      else counts.unsent++
    }
    p.pending = []
  }

  function open(p: Peer, key: EnvelopeKey, sendKey: EnvelopeKey, ep: string, peerKey: Uint8Array): Session {
    opener.addKey(key)
    const origin: Origin = { channel: 'session', peer: nodeIdOf(peerKey) }
    const s: Session = { peer: p, epoch: ep, rxId: key.id, madeAt: clock.now(), tx: new EnvelopeSealer(sendKey), origin }
    byRx.set(key.id, s)
    return s
  }

  function hello(kind: HelloKind, nonceEcho: Uint8Array, ep: string): { hello: Hello; eph: Uint8Array } {
    const e = ephemeral()
    const h: Hello = { kind, nonce: random(NONCE_BYTES), echo: nonceEcho, rxId: freshRxId(), sentMs: clock.now(), epoch: ep, eph: e.publicKey, id: init.identity.publicKey, cert: ownCert }
    return { hello: h, eph: e.secretKey }
  }

  function offer(p: Peer): void {
    dropOffer(p)
    const o = hello('offer', new Uint8Array(NONCE_BYTES), epoch)
    reserved.add(o.hello.rxId)
    p.offer = { ...o, at: clock.now() }
    counts.offers++
    inner.send(p.addr, channel.seal(ENVELOPE_TYPE.offer, encodeHello(o.hello, init.identity.secretKey)))
  }

  /** Checks common to offers and answers; the reason to drop, or null. */
  function refuse(h: Hello): SessionDropReason | null {
    if (equalBytes(h.id, init.identity.publicKey)) return 'handshake' // our own hello, reflected
    if (Math.abs(clock.now() - h.sentMs) > skewMs) return 'stale'
    if (init.bloc !== undefined) {
      const c = decodeCert(h.cert)
      if (c === null || !equalBytes(c.publicKey, h.id) || certProblem(c, init.bloc.ca, init.bloc.cert.bloc, clock.now()) !== null) return 'cert'
    }
    return null
  }

  /** Drops a datagram that did not open or check out; tells `onUnopenable` of those a stranger sends. */
  function unopenable(reason: SessionDropReason, from: string): void {
    drops[reason]++
    if (reason === 'tag' || reason === 'cert') init.onUnopenable?.(from, reason)
  }

  function onOffer(bytes: Uint8Array, from: string): void {
    const h = decodeHello(bytes, 'offer')
    if (h === null) return void drops.handshake++
    const why = refuse(h)
    if (why !== null) return unopenable(why, from)
    const p = peerOf(from)
    if (p.offer !== null) {
      if (compareNonce(h.nonce, p.offer.hello.nonce) <= 0) return void counts.glare++
      dropOffer(p)
    }
    const a = hello('answer', h.nonce, h.epoch)
    const keys = sessionKeys(a.eph, 'answer', h, a.hello)
    a.eph.fill(0)
    if (keys === null) return void drops.handshake++
    if (p.next !== null) erase(p.next) // an earlier answer of ours that was never used
    // Not used until the offerer is heard under it: it may not have the answer yet (or ever).
    p.next = open(p, keys.offerToAnswer, keys.answerToOffer, h.epoch, h.id)
    counts.answers++
    inner.send(from, channel.seal(ENVELOPE_TYPE.answer, encodeHello(a.hello, init.identity.secretKey)))
  }

  function onAnswer(bytes: Uint8Array, from: string): void {
    const h = decodeHello(bytes, 'answer')
    const p = peers.get(from)
    if (h === null || p === undefined || p.offer === null || !equalBytes(h.echo, p.offer.hello.nonce)) return void drops.handshake++
    const why = refuse(h)
    if (why !== null) return unopenable(why, from)
    const o = p.offer
    const keys = sessionKeys(o.eph, 'offer', o.hello, h)
    dropOffer(p)
    if (keys === null) return void drops.handshake++
    if (p.next !== null) erase(p.next)
    p.next = null
    const s = open(p, keys.answerToOffer, keys.offerToAnswer, o.hello.epoch, h.id)
    adopt(p, s)
    // An empty datagram tells the answerer its session works, so it switches too.
    inner.send(from, s.tx!.seal(ENVELOPE_TYPE.session, new Uint8Array()))
  }

  function onSession(bytes: Uint8Array, from: string): void {
    const r = opener.open(bytes)
    if (!r.ok) return void drops[r.reason]++
    const s = byRx.get(r.keyId)!
    const p = s.peer
    if (p.next === s) {
      p.next = null
      adopt(p, s)
    }
    if (peers.get(p.addr) === p) {
      peers.delete(p.addr)
      peers.set(p.addr, p)
    }
    if (r.plaintext.length === 0) return
    accepted++
    handler?.(r.plaintext, from, s.origin)
  }

  inner.onReceive((bytes, from) => {
    if (closed) return
    if (bytes.length < ENVELOPE_OVERHEAD || bytes.length > MAX_DATAGRAM_BYTES) return void drops.size++
    if (bytes[0] !== ENVELOPE_VERSION) return void drops.version++
    if (bytes[1] === ENVELOPE_TYPE.session) return onSession(bytes, from)
    if (bytes[1]! < ENVELOPE_TYPE.secondary || bytes[1]! > ENVELOPE_TYPE.answer) return void drops.type++
    const r = channel.open(bytes, from)
    if (!r.ok) return unopenable(r.reason, from)
    if (r.type === ENVELOPE_TYPE.offer) return onOffer(r.plaintext, from)
    if (r.type === ENVELOPE_TYPE.answer) return onAnswer(r.plaintext, from)
    // A key holder without a session (a Confab asker): answered on the secondary channel too.
    askers.delete(from)
    askers.set(from, true)
    if (askers.size > 256) askers.delete(askers.keys().next().value!)
    accepted++
    handler?.(r.plaintext, from, SECONDARY_ORIGIN)
  })

  return {
    get address() {
      return inner.address
    },
    bounds,
    drops,
    counts,
    accepted: () => accepted,
    sessions: () => {
      let n = 0
      for (const p of peers.values()) if (p.current !== null) n++
      return n
    },
    heldKeys: () => byRx.size,
    rekey(e) {
      epoch = e
    },
    sendSecondary(to, type, bytes) {
      checkSend(inner.address, closed, bytes, bounds.maxBytes)
      inner.send(to, channel.seal(type, bytes))
    },
    send(to, bytes) {
      checkSend(inner.address, closed, bytes, bounds.maxBytes)
      if (to === inner.address) {
        // To ourselves: no handshake with our own key; delivered later, as a datagram would be.
        const copy = bytes.slice()
        queueMicrotask(() => {
          if (closed) return
          accepted++
          handler?.(copy, to, self)
        })
        return
      }
      if (askers.has(to) && peers.get(to)?.current == null) return inner.send(to, channel.seal(ENVELOPE_TYPE.secondary, bytes))
      const p = peerOf(to)
      const now = clock.now()
      // An answer of ours the peer has not used for a while (lost, or answering a replayed offer)
      // no longer counts as a handshake under way.
      const waiting = (p.offer !== null && now - p.offer.at < retryMs) || (p.next !== null && now - p.next.madeAt < 2 * retryMs)
      const s = p.current
      if (s !== null) {
        inner.send(to, s.tx!.seal(ENVELOPE_TYPE.session, bytes))
        if (order(s.epoch, epoch) < 0 && !waiting) offer(p)
        return
      }
      p.pending.push({ bytes: bytes.slice(), at: now })
      if (p.pending.length > pendingMax) {
        p.pending.shift()
        counts.unsent++
      }
      if (!waiting) offer(p)
    },
    onReceive(h) {
      handler = h
    },
    async close() {
      closed = true
      for (const t of timers) clock.cancel(t)
      timers.clear()
      for (const addr of [...peers.keys()]) forget(addr)
      for (const s of [...byRx.values()]) erase(s)
      await inner.close()
    },
  }
}
