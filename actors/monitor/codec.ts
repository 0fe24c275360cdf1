/**
 * The monitoring codec: MonInfo batches and beacon watch requests as `crux.v1.MonPacket` bytes
 * (protos/crux/v1/monitor.proto) and back. Like the wire codec, `decodeMonitor` is an edge hostile
 * bytes cross: strict framing first, then the generated decoder, then content checks against the TS
 * shapes (machines/status/types.ts) and {@link MONITOR_LIMITS}; anything else throws
 * {@link MonitorDecodeError} and nothing else.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire'
import { MON_OPS, type MonRecord } from '../../machines/status/types.js'
import * as pb from '../../protos/gen/crux/v1/monitor.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { decodeUtf8, framed, type Frame } from '../../runtime/protobuf-framing.js'
import { MAX_DATAGRAM_BYTES } from '../../runtime/transport.js'

export const MONITOR_LIMITS = {
  /** node, flock, leader, oflock, cause. */
  name: 64,
  /** Records per batch; {@link batches} packs fewer when they would not fit one datagram. */
  batch: 64,
} as const

/** What a monitor datagram carries. */
export type MonitorPacket = { type: 'batch'; events: MonRecord[]; index: number; count: number; dump: boolean } | { type: 'watch'; nonce: number }

export class MonitorDecodeError extends InvalidArgumentError {
  constructor(message: string, cause?: unknown) {
    super(`monitor: ${message}`, cause === undefined ? {} : { cause })
    this.name = 'MonitorDecodeError'
  }
}

const OPS: ReadonlySet<string> = new Set(MON_OPS)
const utf8 = new TextEncoder()
const tooLong = (s: string) => s.length > MONITOR_LIMITS.name || utf8.encode(s).length > MONITOR_LIMITS.name

/** Why a record cannot travel, or undefined. */
function recordProblem(m: MonRecord): string | undefined {
  if (!OPS.has(m.op)) return `op ${JSON.stringify(m.op).slice(0, 80)} is not a MonInfo op`
  for (const k of ['node', 'flock', 'leader', 'oflock', 'cause'] as const) if (typeof m[k] !== 'string' || tooLong(m[k])) return `${k} is not a string of ≤ ${MONITOR_LIMITS.name} bytes`
  if (m.service !== undefined && (typeof m.service !== 'string' || tooLong(m.service))) return `service is not a string of ≤ ${MONITOR_LIMITS.name} bytes`
  if (!Number.isSafeInteger(m.n) || m.n < 0 || m.n > 0xffff_ffff) return 'n is not a uint32'
  if (!Number.isSafeInteger(m.t) || m.t < 0) return 't is not a non-negative safe integer'
  return undefined
}

/** Encodes one packet; throws MonitorDecodeError-free CruxError(INVALID_ARGUMENT) on content it cannot carry. */
export function encodeMonitor(p: MonitorPacket): Uint8Array {
  if (p.type === 'watch') return pb.MonPacket.encode({ body: { $case: 'watch', value: { nonce: p.nonce } } }).finish()
  if (p.events.length > MONITOR_LIMITS.batch) throw new InvalidArgumentError(`monitor: a batch holds at most ${MONITOR_LIMITS.batch} records`)
  for (const m of p.events) {
    const problem = recordProblem(m)
    if (problem !== undefined) throw new InvalidArgumentError(`monitor: ${problem}`)
  }
  const events = p.events.map((m) => ({ op: m.op, node: m.node, flock: m.flock, leader: m.leader, n: m.n, oflock: m.oflock, t: m.t, cause: m.cause, service: m.service ?? '' }))
  return pb.MonPacket.encode({ body: { $case: 'batch', value: { events, index: p.index, count: p.count, dump: p.dump } } }).finish()
}

const RECORD_FRAME: Frame = []
const BATCH_FRAME: Frame = [undefined, RECORD_FRAME]
const PACKET_FRAME: Frame = [undefined, BATCH_FRAME, []]

function decode(bytes: Uint8Array): MonitorPacket {
  if (!(bytes instanceof Uint8Array)) throw new MonitorDecodeError('input is not a Uint8Array')
  if (bytes.length > MAX_DATAGRAM_BYTES) throw new MonitorDecodeError(`${bytes.length} bytes exceed the ${MAX_DATAGRAM_BYTES}-byte datagram limit`)
  if (!framed(bytes, 0, bytes.length, PACKET_FRAME)) throw new MonitorDecodeError('malformed protobuf framing')
  const reader = new BinaryReader(bytes, decodeUtf8)
  const packet = pb.MonPacket.decode(reader)
  if (reader.pos !== reader.len) throw new MonitorDecodeError(`decoder stopped at byte ${reader.pos} of ${reader.len}`)
  const body = packet.body
  if (body === undefined) throw new MonitorDecodeError('packet carries no message')
  if (body.$case === 'watch') return { type: 'watch', nonce: body.value.nonce }
  const { events, index, count, dump } = body.value
  if (events.length > MONITOR_LIMITS.batch) throw new MonitorDecodeError(`a batch of ${events.length} records (at most ${MONITOR_LIMITS.batch})`)
  if (count > 0 && index >= count) throw new MonitorDecodeError(`batch index ${index} of ${count}`)
  const out: MonRecord[] = []
  for (const e of events) {
    // `service` only where a service's record has one: a flock record decodes as it was sent.
    const { service, ...rest } = e
    const m: MonRecord = service === '' ? { ...rest, op: e.op as MonRecord['op'] } : { ...rest, op: e.op as MonRecord['op'], service }
    const problem = recordProblem(m)
    if (problem !== undefined) throw new MonitorDecodeError(problem)
    out.push(m)
  }
  return { type: 'batch', events: out, index, count, dump }
}

/** Decodes one monitor datagram's plaintext; throws {@link MonitorDecodeError} and nothing else. */
export function decodeMonitor(bytes: Uint8Array): MonitorPacket {
  try {
    return decode(bytes)
  } catch (err) {
    if (err instanceof MonitorDecodeError) throw err
    throw new MonitorDecodeError(`undecodable: ${err instanceof Error ? err.message : String(err)}`, err)
  }
}

/**
 * Packs records, in order, into batches whose encoding is at most `budget` bytes (the envelope's
 * plaintext limit by default), numbered for a dump. A record is at most ≈ 430 bytes, so every batch
 * holds at least three.
 */
export function batches(events: readonly MonRecord[], dump = false, budget = MAX_DATAGRAM_BYTES - 30): MonitorPacket[] {
  const groups: MonRecord[][] = [[]]
  let size = 16 // the batch's own tag, length, index and count
  for (const m of events) {
    const cost = pb.MonInfo.encode({ ...m, service: m.service ?? '' }).finish().length + 3
    const group = groups.at(-1)!
    if (group.length > 0 && (size + cost > budget || group.length >= MONITOR_LIMITS.batch)) {
      groups.push([m])
      size = 16 + cost
    } else {
      group.push(m)
      size += cost
    }
  }
  return groups.map((g, index) => ({ type: 'batch', events: g, index, count: groups.length, dump }))
}
