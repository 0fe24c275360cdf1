/**
 * Placement in a fulcrum (issue 18): the dean (`<node>/dean`) and proctor (`<node>/proctor`) machines
 * in the flock's host, and what feeds the proctor. After steps of the node's steward and follower the
 * edge tells the proctor whether the node leads and under which term (`proctor.view`: it leads while
 * its steward is active, so it is handed over as the steward is); while it leads with a program, after
 * steps of the reeve it tells it the muster nodes of the node's catalog when they changed
 * (`proctor.inventory`); after steps of the picket it tells the dean which services picket has
 * (`dean.picket`). All are events in mailboxes, so a fulcrum's journal replays its placement.
 * PlacementService.List reads the proctor's context here.
 */
import { deanMachine } from '../../machines/dean.machine.js'
import { proctorMachine } from '../../machines/proctor.machine.js'
import type { DeanState, ProctorContext } from '../../machines/placement/types.js'
import type { PicketContext } from '../../machines/picket/types.js'
import { placementView, type PlacementView } from '../../machines/placement/view.js'
import type { ReeveContext } from '../../machines/reeve/rules.js'
import { servedEndpoints } from '../../machines/reeve/served.js'
import type { StewardContext } from '../../machines/steward/rules.js'
import type { FollowerContext } from '../../machines/follower/rules.js'
import type { ActorHost } from '../../runtime/host.js'
import type { Store } from '../../runtime/store.js'
import { UnavailableError } from '../../runtime/errors.js'
import { musterNodes } from './muster-nodes.js'

export interface PlacementInit {
  node: string
  host: ActorHost
  now: number
  hbMs: number
  /** Where the dean's state is kept (`dean`). */
  store: Store
  /** The KeyID the node's picket takes requests from (the node's own reeve key). */
  keyId: string
  /** Seeds the solver's tie-breaks. */
  seed: string
  /** The flock's members as this node lists them. */
  members(): string[]
  /**
   * The actor the dean asks to hold a new program's bundles (default `<node>/pastiche`); null: none
   * (the simulator, whose run edge knows its bundles without fetching them).
   */
  pastiche?: string | null
  /**
   * Runs the feed after the current step, never inside it (default: a microtask, as a fulcrum's other
   * feeds run; the simulator passes its own, so a run stays deterministic).
   */
  schedule?(fn: () => void): void
  log: { warn(msg: string, fields?: Record<string, unknown>): void }
}

export interface Placement {
  /** The proctor's placement (on a node that does not lead: where the leader is). */
  list(): PlacementView
}

/** A persisted dean state, or null (with a warning) if it is not one. */
function restoredDean(v: unknown, log: PlacementInit['log']): DeanState | null {
  if (v === null || v === undefined) return null
  const d = v as Partial<DeanState>
  const maps = [d.assigned, d.managed].every((m) => m !== null && typeof m === 'object' && Object.values(m).every((h) => typeof h === 'string'))
  const p = d.program
  const program = p === null || (typeof p === 'object' && typeof p?.text === 'string' && typeof p.version === 'number' && p.bundles !== null && typeof p.bundles === 'object')
  if (typeof d.term === 'number' && maps && program) return d as DeanState
  log.warn('the dean state in the data dir is not one; placement starts afresh on this node', {})
  return null
}

/** Spawns the dean and proctor of `init.node` and feeds the proctor what the edge sees. */
export function startPlacement(init: PlacementInit): Placement {
  const { host, node } = init
  const a = { dean: `${node}/dean`, proctor: `${node}/proctor`, picket: `${node}/picket`, pastiche: `${node}/pastiche`, steward: `${node}/steward`, follower: `${node}/follower`, reeve: `${node}/reeve` }
  host.spawn(a.dean, deanMachine.name, { node, now: init.now, picket: a.picket, keyId: init.keyId, proctor: a.proctor, ...(init.pastiche === null ? {} : { pastiche: init.pastiche ?? a.pastiche }), self: a.dean, retryMs: init.hbMs, restored: restoredDean(init.store.get(a.dean, 'dean'), init.log) })
  // A period of 2 HB: the proctor also solves at once whenever the muster or the members change.
  host.spawn(a.proctor, proctorMachine.name, { node, now: init.now, periodMs: 2 * init.hbMs, retryMs: 4 * init.hbMs, settleMs: 10 * init.hbMs, seed: init.seed })
  const ctx = <T>(actor: string): T | undefined => (host.has(actor) && host.status(actor) !== 'failed' ? (host.state(actor).context as T) : undefined)
  let lastPicket = ''
  let lastView = ''
  let lastNodes = ''
  let lastCatalog = ''
  let leading = false
  /** What picket has, for the dean (a service reset or upgraded by hand is put back). */
  const feedDean = () => {
    const pk = ctx<PicketContext>(a.picket)
    if (pk === undefined) return
    const services = Object.fromEntries(Object.values(pk.services).map((v) => [v.name, v.hash]))
    const key = JSON.stringify(services)
    if (key === lastPicket) return
    lastPicket = key
    host.send(a.dean, { type: 'dean.picket', services }, 'control')
  }
  /** Whether the node leads, under which term, where the leader is, and the members: for the proctor. */
  const feedView = () => {
    const s = ctx<StewardContext>(a.steward)
    leading = s !== undefined && host.state(a.steward).value === 'active'
    const leader = ctx<FollowerContext>(a.follower)?.target?.address ?? null
    const view = { type: 'proctor.view', leading, term: leading ? s!.term : 0, leader, members: leading ? [...init.members()].sort() : [] }
    const key = JSON.stringify(view)
    if (key === lastView) return
    lastView = key
    lastNodes = ''
    host.send(a.proctor, view, 'control')
  }
  /** While leading with a program: the muster nodes of the catalog, when they changed. */
  const feedInventory = () => {
    const p = ctx<ProctorContext>(a.proctor)
    const r = ctx<ReeveContext>(a.reeve)
    if (!leading || p === undefined || p.program === null || r === undefined) return
    // Read the catalog only when it (or what it serves) changed: a proctor with nothing to place costs nothing.
    const catalog = `${r.catalog.term} ${r.catalog.version} ${r.listedVersion}`
    if (catalog === lastCatalog && lastNodes !== '') return
    lastCatalog = catalog
    const nodes = musterNodes(servedEndpoints(r.catalog, r.listed))
    const nkey = JSON.stringify(nodes)
    if (nkey === lastNodes) return
    lastNodes = nkey
    host.send(a.proctor, { type: 'proctor.inventory', nodes }, 'control')
  }
  // Each part runs only after a step of an actor it reads: a registration's reeve step reads no picket and no flock.
  const viewActors = new Set([a.steward, a.follower, `${node}/flock`])
  const stepped = { dean: false, view: false, inventory: false }
  let due = false
  const feed = () => {
    due = false
    if (stepped.dean) feedDean()
    if (stepped.view) feedView()
    if (stepped.inventory || stepped.view) feedInventory()
    Object.assign(stepped, { dean: false, view: false, inventory: false })
  }
  host.onStep((info) => {
    if (info.actor === a.picket) stepped.dean = true
    else if (viewActors.has(info.actor)) stepped.view = true
    else if (info.actor === a.reeve || info.actor === a.proctor) stepped.inventory = true
    else return
    if (due) return
    due = true
    ;(init.schedule ?? queueMicrotask)(feed)
  })
  Object.assign(stepped, { dean: true, view: true, inventory: true })
  feed()
  return {
    list() {
      const p = ctx<ProctorContext>(a.proctor)
      if (p === undefined) throw new UnavailableError('the proctor is not running')
      return placementView(p)
    },
  }
}
