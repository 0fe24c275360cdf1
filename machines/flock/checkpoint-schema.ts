/**
 * The schema of a persisted {@link FlockCheckpoint}, checked before a node is spawned from it. A
 * checkpoint is only ever written by {@link checkpoint} (context.ts), so anything else in the file —
 * a number where a string belongs, a leader without an address — is damage or an edit, and a node
 * restored from it would carry the damage into its packets (its id names it to every peer). Pure:
 * the fulcrum reads the file and turns a problem into an error naming it.
 */
import type { FlockCheckpoint } from './types.js'

/** More than any checkpoint holds (32 history entries, 256 known peers): a bound, not a format. */
const MAX_ENTRIES = 1024
const ID = /^[A-Za-z0-9._:-]{1,64}$/
const HORDE = /^[A-Za-z0-9._-]{0,64}$/
const FLOCK = /^[A-Za-z0-9._:-]{0,64}$/
/** host:port or [v6]:port, port 1–65535. */
const ADDR = /^(?:[A-Za-z0-9._-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5})$/

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const show = (x: unknown): string => (JSON.stringify(x) ?? String(x)).slice(0, 80)

/** What is wrong with a NodeId at `where`, or null. */
export function nodeIdProblem(x: unknown, where: string): string | null {
  if (!isObject(x)) return `${where} must be an object {id, addr, horde}, got ${show(x)}`
  if (typeof x.id !== 'string' || !ID.test(x.id)) return `${where}.id must be 1–64 of letters, digits, '.', '_', ':', '-', got ${show(x.id)}`
  const port = typeof x.addr === 'string' ? ADDR.exec(x.addr)?.[1] : undefined
  if (port === undefined || Number(port) < 1 || Number(port) > 65_535) return `${where}.addr must be HOST:PORT, got ${show(x.addr)}`
  if (typeof x.horde !== 'string' || !HORDE.test(x.horde)) return `${where}.horde must be 0–64 of letters, digits, '.', '_', '-', got ${show(x.horde)}`
  return null
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
  if (typeof x.id !== 'string' || !ID.test(x.id)) return `id must be 1–64 of letters, digits, '.', '_', ':', '-', got ${show(x.id)}`
  // The id is restored as the node's own: another node's id would have every peer drop its packets.
  if (self !== undefined && x.id !== self) return `id ${show(x.id)} is not this node's id ${show(self)} (another node's checkpoint?)`
  if (typeof x.flock !== 'string' || !FLOCK.test(x.flock)) return `flock must be 0–64 of letters, digits, '.', '_', ':', '-', got ${show(x.flock)}`
  if (x.leader !== null) {
    const p = nodeIdProblem(x.leader, 'leader')
    if (p !== null) return `${p} (or null)`
  }
  return listProblem(x.history, 'history') ?? (x.known === undefined ? null : listProblem(x.known, 'known'))
}
