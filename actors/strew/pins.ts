/**
 * Whose key the server at an address must hold, as strew's machines know it (actors/strew/peers.ts
 * pins each channel with it): the steward the reeve registered with (its key), the flock leader a
 * registration is for (its node id), the reeve a push or a call-back goes to (its node id). Read from
 * the machines' state when a channel is made; unknown: the flock CA alone vouches for the server.
 */
import type { FollowerContext } from '../../machines/follower/rules.js'
import type { ReeveContext } from '../../machines/reeve/rules.js'
import type { RegistryContext } from '../../machines/registry/rules.js'
import type { StewardContext } from '../../machines/steward/rules.js'
import type { ActorHost } from '../../runtime/host.js'
import type { ExpectedPeer } from '../../runtime/peer-client.js'
import { contextOf } from './reads.js'

/** The pin of a call of `path` to `hostPort` on node `actors`' host. */
export function pinFor(host: ActorHost | undefined, actors: { reeve: string; steward: string; registry: string; follower: string }, hostPort: string, path: string): ExpectedPeer | undefined {
  if (host === undefined) return undefined
  const ctx = <T>(actor: string): T | undefined => contextOf<T>(host, actor)
  if (path.startsWith('/crux.v1.StewardService/')) {
    const s = ctx<ReeveContext>(actors.reeve)?.steward
    return s != null && s.address === hostPort ? { publicKey: new Uint8Array(Buffer.from(s.key, 'base64')) } : undefined
  }
  if (path.startsWith('/crux.v1.RegistryService/')) {
    const t = ctx<FollowerContext>(actors.follower)?.target
    return t != null && t.address === hostPort ? { node: t.leader } : undefined
  }
  if (path.startsWith('/crux.v1.ReeveService/')) {
    for (const r of Object.values(ctx<StewardContext>(actors.steward)?.reeves ?? {})) if (r.address === hostPort) return { node: r.node }
    for (const p of Object.values(ctx<RegistryContext>(actors.registry)?.pending ?? {})) if (p.callback === hostPort) return { node: p.node }
  }
  return undefined
}
