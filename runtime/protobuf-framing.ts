/**
 * Strict protobuf framing for bytes from the network (actors/flock/wire-codec.ts, actors/monitor/codec.ts).
 * The generated ts-proto decoders are lenient where a hostile datagram must not be: they stop quietly
 * at a 0 or end-group tag, and let a submessage's last field run past the submessage's length. So the
 * codecs walk the framing first, with a table of which fields are messages, and decode only what
 * passed. Strings are decoded as strict UTF-8.
 */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Strict UTF-8, for `new BinaryReader(bytes, decodeUtf8)`: bad UTF-8 throws instead of becoming U+FFFD. */
export const decodeUtf8 = (bytes: Uint8Array): string => strictUtf8.decode(bytes)

/** The message fields of a message, by field number: what the framing walk descends into. */
export type Frame = readonly (Frame | undefined)[]

/**
 * True when bytes [pos, end) are exactly a sequence of well-formed fields, descending into the known
 * message fields. The generated decoder is lenient where this is not: it stops quietly at a 0 or
 * end-group tag, and lets a submessage's last field run past the submessage's length.
 */
export function framed(buf: Uint8Array, pos: number, end: number, frame: Frame): boolean {
  while (pos < end) {
    // Tag: a varint of at most 5 bytes.
    let tag = 0
    let shift = 0
    let b: number
    do {
      if (pos >= end || shift > 28) return false
      b = buf[pos++]!
      tag += (b & 0x7f) * 2 ** shift
      shift += 7
    } while (b & 0x80)
    const field = Math.floor(tag / 8)
    if (field === 0 || tag > 0xffffffff) return false
    switch (tag & 7) {
      case 0: {
        // Varint: at most 10 bytes.
        let n = 0
        do {
          if (pos >= end || ++n > 10) return false
        } while (buf[pos++]! & 0x80)
        break
      }
      case 1:
        pos += 8
        break
      case 5:
        pos += 4
        break
      case 2: {
        let len = 0
        shift = 0
        do {
          if (pos >= end || shift > 28) return false
          b = buf[pos++]!
          len += (b & 0x7f) * 2 ** shift
          shift += 7
        } while (b & 0x80)
        if (len > end - pos) return false
        const sub = frame[field]
        if (sub !== undefined && !framed(buf, pos, pos + len, sub)) return false
        pos += len
        break
      }
      default:
        // Groups (3, 4) are not used by crux; 6 and 7 do not exist.
        return false
    }
  }
  return pos === end
}

