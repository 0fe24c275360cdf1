/**
 * Hostile datagrams for a live fulcrum (test/integration/fulcrum-fuzz.test.ts sends 100 000, the
 * `fuzz` benchmark 1 000 000): the material an attacker on the path would have, a generator of six
 * kinds of junk made from it, the loop that sends it until the fulcrum has seen enough, and the
 * Prometheus scraping that counts what the fulcrum saw.
 */
import type { Socket } from 'node:dgram'
import { ENVELOPE_HEADER_BYTES, ENVELOPE_OVERHEAD, ENVELOPE_VERSION } from '../../runtime/envelope.js'
import type { Rng } from '../../runtime/rng.js'
import { RealClock } from '../../runtime/clock.js'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import { ENVELOPE_TYPE } from '../../runtime/secondary-channel.js'
import { createSessionTransport } from '../../runtime/session-transport.js'
import { DATAGRAM_BOUNDS, MAX_DATAGRAM_BYTES } from '../../runtime/transport.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'
import { wireCodec } from './wire-codec.js'
import { waitFor } from '../local/flock.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'

/** What the generator builds its junk from. */
export interface HostileMaterial {
  /** Datagrams sealed under the flock's secret (each opens once; every later copy is a replay). */
  genuine: Uint8Array[]
  /** Well-formed datagrams sealed under secrets that are not the flock's. */
  wrongSealed: Uint8Array[]
}

/** The kinds, in the order `createHostileDatagrams` cycles through them (i mod 6). */
export const HOSTILE_KINDS = ['random', 'truncated', 'bit-flipped', 'wrong-secret', 'replayed', 'forged-header'] as const

/**
 * Returns `datagram(i)`, the i-th hostile datagram, of kind HOSTILE_KINDS[i mod 6]:
 * random bytes of random length; a truncation of a genuine datagram; a genuine one with one bit
 * flipped; one sealed under a wrong secret; a genuine one replayed; a forged header (the right
 * version and type, a random key id and counter) over a random body. Deterministic given `rng`.
 * The returned bytes may be shared between calls: do not modify them.
 */
export function createHostileDatagrams(o: { rng: Rng } & HostileMaterial): (i: number) => Uint8Array {
  const { rng, genuine, wrongSealed } = o
  if (genuine.length === 0 || wrongSealed.length === 0) throw new Error('hostile datagrams need genuine and wrongly sealed material')
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!
  return (i) => {
    switch (i % HOSTILE_KINDS.length) {
      case 0: { // random bytes of random length
        const d = new Uint8Array(rng.int(1500))
        for (let k = 0; k < d.length; k++) d[k] = rng.int(256)
        return d
      }
      case 1: { // a truncation of a genuine datagram
        const g = pick(genuine)
        return g.subarray(0, rng.int(g.length))
      }
      case 2: { // a genuine datagram with one bit flipped
        const d = pick(genuine).slice()
        const k = rng.int(d.length)
        d[k] = d[k]! ^ (1 << rng.int(8))
        return d
      }
      case 3: // sealed under a wrong secret
        return pick(wrongSealed)
      case 4: // a genuine datagram, replayed
        return pick(genuine)
      default: { // a forged header: passes the cheap checks, reaches the key lookup (and, within the budget, a derivation)
        const d = new Uint8Array(ENVELOPE_OVERHEAD + rng.int(MAX_DATAGRAM_BYTES - ENVELOPE_OVERHEAD + 1))
        for (let k = ENVELOPE_HEADER_BYTES; k < d.length; k++) d[k] = rng.int(256)
        const v = new DataView(d.buffer)
        d[0] = ENVELOPE_VERSION
        d[1] = ENVELOPE_TYPE.secondary + rng.int(4) // secondary, offer, answer or session
        v.setUint32(2, rng.u32()) // key id
        v.setUint32(6, rng.int(0x20_0000)) // counter, high word: a safe integer, so it reaches the AEAD
        v.setUint32(10, rng.u32()) // counter, low word
        return d
      }
    }
  }
}

/**
 * The material, as an attacker on the path would capture it: a handshake with the fulcrum at
 * `target` by a holder of `secret` (its offer, the empty datagram that confirms the session, and
 * one datagram under the session), plus a Confab-channel datagram sealed under `secret`; and eight
 * datagrams sealed under other secrets. Uses ephemeral UDP ports on `host`, closed before this resolves.
 */
export async function captureHostileMaterial(secret: Uint8Array, host: string, target: string, boundMs = 30_000): Promise<HostileMaterial> {
  const me = { id: 'fuzz', addr: `${host}:1`, horde: '' }
  const info = wireCodec.encode({ type: 'info', info: { kind: 'probe', flock: '_', dest: { id: 'x', addr: 'x', horde: '' }, me, leader: me, lvote: 1, vote: 1, sent: 1, epoch: '', steward: '', registry: '', yurt: '', beacon: '', listVersion: 0, listDigest: '', n: 0 } })

  const sniff = await createUdpTransport({ host, port: 0 })
  const right = createSealedTransport({ transport: await createUdpTransport({ host, port: 0 }) }, { secret, keyId: 4242, startCounter: 0 })
  const genuine: Uint8Array[] = []
  try {
    sniff.onReceive((b) => genuine.push(b.slice()))
    right.send(sniff.address, info)
    await waitFor(() => genuine.length === 1, boundMs, 'a captured datagram')
  } finally {
    await Promise.all([sniff.close(), right.close()])
  }
  // A session with the target: everything the peer sends is recorded on its way out. Its one
  // datagram of data is a single zero byte, which no flock decoder accepts: the flock never sees it.
  const udp = await createUdpTransport({ host, port: 0 })
  const tapped = { address: udp.address, bounds: udp.bounds, send: (to: string, b: Uint8Array) => (genuine.push(b.slice()), udp.send(to, b)), onReceive: (h: Parameters<typeof udp.onReceive>[0]) => udp.onReceive(h), close: () => udp.close() }
  const secretKey = randomEd25519SecretKey()
  const peer = createSessionTransport({ transport: tapped, clock: new RealClock() }, { secret, identity: { secretKey, publicKey: ed25519PublicKey(secretKey) }, keyId: 4343, startCounter: 0 })
  try {
    peer.send(target, new Uint8Array(1))
    await waitFor(() => peer.sessions() === 1 && genuine.length >= 4, boundMs, 'a session with the target')
  } finally {
    await peer.close()
  }

  const wrongSealed: Uint8Array[] = []
  for (let i = 0; i < 8; i++) {
    const tap = { address: 'x', bounds: DATAGRAM_BOUNDS, send: (_to: string, b: Uint8Array) => void wrongSealed.push(b.slice()), onReceive: () => {}, close: async () => {} }
    createSealedTransport({ transport: tap }, { secret: new Uint8Array(32).fill(i + 1), keyId: i, startCounter: i }).send('y', info)
  }
  return { genuine, wrongSealed }
}

/** Prometheus text from `url`. */
export const scrape = (url: string): Promise<string> => fetch(url).then((r) => r.text())

/** The samples of metric `name` in Prometheus text, as [labels, value] (labels: the `{…}` part or ''). */
export function samples(text: string, name: string): Array<[string, number]> {
  const out: Array<[string, number]> = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const c = line[name.length]
    if (c !== '{' && c !== ' ') continue
    const end = c === '{' ? line.lastIndexOf('}') + 1 : name.length
    out.push([line.slice(name.length, end), Number(line.slice(end).trim().split(' ')[0])])
  }
  return out
}

/** The sum of metric `name` at `url` over the samples whose labels contain `label`. */
export async function metric(url: string, name: string, label = ''): Promise<number> {
  let sum = 0
  for (const [labels, v] of samples(await scrape(url), name)) if (labels.includes(label)) sum += v
  return sum
}

/** Metric `name` at `url` summed by the value of its label `key` (e.g. drops by reason). */
export async function metricBy(url: string, name: string, key: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  const re = new RegExp(`[{,]${key}="([^"]*)"`)
  for (const [labels, v] of samples(await scrape(url), name)) {
    const k = re.exec(labels)?.[1] ?? ''
    out[k] = (out[k] ?? 0) + v
  }
  return out
}

export interface SendUntilArrivedOptions {
  /** A bound UDP socket to send from. */
  sock: Socket
  host: string
  port: number
  datagram: (i: number) => Uint8Array
  /** How many must reach the fulcrum (its drop counter's rise). */
  n: number
  /** The fulcrum's /metrics. */
  metricsUrl: string
  boundMs: number
  /** Datagrams per round (default 5 000). */
  round?: number
  /** Called after each round has been handled. */
  onRound?: (sent: number, arrived: number) => void
}

/**
 * Sends `datagram(0), datagram(1), …` in rounds until the fulcrum's drop counter (crux_wire_dropped_total)
 * has risen by `n`: UDP may lose some in the kernel's buffers on a busy machine, so this counts what
 * arrived rather than what was sent. A round is handled once the counter stops moving. Rejects if
 * `boundMs` passes first.
 */
export async function sendUntilArrived(o: SendUntilArrivedOptions): Promise<{ sent: number; arrived: number }> {
  const round = o.round ?? 5000
  const droppedBefore = await metric(o.metricsUrl, 'crux_wire_dropped_total')
  let sent = 0
  let arrived = 0
  const deadline = Date.now() + o.boundMs
  while (arrived < o.n) {
    if (Date.now() > deadline) throw new Error(`only ${arrived} of ${sent} datagrams reached the fulcrum in ${o.boundMs} ms`)
    for (let k = 0; k < round; k++, sent++) {
      o.sock.send(o.datagram(sent), o.port, o.host)
      if (k % 100 === 99) await new Promise((r) => setTimeout(r, 1)) // pace, so the socket buffers keep up
    }
    let last = -1
    for (;;) {
      const d = await metric(o.metricsUrl, 'crux_wire_dropped_total')
      if (d === last) break
      last = d
      await new Promise((r) => setTimeout(r, 100))
    }
    arrived = last - droppedBefore
    o.onRound?.(sent, arrived)
  }
  return { sent, arrived }
}
