/**
 * When a fulcrum is ready (`/readyz`, a Kubernetes readiness probe): it is in a flock with a known
 * leader and is itself on the member list they agree on, and, when it serves gRPC, its reeve is
 * registered with the steward the flock names now, so the services it announces reach the catalog.
 * Pure: it reads a flock context and what the strew layer follows.
 */
import { servicesOf } from '../../machines/flock/context.js'
import type { FlockContext } from '../../machines/flock/types.js'

/** Ready, or not and why in one line. */
export type Readiness = { ready: true } | { ready: false; reason: string }

/** What readiness reads. */
export interface ReadinessInput {
  flock: FlockContext
  /** The flock machine's role; `left` and `failed` are never ready. */
  role: string
  /** With gRPC on: the steward the reeve registered with (null: none yet). Undefined: gRPC is off. */
  following?: { address: string } | null
}

/** Whether the node is ready, and if not, the first thing missing. */
export function readiness(i: ReadinessInput): Readiness {
  const f = i.flock
  if (i.role === 'left' || i.role === 'failed') return { ready: false, reason: `the flock machine has ${i.role === 'left' ? 'left' : 'failed'}` }
  if (f.flock === '' || f.leader.id === '') return { ready: false, reason: 'not in a flock yet' }
  if (f.list.entries[f.me.id] === undefined) return { ready: false, reason: `not on the member list of flock ${f.flock} (leader ${f.leader.id}) yet` }
  if (i.following === undefined) return { ready: true }
  const steward = servicesOf(f).steward
  if (steward === '') return { ready: false, reason: `flock ${f.flock} names no steward (its leader ${f.leader.id} serves no gRPC)` }
  if (i.following === null) return { ready: false, reason: `the reeve is not registered with the steward ${steward} yet` }
  if (i.following.address !== steward) return { ready: false, reason: `the reeve is registered with ${i.following.address}, not yet with the flock's steward ${steward}` }
  return { ready: true }
}
