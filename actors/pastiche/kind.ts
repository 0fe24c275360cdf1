/**
 * Whether a blob is a directory: a store holds bytes and no kind, so `crux pastiche get` tells a
 * directory by its bytes. A blob is taken for a directory when it starts with a header exactly as
 * packTar writes one (tar-header.ts encodeHeader: a good checksum, `ustar\0` `00`, uid, gid and mtime
 * written as zeros, no user or group names, no device numbers), or when it is the empty archive (two
 * zero blocks: an empty directory). A tar made by another tool has an mtime or an owner and stays a
 * file; `--raw` writes any blob as the bytes it is.
 */
import { BLOCK, decodeHeader } from './tar-header.js'

export type BlobKind = 'file' | 'dir'

const ZERO8 = '0000000\0'
const ZERO12 = '00000000000\0'

/** The kind of a blob of `size` bytes whose first bytes (up to 1024) are `head`. */
export function kindOf(head: Buffer, size: number): BlobKind {
  if (size === 2 * BLOCK) return head.length === 2 * BLOCK && head.every((b) => b === 0) ? 'dir' : 'file'
  if (size < 3 * BLOCK || size % BLOCK !== 0 || head.length < BLOCK) return 'file'
  const b = head.subarray(0, BLOCK)
  try {
    const h = decodeHeader(b)
    if (h.type !== 'file' && h.type !== 'dir' && h.type !== 'pax') return 'file'
  } catch {
    return 'file'
  }
  const ascii = (at: number, len: number) => b.toString('latin1', at, at + len)
  const zeros = (at: number, len: number) => b.subarray(at, at + len).every((x) => x === 0)
  const packed = ascii(257, 8) === 'ustar\u000000' && ascii(108, 8) === ZERO8 && ascii(116, 8) === ZERO8 && ascii(136, 12) === ZERO12 && zeros(265, 64) && ascii(329, 8) === ZERO8 && ascii(337, 8) === ZERO8
  return packed ? 'dir' : 'file'
}
