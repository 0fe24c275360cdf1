/**
 * What `crux placement ls` shows, from the proctor's context: for each service the program places, the
 * instances wanted, where the proctor assigned them and how far each is as its node's muster says, and
 * what holds new ones back. Pure module.
 */
import { instanceOf } from './names.js'
import type { MusterService, ProctorContext } from './types.js'

export interface InstanceView {
  node: string
  name: string
  /** The muster's state, or `assigned` before the node's muster shows it. */
  state: string
  up: boolean
}

export interface PlacedView {
  service: string
  hash: string
  wanted: number
  up: number
  instances: InstanceView[]
  held: string
}

export interface PlacementView {
  /** Whether this node's proctor leads; when not, the rest is empty and `leader` says where the proctor is ('' unknown). */
  leading: boolean
  leader: string
  version: number
  term: number
  ok: boolean
  services: PlacedView[]
  warnings: string[]
  explain: string[]
  nodes: string[]
}

/** The proctor's placement as `ls` shows it; a proctor that does not lead says only where the leader is. */
export function placementView(ctx: ProctorContext): PlacementView {
  if (!ctx.leading) return { leading: false, leader: ctx.leader ?? '', version: 0, term: 0, ok: false, services: [], warnings: [], explain: [], nodes: [] }
  const p = ctx.program
  const nodes = ctx.nodes ?? []
  const bundles = p?.bundles ?? {}
  const services = new Set(Object.keys(bundles))
  const muster = new Map<string, MusterService>()
  for (const n of nodes) for (const s of n.services) muster.set(`${n.node} ${s.name}`, s)
  const byService = new Map<string, InstanceView[]>()
  for (const [node, a] of Object.entries(ctx.assigned)) {
    for (const name of Object.keys(a.services)) {
      const i = instanceOf(name, services)
      if (i === null) continue
      const m = muster.get(`${node} ${name}`)
      byService.set(i.service, [...(byService.get(i.service) ?? []), { node, name, state: m?.state ?? 'assigned', up: m?.up ?? false }])
    }
  }
  const placement = ctx.solved?.placement ?? {}
  return {
    leading: true,
    leader: ctx.leader ?? '',
    version: p?.version ?? 0,
    term: ctx.term,
    ok: ctx.solved?.ok ?? false,
    services: [...services].sort().map((service) => {
      const instances = (byService.get(service) ?? []).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.name < b.name ? -1 : 1))
      return { service, hash: bundles[service]!, wanted: Object.values(placement[service] ?? {}).reduce((x, y) => x + y, 0), up: instances.filter((i) => i.up).length, instances, held: ctx.solved?.held[service] ?? '' }
    }),
    warnings: ctx.solved?.warnings ?? [],
    explain: ctx.solved?.explain ?? [],
    nodes: nodes.map((n) => n.node).sort(),
  }
}
