/**
 * What the visualiser draws of strew: during the replay pass of actors/viz/model.ts, each change of a
 * node's five strew machines (follower, steward, reeve, heartbeater, registry), one list per machine so
 * a heartbeat kept does not repeat the follower's strings. A change is kept only when something the
 * page shows changed; the page finds a moment's picture by binary search over each list, as for the
 * flock. What caused a change is an index into the timeline's `strewCauses` (a busy simulation makes
 * tens of thousands of changes, nearly all for a few causes). Contexts are read as the machines define them (machines/<name>/rules.ts).
 */
import type { FollowerContext } from '../../machines/follower/rules.js'
import type { HeartbeaterContext } from '../../machines/heartbeater/rules.js'
import type { ReeveContext } from '../../machines/reeve/rules.js'
import type { RegistryContext } from '../../machines/registry/rules.js'
import type { StewardContext } from '../../machines/steward/rules.js'
import type { ReplayedStep } from '../../runtime/replayer.js'

/** [t, seq, lead region, follow region, steward followed (gRPC address, '' none), its term (0 none), cause (index into strewCauses)]. */
export type FollowerChange = [number, number, string, string, string, number, number]
/** [t, seq, state, term (0 idle), catalog version, endpoints, reeves (not retired), cause (index into strewCauses)]. */
export type StewardChange = [number, number, string, number, number, number, number, number]
/** [t, seq, state, catalog version, catalog size, local services, cause (index into strewCauses)]. */
export type ReeveChange = [number, number, string, number, number, number, number]
/** [t, seq, kept, up, cause (index into strewCauses)]. */
export type HeartbeaterChange = [number, number, number, number, number]
/** [t, seq, state, term (0 idle), whitelisted keys, cause (index into strewCauses)]. */
export type RegistryChange = [number, number, string, number, number, number]

/** A node's strew machines over time; a machine the journal never spawned has no list. */
export interface StrewTimeline {
  follower?: FollowerChange[]
  steward?: StewardChange[]
  reeve?: ReeveChange[]
  heartbeater?: HeartbeaterChange[]
  registry?: RegistryChange[]
}

/** The state value as one string: `idle`, `registering.calling`, or for a parallel machine its regions. */
export function stateName(v: unknown): string {
  if (typeof v === 'string') return v
  if (v === null || typeof v !== 'object') return String(v)
  const [k, sub] = Object.entries(v as Record<string, unknown>)[0] ?? ['', '']
  return sub === undefined || sub === '' ? k : `${k}.${stateName(sub)}`
}

const region = (v: unknown, name: string): string => (v !== null && typeof v === 'object' ? stateName((v as Record<string, unknown>)[name]) : '')

/** What caused a strew step, in a few words: the event type, and the timer's or caller's name. */
export function strewCause(ev: ReplayedStep['input']): string {
  if (ev === null) return 'start'
  if (ev.type === 'timer.fired') return `the ${String(ev.name)} timer`
  return ev.type
}

const count = (o: Record<string, unknown> | null | undefined): number => (o === null || o === undefined ? 0 : Object.keys(o).length)

/** The fields the page shows of one strew step (without t, seq and cause), or null when not strew. */
function shown(name: string, step: ReplayedStep): Array<string | number> | null {
  const v = step.cell.value
  switch (name) {
    case 'follower': {
      const c = step.cell.context as FollowerContext
      return [region(v, 'lead'), region(v, 'follow'), c.steward?.address ?? '', c.steward?.term ?? 0]
    }
    case 'steward': {
      const c = step.cell.context as StewardContext
      let reeves = 0
      for (const r of Object.values(c.reeves)) if (!r.retired) reeves++
      return [stateName(v), c.term, c.version, count(c.endpoints), reeves]
    }
    case 'reeve': {
      const c = step.cell.context as ReeveContext
      return [stateName(v), c.catalog.version, count(c.catalog.endpoints), count(c.local)]
    }
    case 'heartbeater': {
      const c = step.cell.context as HeartbeaterContext
      let up = 0
      for (const s of Object.values(c.services)) if (s.state === 'up') up++
      return [count(c.services), up]
    }
    case 'registry': {
      const c = step.cell.context as RegistryContext
      return [stateName(v), c.term, count(c.keys)]
    }
    default:
      return null
  }
}

const STREW = new Set(['follower', 'steward', 'reeve', 'heartbeater', 'registry'])

/** True for the name of a strew machine (actors are named `<node>/<name>`). */
export const isStrew = (name: string): boolean => STREW.has(name)

/**
 * Keeps `step` in `into` (its node's strew timeline) if it is a strew machine's and changed what is
 * shown, its cause numbered by `cause`; returns false when the step is not a strew machine's.
 */
export function keepStrewStep(into: StrewTimeline, name: string, step: ReplayedStep, cause: (what: string) => number): boolean {
  const fields = shown(name, step)
  if (fields === null) return false
  const list = ((into as Record<string, Array<Array<string | number>>>)[name] ??= [])
  const last = list.at(-1)
  if (last !== undefined && fields.every((f, i) => last[i + 2] === f)) return true
  list.push([step.t, step.seq, ...fields, cause(strewCause(step.input))])
  return true
}
