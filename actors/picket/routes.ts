/**
 * Picket's inbound service on the road (runtime/road-routes.ts): PicketService's Start, Stop, Reset
 * and Upgrade arrive at `<node>/picket` as events from `reply:<n>`, so every request is a step of the
 * picket machine, in the journal. List reads the machine's context and changes nothing: the edge
 * answers it itself (`direct`, set by the fulcrum with {@link picketList}).
 *
 * Shape checks happen here (a name, a hash) and answer INVALID_ARGUMENT; who may ask is the machine's
 * (it gets `caller`).
 */
import { BUNDLE_HASH, SERVICE_NAME } from '../../machines/picket/context.js'
import type { PicketAnswer, ServiceView } from '../../machines/picket/types.js'
import { PicketServiceService, type ServiceInfo } from '../../protos/gen/crux/v1/picket.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import type { InboundService } from '../../runtime/road-routes.js'


/** `name` checked, or INVALID_ARGUMENT naming the rule. */
export function checkName(name: string): string {
  if (!SERVICE_NAME.test(name)) throw new InvalidArgumentError(`bad service name ${JSON.stringify(name.slice(0, 80))}: a lower-case letter, then lower-case letters, digits, _ or -, at most 63`)
  return name
}

/** `hash` checked, or INVALID_ARGUMENT. */
export function checkHash(hash: string): string {
  if (!BUNDLE_HASH.test(hash)) throw new InvalidArgumentError(`bad bundle hash ${JSON.stringify(hash.slice(0, 80))}: expected sha256:<64 lower-case hex>`)
  return hash
}

/** A service as PicketService says it. */
export function toInfo(node: string, v: ServiceView): ServiceInfo {
  return { node, name: v.name, hash: v.hash, api: v.api, instance: v.instance, state: v.state, pid: v.pid ?? 0, restarts: v.restarts, up: v.up, address: v.address ?? '', reason: v.reason }
}

/** PicketService as the road serves it for node `node`. */
export function createPicketRoutes(init: { node: string }): InboundService {
  const answer = (a: PicketAnswer) => ({ service: a.service === null ? undefined : toInfo(init.node, a.service) })
  return {
    definition: PicketServiceService,
    methods: {
      start: {
        method: PicketServiceService.start,
        actor: 'picket',
        event: (r: { name: string; hash: string }, caller) => ({ type: 'picket.start', id: 0, caller, name: checkName(r.name), hash: checkHash(r.hash) }),
        response: answer,
      },
      stop: {
        method: PicketServiceService.stop,
        actor: 'picket',
        event: (r: { name: string }, caller) => ({ type: 'picket.stop', id: 0, caller, name: checkName(r.name) }),
        response: answer,
      },
      reset: {
        method: PicketServiceService.reset,
        actor: 'picket',
        event: (r: { name: string }, caller) => ({ type: 'picket.reset', id: 0, caller, name: checkName(r.name) }),
        response: answer,
      },
      upgrade: {
        method: PicketServiceService.upgrade,
        actor: 'picket',
        event: (r: { name: string; hash: string }, caller) => ({ type: 'picket.upgrade', id: 0, caller, name: checkName(r.name), hash: checkHash(r.hash) }),
        response: answer,
      },
    },
  }
}
