/**
 * What a datagram costs to encode, decode and seal: the figures test/actors/flock/wire-codec.test.ts and
 * test/runtime/envelope.test.ts used to assert or log (a test's wall clock says more about the machine
 * it runs on, and the neighbours it runs beside, than about the code).
 *
 * - info_encode_us / info_decode_us: a typical member beat (an Info of ~150 bytes), per call;
 * - chunk_encode_us / chunk_decode_us: a list chunk at its worst (LIST_CHUNK_ENTRIES members with
 *   every string at its bound, ~1.4 kB), per call;
 * - fuzz_decode_slowest_us / fuzz_decode_p99_us: the slowest and 99th-percentile decode over `--fuzz`
 *   random, truncated, bit-flipped and spliced datagrams (the fuzz test's corpus, seeded), whether
 *   accepted or refused: a decode that grows with some shape of input shows here;
 * - seal_open_us: sealing a 300-byte payload into an envelope and opening it again.
 *
 * Each per-call figure is the median of 5 timed rounds of `--n` calls after a warm-up round.
 *
 *   npm run bench -- wire-codec [--n 50000] [--fuzz 20000] [--seed 12648430]
 */
import type { ListChunk } from '../machines/flock/types.js'
import { deriveEnvelopeKey, EnvelopeOpener, EnvelopeSealer } from '../runtime/envelope.js'
import { Rng } from '../runtime/rng.js'
import { MAX_DATAGRAM_BYTES } from '../runtime/transport.js'
import { decodeWire, encodeWire, LIST_CHUNK_ENTRIES, WIRE_LIMITS, WireDecodeError, type WireEvent } from '../actors/flock/wire-codec.js'
import { node, sampleInfo } from '../test/fixtures/wire-samples.js'
import { flag } from './flags.js'

const fill = (bytes: number, c = 'a') => c.repeat(bytes)

/** The member beat of the codec tests: the packet a flock sends most. */
const info = sampleInfo()

/** A full chunk with every string at its bound: the largest packet the leader sends. */
const chunk: ListChunk = {
  flock: fill(WIRE_LIMITS.flock),
  leader: node(fill(WIRE_LIMITS.id), fill(WIRE_LIMITS.addr), fill(WIRE_LIMITS.horde)),
  version: 0xffffffff,
  digest: fill(WIRE_LIMITS.digest),
  full: true,
  since: 0,
  index: 0,
  count: 1,
  added: Array.from({ length: LIST_CHUNK_ENTRIES }, (_, i) => node(fill(24, String.fromCharCode(97 + i)), fill(48, 'b'), fill(24, 'c'))),
  removed: [],
}

/** Microseconds per call of `f`: the median of 5 rounds of `n` calls, after one untimed round. */
function perCallUs(f: () => unknown, n: number): number {
  for (let i = 0; i < n; i++) f()
  const rounds: number[] = []
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) f()
    rounds.push(((performance.now() - t0) * 1000) / n)
  }
  return rounds.sort((a, b) => a - b)[2]!
}

/** The fuzz test's corpus: every prefix of every seed, then random bytes, bit flips, overwrites and splices. */
function fuzzCorpus(seeds: Uint8Array[], size: number, rng: Rng): Uint8Array[] {
  const cases: Uint8Array[] = []
  for (const seed of seeds) for (let n = 0; n < seed.length; n++) cases.push(seed.subarray(0, n))
  while (cases.length < size) {
    const seed = seeds[rng.int(seeds.length)]!
    const b = seed.slice()
    switch (rng.int(4)) {
      case 0: {
        const len = rng.float() < 0.9 ? rng.int(64) : rng.int(MAX_DATAGRAM_BYTES + 100)
        cases.push(Uint8Array.from({ length: len }, () => rng.int(256)))
        break
      }
      case 1:
        for (let k = 1 + rng.int(4); k > 0; k--) b[rng.int(b.length)] ^= 1 << rng.int(8)
        cases.push(b)
        break
      case 2:
        b[rng.int(b.length)] = rng.int(256)
        cases.push(rng.float() < 0.5 ? b : b.subarray(0, rng.int(b.length)))
        break
      default: {
        const other = seeds[rng.int(seeds.length)]!
        cases.push(Uint8Array.of(...seed.subarray(0, rng.int(seed.length)), ...other.subarray(rng.int(other.length))))
      }
    }
  }
  return cases
}

/** Decodes, counting a refusal as a result too; anything but WireDecodeError is a bug worth stopping for. */
function decodeOrRefuse(bytes: Uint8Array): boolean {
  try {
    decodeWire(bytes)
    return true
  } catch (err) {
    if (err instanceof WireDecodeError) return false
    throw err
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = flag(args, '--n', 50_000)
  const fuzz = flag(args, '--fuzz', 20_000)
  const seed = flag(args, '--seed', 0xc0ffee)
  const infoEv: WireEvent = { type: 'info', info }
  const chunkEv: WireEvent = { type: 'list.chunk', chunk }
  const infoBytes = encodeWire(infoEv)
  const chunkBytes = encodeWire(chunkEv)

  const cases = fuzzCorpus([infoBytes, chunkBytes, encodeWire({ type: 'list.pull', pull: { flock: 'crux', me: info.me, since: 17 } })], fuzz, new Rng(seed))
  for (const c of cases) decodeOrRefuse(c) // warm-up: the timed pass below sees compiled code
  let accepted = 0
  const times = cases.map((c) => {
    const t0 = performance.now()
    if (decodeOrRefuse(c)) accepted++
    return (performance.now() - t0) * 1000
  })
  times.sort((a, b) => a - b)

  const key = deriveEnvelopeKey(new Uint8Array(32).map((_, i) => i * 7 + 1), 'crux/v1 secondary', 2)
  const sealer = new EnvelopeSealer(key)
  const opener = new EnvelopeOpener()
  opener.addKey(key)
  const payload = new Uint8Array(300).fill(0x5a)
  let opened = 0
  const sealOpen = perCallUs(() => opener.open(sealer.seal(1, payload)).ok && opened++, Math.max(1, Math.floor(n / 5)))
  if (opened === 0) throw new Error('no envelope opened: the seal/open figure would measure a refusal')

  const r2 = (x: number) => +x.toFixed(2)
  return {
    n,
    info_bytes: infoBytes.length,
    info_encode_us: r2(perCallUs(() => encodeWire(infoEv), n)),
    info_decode_us: r2(perCallUs(() => decodeWire(infoBytes), n)),
    chunk_bytes: chunkBytes.length,
    chunk_encode_us: r2(perCallUs(() => encodeWire(chunkEv), Math.max(1, Math.floor(n / 10)))),
    chunk_decode_us: r2(perCallUs(() => decodeWire(chunkBytes), Math.max(1, Math.floor(n / 10)))),
    fuzz_cases: cases.length,
    fuzz_accepted: accepted,
    fuzz_decode_p99_us: r2(times[Math.floor(times.length * 0.99)]!),
    fuzz_decode_slowest_us: r2(times.at(-1)!),
    seal_open_300b_us: r2(sealOpen),
  }
}
