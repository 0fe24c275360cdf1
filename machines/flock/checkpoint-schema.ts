/**
 * The schema of a persisted {@link FlockCheckpoint}, checked before a node is spawned from it. A
 * checkpoint is only ever written by {@link checkpoint} (context.ts), so anything else in the file —
 * a number where a string belongs, a leader without an address, a string longer than the wire
 * carries — is damage or an edit, and a node restored from it would carry the damage into its packets
 * (its id names it to every peer). Pure: the fulcrum reads the file and names it in the error.
 */
import type { FlockCheckpoint } from './types.js'
import { WIRE_LIMITS } from './wire-limits.js'

/** More than any checkpoint holds (32 history entries, 256 known peers): a bound, not a format. */
const MAX_ENTRIES = 1024
/**
 * The wire's bounds in UTF-8 bytes. Every NodeId in a checkpoint but the node's own came from a peer
 * through the codec, which holds them to these bounds and no more: a stricter format here would let
 * one odd but valid peer make every checkpoint unloadable.
 */
const LIMIT = WIRE_LIMITS

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const show = (x: unknown): string => (JSON.stringify(x) ?? String(x)).slice(0, 80)

function utf8Bytes(s: string): number {
  let n = 0
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
  }
  return n
}

/** What is wrong with `x` as a string of at most `max` UTF-8 bytes (`min` characters at least), or null. */
function stringProblem(x: unknown, where: string, max: number, min = 0): string | null {
  if (typeof x !== 'string' || x.length < min || utf8Bytes(x) > max) return `${where} must be a string of ${min}–${max} bytes, got ${show(x)}`
  return null
}

/** What is wrong with a NodeId at `where`, or null. */
export function nodeIdProblem(x: unknown, where: string): string | null {
  if (!isObject(x)) return `${where} must be an object {id, addr, horde}, got ${show(x)}`
  return stringProblem(x.id, `${where}.id`, LIMIT.id) ?? stringProblem(x.addr, `${where}.addr`, LIMIT.addr) ?? stringProblem(x.horde, `${where}.horde`, LIMIT.horde)
}

function listProblem(x: unknown, where: string): string | null {
  if (!Array.isArray(x)) return `${where} must be a list, got ${show(x)}`
  if (x.length > MAX_ENTRIES) return `${where} holds ${x.length} entries, more than ${MAX_ENTRIES}`
  for (let i = 0; i < x.length; i++) {
    const p = nodeIdProblem(x[i], `${where}[${i}]`)
    if (p !== null) return p
  }
  return null
}

/**
 * What is wrong with `x` as the checkpoint of node `self` (omit `self` to check the shape alone), or
 * null when it may be restored. `known` may be absent: checkpoints written before it existed lack it.
 */
export function checkpointProblem(x: unknown, self?: string): string | null {
  if (!isObject(x)) return `a checkpoint must be an object {id, flock, leader, history, known}, got ${show(x)}`
  for (const k of Object.keys(x)) if (!['id', 'flock', 'leader', 'history', 'known'].includes(k)) return `unknown field ${show(k)}`
  const idProblem = stringProblem(x.id, 'id', LIMIT.id, 1)
  if (idProblem !== null) return idProblem
  // The id is restored as the node's own: another node's id would have every peer drop its packets.
  if (self !== undefined && x.id !== self) return `id ${show(x.id)} is not this node's id ${show(self)} (another node's checkpoint?)`
  const flockProblem = stringProblem(x.flock, 'flock', LIMIT.flock)
  if (flockProblem !== null) return flockProblem
  if (x.leader !== null) {
    const p = nodeIdProblem(x.leader, 'leader')
    if (p !== null) return `${p} (or null)`
  }
  return listProblem(x.history, 'history') ?? (x.known === undefined ? null : listProblem(x.known, 'known'))
}
