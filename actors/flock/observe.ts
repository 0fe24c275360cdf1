/**
 * Judging a set of flock actors at one instant: how many flocks and leaders the live nodes form, and
 * whether they agree (ARCHITECTURE's definition: every live node in one flock with one leader and the
 * same member list, which names exactly the live nodes).
 */
import { digestOf } from '../../machines/flock/member-list.js'
import type { FlockContext } from '../../machines/flock/types.js'
import type { FlockActor } from './flock.actor.js'

export interface Observation {
  live: number
  flocks: number
  leaders: number
  agreed: boolean
  rebooting: number
  /** Distinct member lists among live nodes, and the smallest list size. */
  lists: number
  smallestList: number
}

export function observe(nodes: readonly FlockActor[], dead: ReadonlySet<number>): Observation {
  const live: FlockContext[] = []
  nodes.forEach((n, i) => {
    if (!dead.has(i)) live.push(n.context())
  })
  return observeContexts(live)
}

/** The same judgement over the contexts of the live nodes (replay has contexts, not actors). */
export function observeContexts(contexts: readonly FlockContext[]): Observation {
  const flocks = new Set<string>()
  const leaderIds = new Set<string>()
  let leaders = 0
  let live = 0
  let rebooting = 0
  const digests = new Set<string>()
  let sizeOk = true
  for (const c of contexts) {
    live++
    if (c.rebootUntil !== null) rebooting++
    flocks.add(c.flock)
    leaderIds.add(c.leader.id)
    if (c.leader.id === c.me.id) leaders++
    digests.add(`${c.list.size}:${digestOf(c.list)}`)
  }
  let smallestList = Number.POSITIVE_INFINITY
  // Without list sync only the leader holds the list: it must name exactly the live nodes.
  const holders = contexts.filter((c) => c.cfg.listSync || c.leader.id === c.me.id)
  for (const c of holders) {
    smallestList = Math.min(smallestList, c.list.size)
    if (c.list.size !== live) sizeOk = false
  }
  const sameLists = contexts.every((c) => c.cfg.listSync) ? digests.size === 1 : true
  const agreed = live > 0 && rebooting === 0 && flocks.size === 1 && leaders === 1 && leaderIds.size === 1 && sameLists && sizeOk
  return { live, flocks: flocks.size, leaders, agreed, rebooting, lists: digests.size, smallestList: live === 0 ? 0 : smallestList }
}
