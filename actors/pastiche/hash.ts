/**
 * Blob names. A blob is named by the SHA-256 of its bytes, written `sha256:<64 lowercase hex>` as the
 * CLI prints it. Parsing is strict (no bare hex, no upper case, no other algorithm): a name is also a
 * file name in the store, so anything looser would let two spellings name one blob, or a path escape.
 */
import { createHash } from 'node:crypto'
import { BadHashError } from './errors.js'

/** The name of the zero-byte blob (a valid blob: an empty file is content like any other). */
export const EMPTY_BLOB = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

const PREFIX = 'sha256:'
const HEX64 = /^[0-9a-f]{64}$/

/** The 64 hex digits of a blob name; throws {@link BadHashError} naming what is wrong. */
export function hexOf(hash: unknown): string {
  if (typeof hash !== 'string') throw new BadHashError(hash, 'not a string')
  if (hash === '') throw new BadHashError(hash, 'empty hash')
  if (!hash.startsWith(PREFIX)) throw new BadHashError(hash, 'must start with "sha256:"')
  const hex = hash.slice(PREFIX.length)
  if (hex.length !== 64) throw new BadHashError(hash, `${hex.length} hex digits after "sha256:", 64 expected`)
  if (!HEX64.test(hex)) throw new BadHashError(hash, 'only lower-case hex digits 0-9 a-f after "sha256:"')
  return hex
}

/** Checks a blob name and returns it unchanged (throws {@link BadHashError}). */
export function parseHash(hash: unknown): string {
  hexOf(hash)
  return hash as string
}

/** The blob name of 64 hex digits. */
export function hashOfHex(hex: string): string {
  return PREFIX + hex
}

/** The blob name of some bytes held in memory (tests, small values). */
export function hashOfBytes(bytes: Uint8Array): string {
  return PREFIX + createHash('sha256').update(bytes).digest('hex')
}
