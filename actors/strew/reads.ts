/**
 * The strew calls that change nothing: pings and catalog lookups. They read the machines' state as it
 * stands after their last step and go through no mailbox (a lookup needs no step, and the journal
 * needs no record of it); everything that changes state is a route (actors/strew/routes.ts).
 */
import type * as grpc from '@grpc/grpc-js'
import type { FollowerContext } from '../../machines/follower/rules.js'
import type { ReeveContext } from '../../machines/reeve/rules.js'
import { servedEndpoint, servedEndpoints, type Listed } from '../../machines/reeve/served.js'
import type { StewardContext } from '../../machines/steward/rules.js'
import { serviceOf, visibleTo } from '../../machines/steward/rules.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import type { GetCatalogRequest, GetCatalogResponse } from '../../protos/gen/crux/v1/reeve.js'
import { CallRefusedError, UnavailableError } from '../../runtime/errors.js'
import { callerOf, unary } from '../../runtime/grpc-server.js'
import type { ActorHost } from '../../runtime/host.js'
import { nodeIdParts, toEndpoint } from './codec.js'

/** Where the reads look. */
export interface StrewReadSide {
  host(): ActorHost | undefined
  actors: { reeve: string; steward: string; follower: string }
  /** This node's flock node id, its reeve's NodeID and KeyID. */
  node: string
  reeveNodeId: string
  reeveKeyId: string
}

/** The context of `actor` as its machine defines it, after its last step (undefined: no such actor). */
export function contextOf<T>(host: ActorHost | undefined, actor: string): T | undefined {
  return host !== undefined && host.has(actor) ? (host.state(actor).context as T) : undefined
}

const context = <T>(side: StrewReadSide, actor: string): T | undefined => contextOf<T>(side.host(), actor)

/** The steward the reeve forwards to, or null. */
export function followingOf(side: StrewReadSide): { address: string; term: number } | null {
  const s = context<ReeveContext>(side, side.actors.reeve)?.steward
  return s === undefined || s === null ? null : { address: s.address, term: s.term }
}

/** This node's steward's term, or null when it is not the steward. */
export function stewardTermOf(side: StrewReadSide): number | null {
  const t = context<StewardContext>(side, side.actors.steward)?.term
  return t === undefined || t === 0 ? null : t
}

/**
 * Endpoints a lookup may see: all of the horde for the node itself, by the rules for a named service;
 * only those of nodes the flock lists (`listed`, machines/reeve/served.ts). A lookup of one endpoint
 * judges that one only: filtering the whole catalog first made each cost O(catalog) (20 000
 * registrations: 25 ms a lookup).
 */
export function visibleIn(cat: ReeveContext['catalog'], req: { nodeId: string; api: string; endpoint?: string }, listed: Listed = null): CatalogEndpoint[] {
  if (req.endpoint) {
    const e = servedEndpoint(cat, listed, req.endpoint)
    return e === undefined || (req.api !== '' && e.api !== req.api) ? [] : [e]
  }
  const all = servedEndpoints(cat, listed)
  if (req.nodeId === '') return req.api === '' ? all : all.filter((e) => e.api === req.api)
  const caller = nodeIdParts('node_id', req.nodeId)
  return visibleTo(all, cat.rules, { horde: caller.horde, service: serviceOf(req.nodeId) }, req.api)
}

/** The read handlers of ReeveService, StewardService and RegistryService, by service. */
export function createStrewReads(side: StrewReadSide): { reeve: Record<string, unknown>; steward: Record<string, unknown>; registry: Record<string, unknown> } {
  const term = () => stewardTermOf(side) ?? 0
  return {
    reeve: {
      ping: unary((call: grpc.ServerUnaryCall<{ text: string }, unknown>) => {
        const f = followingOf(side)
        return { text: call.request.text, nodeId: side.reeveNodeId, steward: f?.address ?? '', term: f?.term ?? 0 }
      }),
      getCatalog: unary((call: grpc.ServerUnaryCall<GetCatalogRequest, GetCatalogResponse>) => {
        if (callerOf(call) !== side.reeveKeyId) throw new CallRefusedError('GetCatalog is for the node\'s own key')
        const reeve = context<ReeveContext>(side, side.actors.reeve)
        if (reeve === undefined) throw new UnavailableError('the reeve is not running')
        // Only the endpoints of nodes this node's flock lists (machines/reeve/served.ts).
        return { endpoints: visibleIn(reeve.catalog, call.request, reeve.listed).map(toEndpoint), version: reeve.catalog.version }
      }),
    },
    steward: {
      ping: unary((call: grpc.ServerUnaryCall<{ text: string }, unknown>) => ({ text: call.request.text, term: term() })),
    },
    registry: {
      ping: unary((call: grpc.ServerUnaryCall<{ text: string }, unknown>) => ({ text: call.request.text, node: side.node, term: term() })),
    },
  }
}

/** Whether the follower has a steward it follows (for readiness). */
export const isFollowing = (side: StrewReadSide): boolean => context<FollowerContext>(side, side.actors.follower)?.steward != null
