/**
 * The services of a simulated picket run (`crux sim --run R`): R services per node, each a bundle
 * (a hash of its own, drawn from the seed) started at a drawn heartbeat, and what its simulated
 * process does: run steadily, crash (exit with code 1) at drawn heartbeats, hang (stop beating and
 * never exit until killed) at a drawn heartbeat, or never run at all because its bundle fails. Every
 * draw comes from one generator of its own, so adding services to a run shifts nothing else in it.
 */
import { createHash } from 'node:crypto'
import type { Manifest } from '../../machines/picket/types.js'
import { Rng } from '../../runtime/rng.js'

/** Something a service's process does at a heartbeat (to the run alive then, or to the next one spawned). */
export interface PlannedEvent {
  kind: 'crash' | 'hang'
  atHb: number
}

/** One service of one node. */
export interface PlannedService {
  /** Node index. */
  node: number
  /** The service's name on its node (`svc<k>`). */
  name: string
  /** Its bundle, as pastiche names blobs. */
  hash: string
  manifest: Manifest
  /** The heartbeat its `picket.start` is delivered at. */
  startHb: number
  /** Its bundle cannot be had: it never runs. */
  failBundle: boolean
  /** In time order, at least {@link EVENT_GAP_HB} apart. */
  events: PlannedEvent[]
}

/** A planned event falls in [startHb + EVENT_FROM_HB, startHb + EVENT_FROM_HB + EVENT_SPAN_HB). */
export const EVENT_FROM_HB = 3
export const EVENT_SPAN_HB = 15
/** Heartbeats between two events of a service (room for the kill and the backoff). */
export const EVENT_GAP_HB = 6

/** The manifest of service `k` (`Job/Job<k>`, instance `job_<k>`): a 3 HB ttl, short start, stop and grace. */
export function manifestOf(k: number, hbMs: number): Manifest {
  return { service: 'Job', api: `Job${k}`, instance: `job_${k}`, entry: 'main.mjs', kind: 'process', args: [], env: {}, ttlMs: 3 * hbMs, startMs: 2 * hbMs, stopMs: hbMs / 2, graceMs: hbMs, memoryMb: null }
}

/**
 * The plan of `nodes` × `perNode` services with seed `seed`: starts drawn in [0, spreadHb). About
 * one in twenty fails its bundle, two in five crash (once or twice), one in four hang; a run with
 * services has at least one failed bundle, and, given services to spare, one crash and one hang.
 */
export function planPicket(seed: number, nodes: number, perNode: number, spreadHb: number, hbMs: number): PlannedService[] {
  const rng = new Rng(`sim:${seed}:picket:plan`)
  const out: PlannedService[] = []
  const eventAt = (s: PlannedService): number => {
    const last = s.events.at(-1)?.atHb ?? s.startHb + EVENT_FROM_HB - EVENT_GAP_HB
    return Math.max(last + EVENT_GAP_HB, s.startHb + EVENT_FROM_HB + rng.int(EVENT_SPAN_HB))
  }
  for (let i = 0; i < nodes; i++) {
    for (let k = 0; k < perNode; k++) {
      const hash = `sha256:${createHash('sha256').update(`sim:${seed}:picket:n${i}:${k}`).digest('hex')}`
      const s: PlannedService = { node: i, name: `svc${k}`, hash, manifest: manifestOf(k, hbMs), startHb: rng.int(Math.max(1, spreadHb)), failBundle: false, events: [] }
      const r = rng.float()
      if (r < 0.05) s.failBundle = true
      else if (r < 0.45) for (let c = 1 + rng.int(2); c > 0; c--) s.events.push({ kind: 'crash', atHb: eventAt(s) })
      else if (r < 0.7) s.events.push({ kind: 'hang', atHb: eventAt(s) })
      out.push(s)
    }
  }
  // Every kind at least once, where there are services for it (the checker's rules all get exercised).
  if (out.length > 0 && !out.some((s) => s.failBundle)) {
    const s = out[rng.int(out.length)]!
    s.failBundle = true
    s.events = []
  }
  for (const kind of ['crash', 'hang'] as const) {
    if (out.some((s) => s.events.some((e) => e.kind === kind))) continue
    const free = out.filter((s) => !s.failBundle && s.events.length === 0)
    const s = free.length > 0 ? free[rng.int(free.length)] : undefined
    if (s !== undefined) s.events.push({ kind, atHb: eventAt(s) })
  }
  return out
}
