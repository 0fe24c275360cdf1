/**
 * The program of a simulated placement run (`crux sim --place P`): P services `p0`, `p1`, …, each
 * placed by a khan pick over every node (`pick` for even ones, `pickh` for odd ones), two or three
 * instances each (one when the flock is too small), never more than half the nodes so no pick stacks
 * and a pickh still finds its nodes after a crash; each service's bundle is a hash of its own with a
 * manifest of its own (`Place/Place<i>`), run healthily by every node's simulated run edge
 * (actors/sim/picket-edge.ts), and the heartbeat the program is handed to the leader's proctor. Every
 * draw comes from one generator of its own, so placing shifts nothing else in a run.
 */
import { createHash } from 'node:crypto'
import type { Manifest } from '../../machines/picket/types.js'
import { Rng } from '../../runtime/rng.js'
import type { PlannedService } from './picket-plan.js'

/** One placed service. */
export interface PlacedService {
  service: string
  count: number
  /** `pickh`: at most one instance per node. */
  hard: boolean
  hash: string
  manifest: Manifest
}

export interface PlacementPlan {
  services: PlacedService[]
  /** The khan program: one pick per line. */
  text: string
  bundles: Record<string, string>
  /** The heartbeat the program is first handed to the leader's proctor. */
  applyHb: number
  /** Every service as the run edges know its bundle: healthy, on any node. */
  shared: PlannedService[]
}

/** The manifest of placed service `i`: a 3 HB ttl, short start, stop and grace, as the run's own services. */
export function placedManifest(i: number, hbMs: number): Manifest {
  return { service: 'Place', api: `Place${i}`, instance: `place_${i}`, entry: 'main.mjs', kind: 'process', args: [], env: {}, ttlMs: 3 * hbMs, startMs: 2 * hbMs, stopMs: hbMs / 2, graceMs: hbMs, memoryMb: null }
}

/** The placement of `place` services over `nodes` nodes with seed `seed`. */
export function planPlacement(seed: number, nodes: number, place: number, hbMs: number): PlacementPlan {
  const rng = new Rng(`sim:${seed}:placement:plan`)
  const most = Math.max(1, Math.min(3, Math.floor(nodes / 2)))
  const services: PlacedService[] = []
  for (let i = 0; i < place; i++) {
    const count = most === 1 ? 1 : 2 + rng.int(most - 1)
    const hash = `sha256:${createHash('sha256').update(`sim:${seed}:placement:p${i}`).digest('hex')}`
    services.push({ service: `p${i}`, count, hard: i % 2 === 1, hash, manifest: placedManifest(i, hbMs) })
  }
  // Early, once a steward leads and the musters of the first services are in (it is retried until a proctor leads).
  const applyHb = 4 + rng.int(4)
  return {
    services,
    text: services.map((s) => `${s.hard ? 'pickh' : 'pick'}(${s.service}, ${s.count}, ALL)`).join('\n') + '\n',
    bundles: Object.fromEntries(services.map((s) => [s.service, s.hash])),
    applyHb,
    shared: services.map((s) => ({ node: -1, name: s.service, hash: s.hash, manifest: s.manifest, startHb: applyHb, failBundle: false, events: [] })),
  }
}
