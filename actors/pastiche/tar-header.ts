/**
 * POSIX ustar headers (512-byte blocks) and pax extended records, as the deterministic tar writes and
 * reads them. Parsing is bounded and strict: a bad checksum, a non-octal number or a pax record that
 * does not add up is a {@link TarError}, never a guess.
 */
import { TarError } from './errors.js'

export const BLOCK = 512
/** The largest size an octal ustar field holds (11 digits); larger files carry a pax `size`. */
const MAX_OCTAL_SIZE = 0o77777777777
/** Bound on a pax header's bytes: paths and sizes only, never more. */
export const MAX_PAX_BYTES = 64 * 1024
/** Bound on an entry's path. */
export const MAX_PATH_BYTES = 4096
const PAX_NAME = '././@PaxHeader'

export type EntryType = 'file' | 'dir' | 'pax' | 'global-pax' | 'other'

export interface Header {
  name: string
  mode: number
  size: number
  type: EntryType
  /** The raw type flag, for errors on entries that are refused. */
  flag: string
}

function putString(block: Buffer, at: number, len: number, s: string): void {
  block.write(s, at, len, 'utf8')
}

function putOctal(block: Buffer, at: number, len: number, n: number): void {
  block.write(n.toString(8).padStart(len - 1, '0') + '\0', at, len, 'ascii')
}

/** One ustar header block; mtime, uid, gid 0 and empty user and group names, for determinism. */
export function encodeHeader(name: string, mode: number, size: number, flag: '0' | '5' | 'x'): Buffer {
  const b = Buffer.alloc(BLOCK)
  putString(b, 0, 100, name)
  putOctal(b, 100, 8, mode)
  putOctal(b, 108, 8, 0)
  putOctal(b, 116, 8, 0)
  putOctal(b, 124, 12, size)
  putOctal(b, 136, 12, 0)
  b.write(flag, 156, 1, 'ascii')
  b.write('ustar\0', 257, 6, 'ascii')
  b.write('00', 263, 2, 'ascii')
  putOctal(b, 329, 8, 0)
  putOctal(b, 337, 8, 0)
  b.fill(0x20, 148, 156)
  putOctal(b, 148, 7, checksum(b))
  b[155] = 0x20
  return b
}

function checksum(b: Buffer): number {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!
  return sum
}

/** One pax record, `"<len> <key>=<value>\n"`, where len counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const bodyLen = Buffer.byteLength(body)
  let len = bodyLen + 1
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen
  return `${len}${body}`
}

/** The blocks of one entry's header: a pax header first when the name or size do not fit ustar. */
export function entryHeaders(name: string, mode: number, size: number, flag: '0' | '5'): Buffer[] {
  let pax = ''
  if (Buffer.byteLength(name) > 100) pax += paxRecord('path', name)
  if (size > MAX_OCTAL_SIZE) pax += paxRecord('size', String(size))
  const main = encodeHeader(Buffer.from(name).subarray(0, 100).toString('utf8').replace(/\uFFFD+$/, ''), mode, size > MAX_OCTAL_SIZE ? 0 : size, flag)
  if (pax === '') return [main]
  const data = Buffer.from(pax)
  return [encodeHeader(PAX_NAME, 0o644, data.length, 'x'), pad(data), main]
}

/** `data` padded with zeros to a whole number of blocks. */
export function pad(data: Buffer): Buffer {
  const rest = data.length % BLOCK
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)])
}

function getString(b: Buffer, at: number, len: number): string {
  const field = b.subarray(at, at + len)
  const end = field.indexOf(0)
  return field.subarray(0, end === -1 ? len : end).toString('utf8')
}

function getOctal(b: Buffer, at: number, len: number, what: string): number {
  if ((b[at]! & 0x80) !== 0) throw new TarError(`corrupt tar: base-256 ${what} is not supported`)
  const s = getString(b, at, len).replace(/[ \0]+$/, '').replace(/^ +/, '')
  if (s === '') return 0
  if (!/^[0-7]{1,12}$/.test(s)) throw new TarError(`corrupt tar: ${what} field ${JSON.stringify(s)} is not octal`)
  return parseInt(s, 8)
}

/** Whether a block is all zeros (the end of the archive). */
export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false
  return true
}

/** Decodes one header block; throws {@link TarError} on a bad checksum or field. */
export function decodeHeader(b: Buffer): Header {
  const stored = getOctal(b, 148, 8, 'checksum')
  if (stored !== checksum(b)) throw new TarError('corrupt tar: header checksum does not match')
  if (b.toString('ascii', 257, 262) !== 'ustar') throw new TarError('corrupt tar: not a ustar header')
  const prefix = getString(b, 345, 155)
  const name = getString(b, 0, 100)
  const flag = String.fromCharCode(b[156]!)
  const type: EntryType = flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'dir' : flag === 'x' ? 'pax' : flag === 'g' ? 'global-pax' : 'other'
  return { name: prefix === '' ? name : `${prefix}/${name}`, mode: getOctal(b, 100, 8, 'mode'), size: getOctal(b, 124, 12, 'size'), type, flag }
}

/** The `path` and `size` of a pax header's records (others are ignored); strict about the framing. */
export function parsePax(data: Buffer): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {}
  let at = 0
  while (at < data.length) {
    const space = data.indexOf(0x20, at)
    if (space === -1 || space - at > 20) throw new TarError('corrupt tar: bad pax record length')
    const lenText = data.toString('ascii', at, space)
    const len = /^[1-9][0-9]*$/.test(lenText) ? Number(lenText) : NaN
    if (!Number.isSafeInteger(len) || at + len > data.length || data[at + len - 1] !== 0x0a) throw new TarError('corrupt tar: bad pax record length')
    const record = data.toString('utf8', space + 1, at + len - 1)
    const eq = record.indexOf('=')
    if (eq <= 0) throw new TarError('corrupt tar: pax record without key')
    const key = record.slice(0, eq)
    const value = record.slice(eq + 1)
    if (key === 'path') out.path = value
    if (key === 'size') {
      if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new TarError('corrupt tar: bad pax size')
      out.size = Number(value)
    }
    at += len
  }
  return out
}
