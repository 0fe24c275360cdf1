/**
 * What a fulcrum checks of its data dir's stores on load, before it binds or joins (docs/RUNTIME.md
 * "The data dir"): the flock checkpoint against its schema (machines/flock/checkpoint-schema.ts),
 * and the reeve's records in its store log (`strew/<node>~reeve.log`). Two kinds of key are ever
 * written there: `local<NodeID>` by the reeve machine (a registered endpoint,
 * machines/reeve/rules.ts) and `beat/<uuid>` by the ReeveService (a heartbeat-kept registration,
 * reeve-service.ts). A record of the right JSON shape but wrong types would otherwise be restored
 * without a word and served to every reeve of the flock.
 */
import { checkpointProblem } from '../../machines/flock/checkpoint-schema.js'
import type { FlockCheckpoint } from '../../machines/flock/types.js'
import { IdFormatError, parseNodeId } from '../../machines/strew/ids.js'
import { DataDirError } from '../../runtime/errors.js'
import type { LogStore } from '../../runtime/log-store.js'
import type { FileStore } from '../../runtime/store.js'
import { isHostPort, STREW_LIMITS } from '../strew/fields.js'

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const show = (x: unknown): string => (JSON.stringify(x) ?? String(x)).slice(0, 80)
/** The same bounds a registration's fields passed at the gRPC edge (strew-codec.ts). */
const MAX = STREW_LIMITS

/** What is wrong with NodeID `s` of a service on node `node`, or null. */
function nodeIdProblem(s: unknown, node: string): string | null {
  if (typeof s !== 'string' || s.length > MAX.nodeId) return `nodeId must be a NodeID string, got ${show(s)}`
  try {
    const p = parseNodeId(s)
    // A reeve speaks only for its own node: another node's endpoint here is another node's log.
    if (p.node !== node) return `nodeId ${show(s)} is not on this node ${show(node)} (another node's log?)`
    if (p.service === '' || p.api === '') return `nodeId ${show(s)} must name a service and an API`
  } catch (err) {
    if (err instanceof IdFormatError) return err.message
    throw err
  }
  return null
}

function stringProblem(e: Record<string, unknown>, field: string, max: number, empty = true): string | null {
  const v = e[field]
  if (typeof v !== 'string' || v.length > max || (!empty && v === '')) return `${field} must be a string of ${empty ? 0 : 1}–${max} characters, got ${show(v)}`
  return null
}

/** What is wrong with a registered endpoint stored under `local<NodeID>`. */
function endpointProblem(key: string, e: unknown, node: string): string | null {
  if (!isObject(e)) return `an endpoint must be an object, got ${show(e)}`
  if (e.nodeId !== key.slice('local'.length)) return `nodeId ${show(e.nodeId)} is not the key's`
  if (typeof e.address !== 'string' || !isHostPort(e.address)) return `address must be HOST:PORT, got ${show(e.address)}`
  if (e.state !== 'up' && e.state !== 'down') return `state must be "up" or "down", got ${show(e.state)}`
  const tags = e.tags
  if (tags !== undefined && (!Array.isArray(tags) || tags.length > MAX.tags || tags.some((t) => typeof t !== 'string' || t === '' || t.length > MAX.tag))) {
    return `tags must be at most ${MAX.tags} strings of 1–${MAX.tag} characters, got ${show(tags)}`
  }
  return (
    nodeIdProblem(e.nodeId, node) ??
    stringProblem(e, 'netId', MAX.netId, false) ??
    stringProblem(e, 'horde', MAX.name, false) ??
    stringProblem(e, 'api', MAX.name, false) ??
    stringProblem(e, 'instance', MAX.name, false) ??
    stringProblem(e, 'keyId', MAX.keyId)
  )
}

/** What is wrong with a heartbeat-kept registration stored under `beat/<uuid>`. */
function keptProblem(key: string, k: unknown, node: string): string | null {
  if (!isObject(k)) return `a heartbeat registration must be an object {uuid, nodeId, holdMs}, got ${show(k)}`
  if (k.uuid !== key.slice('beat/'.length) || key.length === 'beat/'.length || key.length > 'beat/'.length + MAX.name) return `uuid ${show(k.uuid)} is not the key's`
  if (typeof k.holdMs !== 'number' || !Number.isFinite(k.holdMs) || k.holdMs <= 0) return `holdMs must be a positive number of ms, got ${show(k.holdMs)}`
  return nodeIdProblem(k.nodeId, node)
}

/** What is wrong with the reeve record `value` under `key` on node `node`, or null. */
export function reeveRecordProblem(key: string, value: unknown, node: string): string | null {
  if (key.startsWith('local/')) return endpointProblem(key, value, node)
  if (key.startsWith('beat/')) return keptProblem(key, value, node)
  return 'not a key a reeve writes (local/<NodeID> or beat/<uuid>)'
}

/**
 * Loads `actor`'s log from `store` and checks every live record: the first problem stops the
 * fulcrum with one line naming the file and the key (a torn tail was dropped by the load itself).
 */
export function checkReeveLog(store: LogStore, actor: string, node: string): void {
  for (const key of store.keys(actor)) {
    const problem = reeveRecordProblem(key, store.get(actor, key), node)
    if (problem !== null) throw new DataDirError(store.fileOf(actor), `record ${show(key)}: ${problem}`)
  }
}

/** Node `node`'s flock checkpoint from `files` (undefined: none yet), or a {@link DataDirError} naming the file. */
export function loadCheckpoint(files: FileStore, actor: string, node: string): FlockCheckpoint | undefined {
  const value = files.get(actor, 'checkpoint')
  if (value === undefined) return undefined
  const problem = checkpointProblem(value, node)
  if (problem !== null) throw new DataDirError(files.fileOf(actor, 'checkpoint'), problem)
  return value as FlockCheckpoint
}
