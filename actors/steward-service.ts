/**
 * The StewardService (protos/crux/v1/steward.proto) of the flock's steward: registered reeves send
 * their endpoints here. A caller must be a whitelisted reeve key, and may speak only for its own
 * node: the update's reeve and every endpoint in it must name the node its key was registered for.
 * On a node that is not the steward every call is FAILED_PRECONDITION, so a reeve registers again.
 */
import type * as grpc from '@grpc/grpc-js'
import { parseKeyId } from '../machines/strew/ids.js'
import type { StewardContext } from '../machines/steward/rules.js'
import type { UpdateEndpointsRequest } from '../protos/gen/crux/v1/steward.js'
import type { Ask } from '../runtime/ask.js'
import { CallRefusedError, FailedPreconditionError, InvalidArgumentError, PermissionDeniedError } from '../runtime/errors.js'
import { callerOf, unary } from '../runtime/grpc-server.js'
import type { ActorHost } from '../runtime/host.js'
import { REEVE_REV } from './registry.js'
import { checkAddress, fromEndpoint, nodeIdParts } from './strew-codec.js'

export interface StewardSide {
  host: ActorHost
  ask: Ask
  whitelist: { get(keyId: string): Uint8Array | undefined }
  actor: string
  /** The steward's term, or null when this node is not the steward. */
  term(): number | null
}

const MAX_ENDPOINTS = 100_000

export function createStewardService(side: StewardSide): grpc.UntypedServiceImplementation {
  const active = (): number => {
    const term = side.term()
    if (term === null || !side.host.has(side.actor)) throw new FailedPreconditionError('not the steward')
    return term
  }
  return {
    ping: unary((call: grpc.ServerUnaryCall<{ text: string }, unknown>) => ({ text: call.request.text, term: side.term() ?? 0 })),
    updateEndpoints: unary(async (call: grpc.ServerUnaryCall<UpdateEndpointsRequest, unknown>) => {
      const term = active()
      const caller = callerOf(call)
      if (side.whitelist.get(caller) === undefined) throw new CallRefusedError('not on the whitelist')
      const key = parseKeyId(caller)
      const r = call.request
      const reeve = nodeIdParts('reeve', r.reeve)
      if (key.rev !== REEVE_REV || key.principal !== reeve.node) throw new CallRefusedError('not the key of a reeve')
      if (r.upsert.length + r.remove.length > MAX_ENDPOINTS) throw new InvalidArgumentError(`at most ${MAX_ENDPOINTS} endpoints per update`)
      for (const id of [...r.upsert.map((e) => e.nodeId), ...r.remove]) {
        const p = nodeIdParts('endpoint.node_id', id)
        if (p.node !== reeve.node) throw new PermissionDeniedError(`a reeve speaks only for its own node, not for ${id}`)
      }
      checkAddress('address', r.address)
      await side.ask(side.actor, { type: 'update', update: { reeve: r.reeve, address: r.address, horde: r.horde || reeve.horde, full: r.full, upsert: r.upsert.map(fromEndpoint), remove: r.remove } })
      return { version: (side.host.state(side.actor).context as StewardContext).version, term }
    }),
  }
}
