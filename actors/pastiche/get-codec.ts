/**
 * GetResponse on the wire without the generic codec's copies: a blob's bytes are read from disk into
 * a buffer that has room in front for the message's other fields, which are written there, so the
 * message is the buffer itself (grpc-js then frames it, its one copy); and a received message's bytes
 * are a view of the received buffer, not a copy. At 1 MiB per message the generic path made several
 * copies and growing buffers per chunk, and its garbage (with the 1 MiB young generation fulcrums run
 * with) cost as much CPU as the transfer itself. The encoding is plain proto3: any decoder reads it.
 */
import type { GetResponse } from '../../protos/gen/crux/v1/pastiche.js'
import { GetResponse as Generic } from '../../protos/gen/crux/v1/pastiche.js'

/** Room before the data for the other fields: two tags and 64-bit varints, a tag and a length. */
export const GET_PREFIX = 32

function varintLength(n: number): number {
  let len = 1
  while (n >= 128) (n = Math.floor(n / 128)), len++
  return len
}

function putVarint(b: Buffer, at: number, n: number): number {
  while (n >= 128) {
    b[at++] = (n % 128) | 0x80
    n = Math.floor(n / 128)
  }
  b[at++] = n
  return at
}

/**
 * The message of `data`, which sits in `buf` from `GET_PREFIX` on (`buf` was allocated with that room):
 * offset (1), total (3) when not zero, then data (2). Returns a view of `buf`; no byte of data moves.
 */
export function encodeGetInPlace(buf: Buffer, dataLength: number, offset: number, total: number): Buffer {
  const head = (offset === 0 ? 0 : 1 + varintLength(offset)) + (total === 0 ? 0 : 1 + varintLength(total)) + 1 + varintLength(dataLength)
  let at = GET_PREFIX - head
  const start = at
  if (offset !== 0) (buf[at++] = 0x08), (at = putVarint(buf, at, offset))
  if (total !== 0) (buf[at++] = 0x18), (at = putVarint(buf, at, total))
  buf[at++] = 0x12
  putVarint(buf, at, dataLength)
  return buf.subarray(start, GET_PREFIX + dataLength)
}

/** What a GetResponse handler writes: a message already encoded in place, or a plain one. */
export function serializeGet(value: Buffer | GetResponse): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(Generic.encode(value).finish())
}

/** Decodes a GetResponse; `data` is a view of `b`. Unknown fields are skipped as proto3 says. */
export function decodeGet(b: Buffer): GetResponse {
  const m: GetResponse = { offset: 0, data: Buffer.alloc(0), total: 0 }
  let at = 0
  const varint = (): number => {
    let n = 0
    let scale = 1
    for (;;) {
      if (at >= b.length) throw new RangeError('truncated GetResponse')
      const byte = b[at++]!
      n += (byte & 0x7f) * scale
      if (byte < 0x80) return n
      scale *= 128
      if (scale > 2 ** 63) throw new RangeError('varint too long in GetResponse')
    }
  }
  while (at < b.length) {
    const key = varint()
    const field = Math.floor(key / 8)
    const wire = key % 8
    if (wire === 0) {
      const v = varint()
      if (field === 1) m.offset = v
      else if (field === 3) m.total = v
    } else if (wire === 2) {
      const len = varint()
      if (at + len > b.length) throw new RangeError('truncated GetResponse')
      if (field === 2) m.data = b.subarray(at, at + len)
      at += len
    } else if (wire === 1) at += 8
    else if (wire === 5) at += 4
    else throw new RangeError(`unknown wire type ${wire} in GetResponse`)
  }
  if (at > b.length) throw new RangeError('truncated GetResponse')
  return m
}
