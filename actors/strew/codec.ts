/**
 * The strew layer's messages between their protobuf form (protos/crux/v1) and the plain shapes the
 * machines use, and the checks a registration must pass before it reaches a machine. Everything a
 * caller sends is bounded and named in the error when it is wrong.
 */
import { ServiceState, type Heartbeat } from '../../protos/gen/crux/v1/heartbeat.js'
import type { Endpoint } from '../../protos/gen/crux/v1/reeve.js'
import type { UpdateEndpointsRequest } from '../../protos/gen/crux/v1/steward.js'
import { IdFormatError, parseNodeId, type NodeIdParts } from '../../machines/strew/ids.js'
import type { Beat } from '../../machines/heartbeater/rules.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { isHostPort, STREW_LIMITS } from './fields.js'

export const toEndpoint = (e: CatalogEndpoint): Endpoint => ({
  nodeId: e.nodeId,
  netId: e.netId,
  horde: e.horde,
  api: e.api,
  instance: e.instance,
  address: e.address,
  state: e.state === 'up' ? ServiceState.SERVICE_STATE_UP : ServiceState.SERVICE_STATE_DOWN,
  keyId: e.keyId,
  tags: e.tags ?? [],
})

/** Thrown for a request the loop's copy cannot take: a field not of its type. */
export class LoopCopyError extends Error {
  override name = 'LoopCopyError'
}

// The wire carries UTF-8: a lone surrogate (never in a string decoded from the wire) comes out as U+FFFD.
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new LoopCopyError(`${what} is not a string`)
  return (v as string & { isWellFormed(): boolean }).isWellFormed() ? v : (v as string & { toWellFormed(): string }).toWellFormed()
}
const strs = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v)) throw new LoopCopyError(`${what} is not a list`)
  return v.map((x) => str(x, what))
}

/** An Endpoint message as the decoder gives it: its own object and tags, the sender's strings. */
function copyEndpointMessage(e: Endpoint): Endpoint {
  if (!Number.isInteger(e.state) || e.state < -(2 ** 31) || e.state >= 2 ** 31) throw new LoopCopyError('endpoint.state is not an int32')
  return { nodeId: str(e.nodeId, 'node_id'), netId: str(e.netId, 'net_id'), horde: str(e.horde, 'horde'), api: str(e.api, 'api'), instance: str(e.instance, 'instance'), address: str(e.address, 'address'), state: e.state, keyId: str(e.keyId, 'key_id'), tags: strs(e.tags, 'tags') }
}

/**
 * A reeve's forward as its own node's steward would decode it, without encoding it: objects and
 * arrays new, strings the sender's (as the self-address loop's decoded copies share them). The same as
 * the round trip for a request of its declared type (the route builds it from the machine's values);
 * a field of another type throws {@link LoopCopyError} (the loop answers INVALID_ARGUMENT, as for a
 * request that does not encode), where the encoder would refuse it or write something else.
 */
export function copyUpdateRequest(r: UpdateEndpointsRequest): UpdateEndpointsRequest {
  if (typeof r.full !== 'boolean') throw new LoopCopyError('full is not a boolean')
  if (!Number.isSafeInteger(r.term) || r.term < 0) throw new LoopCopyError('term is not a uint64 below 2^53')
  if (!Array.isArray(r.upsert)) throw new LoopCopyError('upsert is not a list')
  return { reeve: str(r.reeve, 'reeve'), full: r.full, upsert: r.upsert.map(copyEndpointMessage), remove: strs(r.remove, 'remove'), address: str(r.address, 'address'), horde: str(r.horde, 'horde'), term: r.term }
}

/** An endpoint as the machines hold it; `tags` only when there are some (protobuf cannot tell absent from empty). */
export function fromEndpoint(e: Endpoint): CatalogEndpoint {
  const c: CatalogEndpoint = {
    nodeId: e.nodeId,
    netId: e.netId,
    horde: e.horde,
    api: e.api,
    instance: e.instance,
    address: e.address,
    state: e.state === ServiceState.SERVICE_STATE_DOWN ? 'down' : 'up',
    keyId: e.keyId,
  }
  if (e.tags.length > 0) c.tags = e.tags
  return c
}

/** An endpoint from another node's reeve, its tags within the bounds a local registration passes. */
export function fromPeerEndpoint(e: Endpoint): CatalogEndpoint {
  checkTags('endpoint.tags', e.tags)
  return fromEndpoint(e)
}

/** At most {@link STREW_LIMITS}.tags tags, each 1–{@link STREW_LIMITS}.tag characters, no two the same. */
export function checkTags(what: string, tags: readonly string[]): void {
  if (tags.length > LIMITS.tags) throw new InvalidArgumentError(`${what} has ${tags.length} tags, at most ${LIMITS.tags}`)
  const seen = new Set<string>()
  for (const t of tags) {
    if (t === '' || t.length > LIMITS.tag) throw new InvalidArgumentError(`${what}: a tag must be 1–${LIMITS.tag} characters, got ${t.length}`)
    if (seen.has(t)) throw new InvalidArgumentError(`${what}: tag ${JSON.stringify(t)} appears twice`)
    seen.add(t)
  }
}

const LIMITS = STREW_LIMITS

function bounded(what: string, s: string, max: number): string {
  if (s.length > max) throw new InvalidArgumentError(`${what} is longer than ${max} characters`)
  return s
}

/** A host:port with a port in 1–65535. */
export function checkAddress(what: string, s: string): string {
  bounded(what, s, LIMITS.address)
  if (!isHostPort(s)) throw new InvalidArgumentError(`${what} ${JSON.stringify(s)} is not host:port`)
  return s
}

/** Parses a NodeID, turning a format error into InvalidArgument naming the field. */
export function nodeIdParts(what: string, s: string): NodeIdParts {
  try {
    return parseNodeId(bounded(what, s, LIMITS.nodeId))
  } catch (err) {
    if (err instanceof IdFormatError) throw new InvalidArgumentError(`${what}: ${err.message}`)
    throw err
  }
}

/**
 * A local service's endpoint, checked against the reeve it registers with: same bloc, horde and node
 * (a reeve speaks only for its own node), a service and API named, an address. Missing api, horde
 * and netId are filled in from the NodeID.
 */
export function checkLocalEndpoint(e: Endpoint | undefined, reeve: NodeIdParts): CatalogEndpoint {
  if (e === undefined) throw new InvalidArgumentError('endpoint is missing')
  const id = nodeIdParts('endpoint.node_id', e.nodeId)
  if (id.bloc !== reeve.bloc || id.horde !== reeve.horde || id.node !== reeve.node) {
    throw new InvalidArgumentError(`endpoint.node_id must be /${reeve.bloc}/${reeve.horde}/${reeve.node}/SERVICE/API on this reeve`)
  }
  if (id.service === '' || id.api === '' || id.service === 'Reeve' || id.service === 'self') throw new InvalidArgumentError('endpoint.node_id must name a service and an API (not Reeve)')
  if (e.api !== '' && e.api !== id.api) throw new InvalidArgumentError(`endpoint.api ${JSON.stringify(e.api)} is not the NodeID's API ${id.api}`)
  const address = checkAddress('endpoint.address', e.address)
  const instance = bounded('endpoint.instance', e.instance === '' ? id.node : e.instance, LIMITS.name)
  checkTags('endpoint.tags', e.tags)
  return {
    nodeId: e.nodeId,
    netId: bounded('endpoint.net_id', e.netId === '' ? `/${id.api}/${id.node}/net/${address}` : e.netId, LIMITS.netId),
    horde: id.horde,
    api: id.api,
    instance,
    address,
    state: 'up',
    keyId: bounded('endpoint.key_id', e.keyId, LIMITS.keyId),
    ...(e.tags.length === 0 ? {} : { tags: e.tags }),
  }
}

/** A heartbeat as the heartbeater machine takes it. */
export function toBeat(h: Heartbeat): Beat {
  bounded('heartbeat.uuid', h.uuid, LIMITS.name)
  if (h.uuid === '') throw new InvalidArgumentError('heartbeat.uuid is empty')
  if (!(h.expiresMs > h.atMs)) throw new InvalidArgumentError(`heartbeat ${h.uuid}: expires_ms must be after at_ms`)
  return {
    uuid: h.uuid,
    state: h.state === ServiceState.SERVICE_STATE_DOWN ? 'down' : 'up',
    netId: bounded('heartbeat.net_id', h.netId, LIMITS.netId),
    atMs: h.atMs,
    expiresMs: h.expiresMs,
    various: bounded('heartbeat.various', h.various, LIMITS.various),
  }
}
