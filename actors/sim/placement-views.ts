/**
 * What the placement checker (actors/sim/placement-check.ts) reads of a node, from its machines'
 * contexts: its picket's services (up as a muster says it: running, registered) and whether its
 * proctor leads. The simulator reads live hosts, `crux check` the replayed cells: one reader for both,
 * so they judge alike.
 */
import { viewOf } from '../../machines/picket/context.js'
import type { PicketContext } from '../../machines/picket/types.js'
import type { ProctorContext } from '../../machines/placement/types.js'
import type { PlacementNodeView } from './placement-check.js'

/** Where the proctor's answers to the simulator's apply go (a port the simulator takes itself). */
export const PLACEMENT_ANSWERS = 'port:placement-sim-answers'

/** The view of node `addr` from its picket's and its proctor's contexts (`undefined`: no such actor, or failed). */
export function placementViewOf(addr: string, picket: unknown, proctor: unknown): PlacementNodeView {
  const p = picket as PicketContext | undefined
  const r = proctor as Pick<ProctorContext, 'leading' | 'term'> | undefined
  return {
    node: addr,
    services: Object.values(p?.services ?? {}).map((s) => ({ name: s.name, state: s.state, up: viewOf(s).up })),
    leadingTerm: r?.leading === true ? r.term : 0,
  }
}
