/**
 * What a running service may tell its node, checked: the service is untrusted, so anything else is
 * dropped (and counted by the caller). A token bucket bounds how many messages of one run are taken,
 * so a service flooding its channel costs the node a bounded amount of work per second.
 */
import { createTokenBucket } from '../../runtime/token-bucket.js'
import { isHostPort } from '../strew/fields.js'

export type ChildMessage = { t: 'alive' } | { t: 'listening'; address: string } | { t: 'lookup'; id: number; api: string }

/** An API name as the catalog has them (a lookup of anything else is dropped). */
const API = /^[A-Z][A-Za-z0-9_]{0,63}$/

/** The message `m` names, or null when it is none (wrong shape, unknown `t`, an address that is not host:port). */
export function childMessage(m: unknown): ChildMessage | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return null
  const o = m as Record<string, unknown>
  const keys = Object.keys(o)
  if (o.t === 'alive' && keys.length === 1) return { t: 'alive' }
  if (o.t === 'listening' && keys.length === 2 && typeof o.address === 'string' && isHostPort(o.address)) return { t: 'listening', address: o.address }
  if (o.t === 'lookup' && keys.length === 3 && Number.isSafeInteger(o.id) && (o.id as number) >= 0 && typeof o.api === 'string' && API.test(o.api)) return { t: 'lookup', id: o.id as number, api: o.api }
  return null
}

/** The JSON line `line` as a message, or null. */
export function childLine(line: string): ChildMessage | null {
  try {
    return childMessage(JSON.parse(line))
  } catch {
    return null
  }
}

/** Messages a run may send in a burst, and per second after it: ample for beats every ttl/3 (ttl ≥ 100 ms). */
export const MESSAGE_BURST = 50
export const MESSAGES_PER_SECOND = 50

/** A token bucket (runtime/token-bucket.ts): `take(now)` says whether one more message fits. */
export function messageBucket(burst = MESSAGE_BURST, perSecond = MESSAGES_PER_SECOND): { take(now: number): boolean } {
  return createTokenBucket({ burst, perS: perSecond })
}
