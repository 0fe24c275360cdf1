import test, { type ExecutionContext } from 'ava'
import fc from 'fast-check'
import type { Info, InfoKind, ListChunk, ListPull, MemberEntry, NodeId } from '../../../machines/flock/types.js'
import * as pb from '../../../protos/gen/crux/v1/wire.js'
import type { HostEvent } from '../../../machines/effects.js'
import { VirtualClock } from '../../../runtime/clock.js'
import { CruxError, Code } from '../../../runtime/errors.js'
import type { ActorHost } from '../../../runtime/host.js'
import { createMemoryNetwork } from '../../../runtime/memory-transport.js'
import { createTransportBridge } from '../../../runtime/transport-bridge.js'
import { MAX_DATAGRAM_BYTES } from '../../../runtime/transport.js'
import { node, sampleInfo } from '../../fixtures/wire-samples.js'
import {
  decodeWire,
  encodeWire,
  INFO_MAX_BYTES,
  LIST_CHUNK_ENTRIES,
  WIRE_LIMITS,
  WIRE_PAYLOAD_BUDGET,
  WireDecodeError,
  WireEncodeError,
  wireCodec,
  type WireEvent,
} from '../../../actors/flock/wire-codec.js'

// ---------------------------------------------------------------------------------------------------
// Samples (the Info is test/fixtures/wire-samples.ts, which the codec benchmark measures)

const samplePull = (): ListPull => ({ flock: 'crux', me: node('n3', '127.77.0.3:7946', 'h1'), since: 17 })

const sampleChunk = (): ListChunk => ({
  flock: 'crux',
  leader: node('n17', '127.77.0.17:7946'),
  version: 9,
  digest: 'fedcba9876543210',
  full: true,
  since: 0,
  index: 1,
  count: 3,
  added: [node('n1', '127.77.0.1:7946'), node('n2', '127.77.0.2:7946', 'h2'), node('', '')],
  removed: [],
})

const sampleDelta = (): ListChunk => ({ ...sampleChunk(), full: false, since: 7, index: 0, count: 1, added: [], removed: ['n4', 'n5'] })

const s = (bytes: number, c = 'a') => c.repeat(bytes)
const maxNode = (): NodeId => node(s(WIRE_LIMITS.id), s(WIRE_LIMITS.addr), s(WIRE_LIMITS.horde))

/** Every string at its bound, every number at its largest. */
const worstInfo = (fill = (bytes: number) => s(bytes)): Info => ({
  kind: 'leader-beat',
  flock: fill(WIRE_LIMITS.flock),
  dest: node(fill(WIRE_LIMITS.id), fill(WIRE_LIMITS.addr), fill(WIRE_LIMITS.horde)),
  me: node(fill(WIRE_LIMITS.id), fill(WIRE_LIMITS.addr), fill(WIRE_LIMITS.horde)),
  leader: node(fill(WIRE_LIMITS.id), fill(WIRE_LIMITS.addr), fill(WIRE_LIMITS.horde)),
  lvote: 0x7fffffff,
  vote: 0x7fffffff,
  sent: Number.MAX_SAFE_INTEGER,
  epoch: fill(WIRE_LIMITS.epoch),
  steward: fill(WIRE_LIMITS.addr),
  registry: fill(WIRE_LIMITS.addr),
  yurt: fill(WIRE_LIMITS.addr),
  beacon: fill(WIRE_LIMITS.addr),
  listVersion: 0xffffffff,
  listDigest: fill(WIRE_LIMITS.digest),
  n: 0xffffffff,
})

/** A chunk header at its worst, with `entries` members of id 24, addr 48 and horde 24 bytes. */
const worstChunk = (entries: number, removed = 0): ListChunk => ({
  flock: s(WIRE_LIMITS.flock),
  leader: maxNode(),
  version: 0xffffffff,
  digest: s(WIRE_LIMITS.digest),
  full: true,
  since: 0xffffffff,
  index: 0xffffffff,
  count: 0xffffffff,
  added: Array.from({ length: entries }, (_, i) => node(s(24, String.fromCharCode(97 + (i % 26))), s(48, 'b'), s(24, 'c'))),
  removed: Array.from({ length: removed }, () => s(24, 'r')),
})

const infoEv = (info: Info): WireEvent => ({ type: 'info', info })
const pullEv = (pull: ListPull): WireEvent => ({ type: 'list.pull', pull })
const chunkEv = (chunk: ListChunk): WireEvent => ({ type: 'list.chunk', chunk })

/** Bytes of a Packet built straight from the generated code, bypassing the codec's checks. */
const raw = (body: pb.Packet['body']): Uint8Array => pb.Packet.encode({ body }).finish()
const rawInfo = (patch: Partial<pb.Info>): Uint8Array => raw({ $case: 'info', value: { ...sampleInfo(), kind: pb.InfoKind.INFO_KIND_BEAT, ...patch } })

// ---------------------------------------------------------------------------------------------------
// Exact-shape checks (the machines rely on plain objects with every field present)

const INFO_KEYS = ['kind', 'flock', 'dest', 'me', 'leader', 'lvote', 'vote', 'sent', 'epoch', 'steward', 'registry', 'yurt', 'beacon', 'listVersion', 'listDigest', 'n']
const NODE_KEYS = ['id', 'addr', 'horde']
const PULL_KEYS = ['flock', 'me', 'since']
const CHUNK_KEYS = ['flock', 'leader', 'version', 'digest', 'full', 'since', 'index', 'count', 'added', 'removed']
const KINDS: InfoKind[] = ['probe', 'ping', 'beat', 'leader-beat', 'admin', 'check', 'alive']

function shapeProblem(v: unknown, keys: string[], what: string): string | undefined {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return `${what} is not a plain object`
  const got = Object.keys(v)
  if (got.length !== keys.length || got.some((k, i) => k !== keys[i])) return `${what} has keys ${got.join(',')}`
  return undefined
}

const isUint = (x: unknown, max: number) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max
const isStr = (x: unknown, max: number) => typeof x === 'string' && Buffer.byteLength(x) <= max && !/\p{Cs}/u.test(x)

function nodeShape(n: unknown, what: string): string | undefined {
  const p = shapeProblem(n, NODE_KEYS, what)
  if (p !== undefined) return p
  const v = n as NodeId
  if (!isStr(v.id, WIRE_LIMITS.id) || !isStr(v.addr, WIRE_LIMITS.addr) || !isStr(v.horde, WIRE_LIMITS.horde)) return `${what} strings`
  return undefined
}

/** Undefined when `ev` is a well-formed wire event of exactly the TS shapes. */
function eventShape(ev: unknown): string | undefined {
  const e = ev as WireEvent
  if (typeof e !== 'object' || e === null) return 'not an object'
  switch (e.type) {
    case 'info': {
      const i = e.info
      const p = shapeProblem(e, ['type', 'info'], 'event') ?? shapeProblem(i, INFO_KEYS, 'info')
      if (p !== undefined) return p
      if (!KINDS.includes(i.kind)) return 'kind'
      const q = nodeShape(i.dest, 'dest') ?? nodeShape(i.me, 'me') ?? nodeShape(i.leader, 'leader')
      if (q !== undefined) return q
      if (!isUint(i.lvote, 0x7fffffff) || !isUint(i.vote, 0x7fffffff) || !isUint(i.sent, Number.MAX_SAFE_INTEGER)) return 'votes/sent'
      if (!isUint(i.listVersion, 0xffffffff) || !isUint(i.n, 0xffffffff)) return 'listVersion/n'
      if (!isStr(i.flock, 64) || !isStr(i.epoch, 64) || !isStr(i.listDigest, 32)) return 'flock/epoch/digest'
      if (![i.steward, i.registry, i.yurt, i.beacon].every((x) => isStr(x, WIRE_LIMITS.addr))) return 'services'
      return undefined
    }
    case 'list.pull': {
      const p = shapeProblem(e, ['type', 'pull'], 'event') ?? shapeProblem(e.pull, PULL_KEYS, 'pull') ?? nodeShape(e.pull.me, 'me')
      if (p !== undefined) return p
      return isStr(e.pull.flock, 64) && isUint(e.pull.since, 0xffffffff) ? undefined : 'pull fields'
    }
    case 'list.chunk': {
      const c = e.chunk
      const p = shapeProblem(e, ['type', 'chunk'], 'event') ?? shapeProblem(c, CHUNK_KEYS, 'chunk') ?? nodeShape(c.leader, 'leader')
      if (p !== undefined) return p
      if (!isStr(c.flock, 64) || !isStr(c.digest, 32) || typeof c.full !== 'boolean') return 'chunk strings/full'
      if (![c.version, c.since, c.index, c.count].every((x) => isUint(x, 0xffffffff))) return 'chunk numbers'
      if (!Array.isArray(c.added) || c.added.length > 64 || !Array.isArray(c.removed) || c.removed.length > 64) return 'chunk lists'
      for (const a of c.added) {
        const q = nodeShape(a, 'added')
        if (q !== undefined) return q
      }
      return c.removed.every((r) => isStr(r, WIRE_LIMITS.id)) ? undefined : 'removed'
    }
    default:
      return `type ${String((e as { type: unknown }).type)}`
  }
}

function assertRoundTrip(t: ExecutionContext, ev: WireEvent) {
  const bytes = wireCodec.encode(ev)
  const back = wireCodec.decode(bytes)
  t.deepEqual(back, ev)
  t.is(eventShape(back), undefined)
}

function decodeError(t: ExecutionContext, bytes: Uint8Array, reason: string) {
  const err = t.throws(() => wireCodec.decode(bytes), { instanceOf: WireDecodeError })
  t.is(err?.code, Code.INVALID_ARGUMENT)
  t.is(err?.details?.reason, reason, err?.message)
}

// ---------------------------------------------------------------------------------------------------
// Round trips

test('each message kind round-trips to an equal plain object of the TS shape', (t) => {
  for (const kind of KINDS) assertRoundTrip(t, infoEv({ ...sampleInfo(), kind }))
  assertRoundTrip(t, infoEv({ ...sampleInfo(), dest: node('', ''), lvote: 0, vote: 0, sent: 0, listVersion: 0, n: 0, listDigest: '' }))
  assertRoundTrip(t, pullEv(samplePull()))
  assertRoundTrip(t, pullEv({ flock: '', me: node('', ''), since: 0 }))
  assertRoundTrip(t, chunkEv(sampleChunk()))
  assertRoundTrip(t, chunkEv(sampleDelta()))
  assertRoundTrip(t, infoEv(worstInfo()))
  assertRoundTrip(t, chunkEv(worstChunk(LIST_CHUNK_ENTRIES)))
})

test('encode ignores fields other than the message (now, from, extras)', (t) => {
  const plain = wireCodec.encode({ type: 'info', info: sampleInfo() })
  const extra = wireCodec.encode({ type: 'info', info: { ...sampleInfo(), junk: 1 } as Info, now: 5, from: 'x', other: true })
  t.deepEqual(extra, plain)
  const back = wireCodec.decode(extra)
  t.false('now' in back)
  t.false('from' in back)
})

test('non-ASCII strings up to the byte bounds round-trip; a BOM is kept', (t) => {
  const info = worstInfo((bytes) => '€'.repeat(Math.floor(bytes / 3)) + 'é'.repeat((bytes % 3) >> 1) + 'a'.repeat(bytes % 3 & 1))
  t.is(Buffer.byteLength(info.flock), WIRE_LIMITS.flock)
  assertRoundTrip(t, infoEv(info))
  assertRoundTrip(t, infoEv({ ...sampleInfo(), flock: '\uFEFFcrux', epoch: '🦆'.repeat(16) }))
})

const truncUtf8 = (str: string, max: number): string => {
  let out = ''
  let n = 0
  for (const ch of str) {
    const b = Buffer.byteLength(ch)
    if (n + b > max) break
    out += ch
    n += b
  }
  return out
}
/** Same content (fast-check builds some records with a null prototype, so compare as JSON; key order counts). */
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
const str = (max: number) =>
  fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength: max }),
    fc.string({ unit: 'binary', maxLength: max }).map((x) => truncUtf8(x, max)),
    fc.constant(s(max)),
  )
const nodeArb = fc.record({ id: str(WIRE_LIMITS.id), addr: str(WIRE_LIMITS.addr), horde: str(WIRE_LIMITS.horde) })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const i32 = fc.integer({ min: 0, max: 0x7fffffff })
const infoArb: fc.Arbitrary<Info> = fc.record({
  kind: fc.constantFrom(...KINDS),
  flock: str(WIRE_LIMITS.flock),
  dest: nodeArb,
  me: nodeArb,
  leader: nodeArb,
  lvote: i32,
  vote: i32,
  sent: fc.maxSafeNat(),
  epoch: str(WIRE_LIMITS.epoch),
  steward: str(WIRE_LIMITS.addr),
  registry: str(WIRE_LIMITS.addr),
  yurt: str(WIRE_LIMITS.addr),
  beacon: str(WIRE_LIMITS.addr),
  listVersion: u32,
  listDigest: str(WIRE_LIMITS.digest),
  n: u32,
})
const chunkArb: fc.Arbitrary<ListChunk> = fc.record({
  flock: str(WIRE_LIMITS.flock),
  leader: nodeArb,
  version: u32,
  digest: str(WIRE_LIMITS.digest),
  full: fc.boolean(),
  since: u32,
  index: u32,
  count: u32,
  added: fc.array(nodeArb as fc.Arbitrary<MemberEntry>, { maxLength: 12 }),
  removed: fc.array(str(WIRE_LIMITS.id), { maxLength: 12 }),
})

test('property: any valid Info round-trips and fits INFO_MAX_BYTES', (t) => {
  fc.assert(
    fc.property(infoArb, (info) => {
      const bytes = encodeWire(infoEv(info))
      const back = decodeWire(bytes)
      return bytes.length <= INFO_MAX_BYTES && eventShape(back) === undefined && sameJson(back, infoEv(info))
    }),
    { numRuns: 2000 },
  )
  t.pass()
})

test('property: any valid ListPull and ListChunk round-trips', (t) => {
  fc.assert(
    fc.property(fc.record({ flock: str(WIRE_LIMITS.flock), me: nodeArb, since: u32 }), chunkArb, (pull, chunk) => {
      const p = decodeWire(encodeWire(pullEv(pull)))
      const bytes = encodeWire(chunkEv(chunk))
      // Chunks of big entries may outgrow a datagram; the decoder refuses those (and the transport would).
      if (bytes.length > MAX_DATAGRAM_BYTES) {
        const err = (() => {
          try {
            decodeWire(bytes)
          } catch (e) {
            return e
          }
        })()
        return err instanceof WireDecodeError && err.details?.reason === 'too-large'
      }
      const c = decodeWire(bytes)
      return eventShape(p) === undefined && eventShape(c) === undefined && sameJson(p, pullEv(pull)) && sameJson(c, chunkEv(chunk))
    }),
    { numRuns: 1000 },
  )
  t.pass()
})

// ---------------------------------------------------------------------------------------------------
// Sizes

test('INFO_MAX_BYTES is the worst-case Info and fits the budget', (t) => {
  const bytes = encodeWire(infoEv(worstInfo()))
  t.is(bytes.length, INFO_MAX_BYTES)
  t.true(INFO_MAX_BYTES <= WIRE_PAYLOAD_BUDGET)
  t.true(WIRE_PAYLOAD_BUDGET <= MAX_DATAGRAM_BYTES)
  // Multi-byte text at the same byte bounds is no larger.
  const wide = worstInfo((b) => '€'.repeat(Math.floor(b / 3)) + 'a'.repeat(b % 3))
  t.is(encodeWire(infoEv(wide)).length, INFO_MAX_BYTES)
  t.log(`INFO_MAX_BYTES = ${INFO_MAX_BYTES}; a typical Info is ${encodeWire(infoEv(sampleInfo())).length} bytes`)
})

test('LIST_CHUNK_ENTRIES is the most 24/48/24-byte entries a worst-case chunk carries in the budget', (t) => {
  let k = 0
  while (encodeWire(chunkEv(worstChunk(k + 1))).length <= WIRE_PAYLOAD_BUDGET) k++
  t.is(LIST_CHUNK_ENTRIES, k)
  t.true(k <= WIRE_LIMITS.chunkEntries)
  const size = encodeWire(chunkEv(worstChunk(LIST_CHUNK_ENTRIES))).length
  t.true(size <= WIRE_PAYLOAD_BUDGET)
  // Removed ids (≤ 24 bytes) are cheaper than entries: any split of the allowance fits too.
  for (let r = 0; r <= LIST_CHUNK_ENTRIES; r++) t.true(encodeWire(chunkEv(worstChunk(LIST_CHUNK_ENTRIES - r, r))).length <= size)
  t.log(`LIST_CHUNK_ENTRIES = ${LIST_CHUNK_ENTRIES} (${size} bytes; one more: ${encodeWire(chunkEv(worstChunk(k + 1))).length})`)
})

// ---------------------------------------------------------------------------------------------------
// What decode refuses

test('decode refuses malformed framing', (t) => {
  decodeError(t, new Uint8Array(0), 'empty')
  decodeError(t, raw(undefined), 'empty')
  // Packet field 1 with the wrong wire type (varint, not a message) is skipped as unknown: nothing left.
  decodeError(t, new Uint8Array([0x08, 0x01]), 'empty')
  const ok = encodeWire(infoEv(sampleInfo()))
  decodeError(t, Uint8Array.of(...ok, 0), 'framing')
  decodeError(t, Uint8Array.of(...ok, 0x0c), 'framing') // an end-group tag
  decodeError(t, Uint8Array.of(...ok, 0x0b, 0x0c), 'framing') // a group
  // A NodeId whose last field runs past its length (inside the Info): Packet.info { me { id: 'ab' } } with me's length 3.
  decodeError(t, new Uint8Array([0x0a, 0x06, 0x22, 0x03, 0x0a, 0x02, 0x61, 0x62]), 'framing')
  decodeError(t, ok.subarray(0, ok.length - 1), 'framing')
  decodeError(t, new Uint8Array(MAX_DATAGRAM_BYTES + 1), 'too-large')
  decodeError(t, 'bytes' as unknown as Uint8Array, 'not-bytes')
  decodeError(t, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'framing')
  // Invalid UTF-8 in a string (flock = 0xff), framed by hand: Packet.info { flock }.
  decodeError(t, new Uint8Array([0x0a, 0x03, 0x12, 0x01, 0xff]), 'protobuf')
  // int64 beyond the safe range.
  decodeError(t, rawInfo({ sent: 2 ** 60 }), 'protobuf')
})

test('decode refuses content outside the types and bounds', (t) => {
  decodeError(t, rawInfo({ kind: pb.InfoKind.INFO_KIND_UNSPECIFIED }), 'content')
  decodeError(t, rawInfo({ kind: 9 as pb.InfoKind }), 'content')
  decodeError(t, rawInfo({ me: undefined }), 'content')
  decodeError(t, rawInfo({ dest: undefined }), 'content')
  decodeError(t, rawInfo({ leader: undefined }), 'content')
  decodeError(t, rawInfo({ vote: -1 }), 'content')
  decodeError(t, rawInfo({ lvote: -2147483648 }), 'content')
  decodeError(t, rawInfo({ sent: -1 }), 'content')
  decodeError(t, rawInfo({ flock: s(WIRE_LIMITS.flock + 1) }), 'content')
  decodeError(t, rawInfo({ flock: 'é'.repeat(33) }), 'content') // 33 characters, 66 bytes
  decodeError(t, rawInfo({ me: node(s(65), '') }), 'content')
  decodeError(t, rawInfo({ me: node('a', s(WIRE_LIMITS.addr + 1)) }), 'content')
  decodeError(t, rawInfo({ yurt: s(WIRE_LIMITS.addr + 1) }), 'content')
  decodeError(t, rawInfo({ listDigest: s(33) }), 'content')
  decodeError(t, rawInfo({ epoch: s(65) }), 'content')
  decodeError(t, raw({ $case: 'pull', value: { flock: 'f', me: undefined, since: 0 } }), 'content')
  decodeError(t, raw({ $case: 'chunk', value: { ...sampleChunk(), leader: undefined } }), 'content')
  decodeError(t, raw({ $case: 'chunk', value: { ...sampleChunk(), added: Array.from({ length: 65 }, () => node('', '')) } }), 'content')
  decodeError(t, raw({ $case: 'chunk', value: { ...sampleChunk(), removed: Array.from({ length: 65 }, () => 'x') } }), 'content')
  decodeError(t, raw({ $case: 'chunk', value: { ...sampleChunk(), removed: [s(65)] } }), 'content')
  // At the bounds: accepted.
  t.notThrows(() => decodeWire(rawInfo({ flock: 'é'.repeat(32), me: node(s(64), s(96), s(64)) })))
  t.notThrows(() => decodeWire(raw({ $case: 'chunk', value: { ...sampleChunk(), added: Array.from({ length: 64 }, () => node('', '')), removed: Array.from({ length: 64 }, () => 'x') } })))
})

test('decode skips unknown fields (forward compatibility)', (t) => {
  const ok = encodeWire(infoEv(sampleInfo()))
  // Packet field 15, varint 300; and a length-delimited field 16.
  const more = Uint8Array.of(...ok, 15 << 3, 0xac, 0x02, 0x82, 0x01, 2, 0x61, 0x62)
  t.deepEqual(decodeWire(more), infoEv(sampleInfo()))
})

test('encode refuses what the wire cannot carry', (t) => {
  const bad = (ev: unknown) => {
    const err = t.throws(() => wireCodec.encode(ev as WireEvent), { instanceOf: WireEncodeError })
    t.true(err instanceof CruxError)
    t.is(err?.code, Code.INVALID_ARGUMENT)
  }
  bad({ type: 'timer.fired', name: 'x' })
  bad({ type: 'info' })
  bad(infoEv({ ...sampleInfo(), kind: 'nope' as InfoKind }))
  bad(infoEv({ ...sampleInfo(), lvote: -1 }))
  bad(infoEv({ ...sampleInfo(), vote: 1.5 }))
  bad(infoEv({ ...sampleInfo(), vote: 2 ** 31 }))
  bad(infoEv({ ...sampleInfo(), sent: Number.NaN }))
  bad(infoEv({ ...sampleInfo(), sent: Number.POSITIVE_INFINITY }))
  bad(infoEv({ ...sampleInfo(), sent: 2 ** 53 }))
  bad(infoEv({ ...sampleInfo(), listVersion: 2 ** 32 }))
  bad(infoEv({ ...sampleInfo(), n: -1 }))
  bad(infoEv({ ...sampleInfo(), dest: undefined as unknown as NodeId }))
  bad(infoEv({ ...sampleInfo(), me: { id: 'a', addr: 'b' } as NodeId }))
  bad(infoEv({ ...sampleInfo(), flock: s(65) }))
  bad(infoEv({ ...sampleInfo(), steward: '€'.repeat(33) }))
  bad(infoEv({ ...sampleInfo(), epoch: 7 as unknown as string }))
  bad(pullEv({ ...samplePull(), since: -1 }))
  bad(pullEv({ ...samplePull(), me: null as unknown as NodeId }))
  bad(chunkEv({ ...sampleChunk(), full: 1 as unknown as boolean }))
  bad(chunkEv({ ...sampleChunk(), added: Array.from({ length: 65 }, () => node('', '')) }))
  bad(chunkEv({ ...sampleChunk(), removed: [3 as unknown as string] }))
  bad(chunkEv({ ...sampleChunk(), added: [node(s(65), '')] }))
  // The codec still works after refusals.
  assertRoundTrip(t, infoEv(sampleInfo()))
})

test('through the transport bridge: events cross a memory network, garbage is counted as malformed', (t) => {
  const clock = new VirtualClock()
  const net = createMemoryNetwork({ clock })
  const got: HostEvent[] = []
  const host = { send: (_actor: string, ev: HostEvent) => (got.push(ev), 'queued') } as unknown as ActorHost
  const a = createTransportBridge({ transport: net.endpoint('a') }, { codec: wireCodec, route: () => undefined })
  const b = createTransportBridge({ transport: net.endpoint('b') }, { codec: wireCodec, route: (e) => ({ actor: 'b/flock', cls: e.type === 'info' ? 'heartbeat' : 'data' }) })
  b.attach(host)
  a.outbound('b', { type: 'info', info: sampleInfo(), now: 5 }, 'a/flock', 'heartbeat', undefined)
  a.outbound('b', { type: 'list.chunk', chunk: sampleChunk() }, 'a/flock', 'data', undefined)
  net.endpoint('evil').send('b', Uint8Array.of(0x0a, 0x02, 0x08))
  clock.runAll()
  t.deepEqual(got, [
    { type: 'info', info: sampleInfo(), from: 'a' },
    { type: 'list.chunk', chunk: sampleChunk(), from: 'a' },
  ])
  t.is(b.counters.malformed, 1)
})

// ---------------------------------------------------------------------------------------------------
// Fuzz

/** mulberry32: a small seeded PRNG so the fuzz corpus is the same on every run. */
function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

test('fuzz: 20 000 random, truncated and bit-flipped datagrams decode to a valid event or throw WireDecodeError', (t) => {
  const rand = prng(0xc0ffee)
  const int = (n: number) => Math.floor(rand() * n)
  const seeds = [
    infoEv(sampleInfo()),
    infoEv(worstInfo()),
    infoEv({ ...sampleInfo(), kind: 'admin', vote: 0, lvote: 2 }),
    pullEv(samplePull()),
    chunkEv(sampleChunk()),
    chunkEv(sampleDelta()),
    chunkEv(worstChunk(LIST_CHUNK_ENTRIES, 0)),
  ].map((ev) => encodeWire(ev))
  const cases: Uint8Array[] = []
  // Every prefix of every seed.
  for (const seed of seeds) for (let n = 0; n < seed.length; n++) cases.push(seed.subarray(0, n))
  while (cases.length < 20_000) {
    const seed = seeds[int(seeds.length)]!
    switch (int(4)) {
      case 0: {
        // Random bytes, mostly short, sometimes up to past the datagram limit.
        const len = rand() < 0.9 ? int(64) : int(MAX_DATAGRAM_BYTES + 100)
        const b = new Uint8Array(len)
        for (let i = 0; i < len; i++) b[i] = int(256)
        cases.push(b)
        break
      }
      case 1: {
        // 1–4 bit flips.
        const b = seed.slice()
        for (let k = 1 + int(4); k > 0; k--) b[int(b.length)] ^= 1 << int(8)
        cases.push(b)
        break
      }
      case 2: {
        // A random byte overwritten (often a length or a tag), then maybe truncated.
        const b = seed.slice()
        b[int(b.length)] = int(256)
        cases.push(rand() < 0.5 ? b : b.subarray(0, int(b.length)))
        break
      }
      default: {
        // Splice: a prefix of one seed, then a suffix of another.
        const other = seeds[int(seeds.length)]!
        cases.push(Uint8Array.of(...seed.subarray(0, int(seed.length)), ...other.subarray(int(other.length))))
      }
    }
  }
  let accepted = 0
  const reasons: Record<string, number> = {}
  for (const bytes of cases) {
    let ev: WireEvent | undefined
    try {
      ev = decodeWire(bytes)
    } catch (err) {
      if (!(err instanceof WireDecodeError)) {
        t.fail(`decode threw ${String(err)} for ${Buffer.from(bytes).toString('hex')}`)
        return
      }
      const reason = String(err.details?.reason)
      reasons[reason] = (reasons[reason] ?? 0) + 1
    }
    if (ev !== undefined) {
      accepted++
      const problem = eventShape(ev)
      if (problem !== undefined) {
        t.fail(`accepted ${Buffer.from(bytes).toString('hex')} as a bad shape: ${problem}`)
        return
      }
      // Whatever is accepted can be sent again and reads back the same.
      t.deepEqual(decodeWire(encodeWire(ev)), ev)
    }
  }
  // How long a decode takes, the slowest of this corpus included, is `npm run bench -- wire-codec`.
  t.log(`${cases.length} cases, ${accepted} accepted, refused by reason ${JSON.stringify(reasons)}`)
})
