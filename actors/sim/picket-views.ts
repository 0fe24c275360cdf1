/**
 * What the picket checker (actors/sim/picket-check.ts) reads of a node, from its machines' contexts:
 * its picket's services and what its reeve serves; and the runs a picket step left registered. The
 * simulator reads live hosts, `crux check` the replayed cells: one reader for both, so they judge alike.
 */
import type { PicketConfig, PicketContext } from '../../machines/picket/types.js'
import { DEFAULT_PICKET_CONFIG, viewOf } from '../../machines/picket/context.js'
import { musterTags } from '../../machines/picket/muster.js'
import type { ReeveContext } from '../../machines/reeve/rules.js'
import { isServed } from '../../machines/reeve/served.js'
import type { PicketHistory, PicketNodeView } from './picket-check.js'

/** Where the simulator's start requests are answered (a port it takes itself). */
export const PICKET_ANSWERS = 'port:picket-sim-answers'

/** The picket machines' settings in the simulator: backoffs in heartbeats, as the pastiche layer scales its own. */
export function simPicketConfig(hbMs: number): PicketConfig {
  return { ...DEFAULT_PICKET_CONFIG, backoffMinMs: hbMs / 4, backoffMaxMs: 8 * hbMs, backoffResetMs: 10 * hbMs, hbMs }
}

/** The view of node `addr` from its picket's and its reeve's contexts (`undefined`: no such actor, or failed). */
export function picketViewOf(addr: string, picket: unknown, reeve: unknown): PicketNodeView {
  const p = picket as PicketContext | undefined
  const r = reeve as Pick<ReeveContext, 'catalog' | 'listed'> | undefined
  const services = Object.values(p?.services ?? {}).map((s) => ({
    name: s.name,
    state: s.state,
    run: s.current?.run ?? null,
    address: s.current?.address ?? null,
    registered: s.current?.registered === true,
    nodeId: s.manifest === null || p === undefined ? null : `${p.input.nodeIdPrefix}/${s.manifest.service}/${s.manifest.api}`,
    failures: s.failures,
    restarts: s.restarts,
  }))
  const served = (nodeId: string) => {
    const e = r?.catalog.endpoints[nodeId]
    return r === undefined || e === undefined || (r.listed != null && !isServed(r.listed, nodeId)) ? undefined : e
  }
  return {
    node: addr,
    services,
    muster: p?.muster == null ? null : { nodeId: p.muster.endpoint.nodeId, tags: musterTags(p, viewOf) },
    served: (nodeId) => {
      const e = served(nodeId)
      return e === undefined ? undefined : { state: e.state, address: e.address, tags: e.tags ?? [] }
    },
  }
}

/** Tells `history` of each current run of `picket` newly registered (`told`: the runs already told, per node). */
export function tellRegistered(history: PicketHistory, addr: string, picket: PicketContext, told: Set<number>, at: number): void {
  for (const name in picket.services) {
    const s = picket.services[name]!
    const r = s.current
    if (r === null || !r.registered || told.has(r.run)) continue
    told.add(r.run)
    history.registered(addr, s.name, r.run, at, s.failures)
  }
}
