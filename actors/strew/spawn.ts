/**
 * How a node's strew actors are started, once for a fulcrum (actors/strew/strew.ts) and the simulator
 * (actors/sim/strew-sim.ts): their ids, what each machine is spawned with, and the deadlines of their
 * calls. Both build their edge differently (real or simulated road, real or stand-in crypto); what the
 * machines start from is the same. No effects beyond `host.spawn`.
 */
import type { CatalogEndpoint, Kept, Rule } from '../../machines/strew/events.js'
import { followerMachine } from '../../machines/follower.machine.js'
import { heartbeaterMachine } from '../../machines/heartbeater.machine.js'
import { reeveMachine } from '../../machines/reeve.machine.js'
import { registryMachine } from '../../machines/registry.machine.js'
import { stewardMachine } from '../../machines/steward.machine.js'
import type { ActorHost } from '../../runtime/host.js'
import { REEVE_REV } from './registry-client.js'

/** The strew actors' ids. */
export const strewActors = (node: string) => ({ follower: `${node}/follower`, reeve: `${node}/reeve`, heartbeater: `${node}/heartbeater`, steward: `${node}/steward`, registry: `${node}/registry` })

/** A node's reeve NodeID. */
export const reeveNodeIdOf = (bloc: string, horde: string, node: string): string => `/${bloc}/${horde}/${node}/Reeve/Reeve1`

/**
 * The deadlines of strew's calls: a registration outlasts the registry's 10 s call-back window. A
 * reeve's forward is short (2 HB, at least 2 s): one forward is on its way at a time, so a forward lost
 * to a cut holds every later change of the node until its deadline; with 5 s, the services of the
 * side of a healed partition without the steward came back 4–10 HB after the heal
 * (`crux sim --nodes 30 --services 3 --partition 20:2:27 --seed 2`).
 */
export const strewDeadlines = (hbMs: number) => ({ registerDeadlineMs: Math.max(15_000, 12 * hbMs), callDeadlineMs: Math.max(5_000, 4 * hbMs), forwardDeadlineMs: Math.max(2_000, 2 * hbMs) })

/**
 * The key a looped call presents, by the actor that makes it: the steward and registry speak as the
 * node's steward key, everything else as its reeve key (as they do on a channel to another node).
 */
export function selfCallerOf(node: string, keys: { reeveKeyId: string; stewardKeyId: string }): (from: string) => string {
  const a = strewActors(node)
  return (from) => (from === a.steward || from === a.registry ? keys.stewardKeyId : keys.reeveKeyId)
}

export interface StrewSpawn {
  node: string
  reeveNodeId: string
  /** The node's gRPC HOST:PORT as peers reach it. */
  address: string
  horde: string
  hbMs: number
  reeveKeyId: string
  stewardKeyId: string
  /** The node's public key, base64. */
  publicKey: string
  /** Restored state: heartbeat-kept registrations, local registrations, whitelisted KeyIDs. */
  kept?: Kept[]
  local?: CatalogEndpoint[]
  keys: string[]
  rules?: Rule[]
  /** The steward's push batch window (the machine's default when absent). */
  batchMs?: number
  /** The reeve's forward batch window, ms. */
  forwardBatchMs: number
  settleMs?: number
  now: number
}

/** Spawns the five strew machines of `o.node` in `host`, the heartbeater and reeve first (they hold what was restored). */
export function spawnStrewActors(host: ActorHost, o: StrewSpawn): void {
  const a = strewActors(o.node)
  const { node, now } = o
  host.spawn(a.heartbeater, heartbeaterMachine.name, { node, keyId: o.reeveKeyId, ...(o.kept === undefined ? {} : { kept: o.kept }), now })
  host.spawn(a.reeve, reeveMachine.name, { node, reeve: o.reeveNodeId, address: o.address, horde: o.horde, keyId: o.reeveKeyId, retryMs: o.hbMs, batchMs: o.forwardBatchMs, ...(o.local === undefined ? {} : { local: o.local }), now })
  host.spawn(a.steward, stewardMachine.name, { node, ...(o.batchMs === undefined ? {} : { batchMs: o.batchMs }), ...(o.rules === undefined ? {} : { rules: o.rules }), now })
  host.spawn(a.registry, registryMachine.name, { node, stewardKeyId: o.stewardKeyId, stewardKey: o.publicKey, keys: o.keys, now })
  host.spawn(a.follower, followerMachine.name, {
    node,
    nodeId: o.reeveNodeId,
    netId: `/${REEVE_REV}/${node}/net/${o.address}`,
    publicKey: o.publicKey,
    hbMs: o.hbMs,
    ...(o.settleMs === undefined ? {} : { settleMs: o.settleMs }),
    now,
  })
}
