/**
 * Strew's route table for the road (runtime/road-routes.ts): which strew events leave as which gRPC
 * calls, which calls arrive as which events at which actor, and the protobuf form of each. The same
 * table runs in a fulcrum (runtime/grpc-road.ts) and in the simulator (runtime/sim-grpc.ts); only the
 * {@link StrewCrypto} differs. What needs crypto happens here, never in a machine: a registration is
 * sealed on the way out and opened (and checked fresh) on the way in, a key proof is signed on the way
 * out of the reeve and verified before the registry sees `proven`.
 *
 * Checks of a request's shape (bounds, NodeID syntax, an endpoint of another node) happen here and
 * answer INVALID_ARGUMENT; who may call what is the machines' (they get `caller`).
 */
import type { CatalogEndpoint, CatalogPush, EndpointsUpdate, KeysProof, KeysPull, RegistryRegisterRequest } from '../../machines/strew/events.js'
import { parseNetId, parseNodeId, netIdAddress } from '../../machines/strew/ids.js'
import { ReeveServiceService, type PullKeysResponse, type RegisterServiceRequest, type PushCatalogRequest, type WatchCatalogResponse } from '../../protos/gen/crux/v1/reeve.js'
import { RegistryServiceService, RegisterStatus, type RegisterResponse } from '../../protos/gen/crux/v1/registry.js'
import { StewardServiceService, type UpdateEndpointsRequest } from '../../protos/gen/crux/v1/steward.js'
import { InvalidArgumentError, PermissionDeniedError } from '../../runtime/errors.js'
import type { HostEvent } from '../../machines/effects.js'
import type { InboundService, OutboundRoute, RouteTable } from '../../runtime/road-routes.js'
import { checkAddress, checkLocalEndpoint, copyUpdateRequest, fromEndpoint, fromPeerEndpoint, nodeIdParts, toBeat, toEndpoint } from './codec.js'
import type { StrewCrypto } from './crypto.js'

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64'))
/** At most this many heartbeats in one SendHeartbeats, endpoints in one update. */
export const MAX_BEATS = 1_000
export const MAX_ENDPOINTS = 100_000

export interface StrewRouteComponents {
  crypto: StrewCrypto
  /** A sealed request refused at the edge, and why (the caller is told less). */
  refused?(why: string, fields: Record<string, unknown>): void
}

export interface StrewRouteInit {
  /** This node's flock node id. */
  node: string
  /** This node's reeve NodeID (`/bloc/horde/node/Reeve/Reeve1`): local endpoints must be under it. */
  reeveNodeId: string
  /** Deadline of a registration (BUSY, call-back, DONE), ms. */
  registerDeadlineMs: number
  /** Deadline of the other calls, ms. */
  callDeadlineMs: number
  /** Deadline of a reeve's forward to its steward (`endpoints.update`), ms; default `callDeadlineMs`. */
  forwardDeadlineMs?: number
}

/** The route table of one node's strew actors. */
export function createStrewRoutes(c: StrewRouteComponents, init: StrewRouteInit): RouteTable {
  const reeveParts = nodeIdParts('reeve', init.reeveNodeId)
  const { crypto } = c
  const refuse = (why: string, fields: Record<string, unknown>): never => {
    c.refused?.(why, fields)
    throw new PermissionDeniedError('registration refused')
  }

  const outbound: Record<string, OutboundRoute> = {
    'endpoints.update': {
      method: StewardServiceService.updateEndpoints,
      deadlineMs: init.forwardDeadlineMs ?? init.callDeadlineMs,
      request: (ev: EndpointsUpdate): UpdateEndpointsRequest => {
        const { term, update: u } = ev
        return { reeve: u.reeve, full: u.full, upsert: u.upsert.map(toEndpoint), remove: u.remove, address: u.address, horde: u.horde, term }
      },
      // A node that is its own steward takes the forward as a copy with the decoder's defaults, not
      // encoded and decoded (test/actors/strew/codec.test.ts checks the two agree).
      loopCopy: copyUpdateRequest,
      answer: (res: { version: number; term: number }, ev: EndpointsUpdate) => ({ type: 'endpoints.updated', id: ev.id, term: res.term, version: res.version }),
    },
    'catalog.push': {
      method: ReeveServiceService.pushCatalog,
      deadlineMs: init.callDeadlineMs,
      request: (p: CatalogPush): PushCatalogRequest => {
        return { term: p.term, version: p.version, full: p.full, base: p.base, endpoints: p.endpoints.map(toEndpoint), remove: p.remove, rules: p.rules }
      },
      answer: (res: { version: number }, ev: CatalogPush) => ({ type: 'catalog.pushed', id: ev.id, version: res.version }),
    },
    'keys.pull': {
      method: ReeveServiceService.pullKeys,
      deadlineMs: init.callDeadlineMs,
      request: (ev: KeysPull) => ({ keyId: ev.keyId, challenge: bytes(ev.challenge) }),
      answer: (res: PullKeysResponse, ev: KeysPull) => ({
        type: 'keys.pulled',
        id: ev.id,
        proven: crypto.keysProven(bytes(ev.challenge), res.publicKeys.map((k) => new Uint8Array(k)), new Uint8Array(res.signature), ev.keyId),
      }),
    },
    'registry.register': {
      method: RegistryServiceService.register,
      deadlineMs: init.registerDeadlineMs,
      request: (r: RegistryRegisterRequest) => {
        return { sealed: crypto.sealRegistration({ nodeId: r.nodeId, netId: r.netId, publicKey: bytes(r.publicKey) }, r.steward), seenTerm: r.seenTerm }
      },
      answer: (res: RegisterResponse, ev: RegistryRegisterRequest) => registerAnswer(crypto, res, ev.id),
    },
  }

  const reeve: InboundService = {
    definition: ReeveServiceService,
    methods: {
      registerService: {
        method: ReeveServiceService.registerService,
        actor: 'reeve',
        event: (req: RegisterServiceRequest, caller) => {
          const endpoint = checkLocalEndpoint(req.endpoint, reeveParts)
          const beat = req.heartbeat === undefined ? undefined : toBeat(req.heartbeat)
          return { type: 'reeve.register', id: 0, caller, endpoint, ...(beat === undefined ? {} : { heartbeat: { uuid: beat.uuid, holdMs: beat.expiresMs - beat.atMs, state: beat.state } }) }
        },
        response: () => ({ version: 0 }),
      },
      deregisterService: {
        method: ReeveServiceService.deregisterService,
        actor: 'reeve',
        event: (req: { nodeId: string }, caller) => ({ type: 'reeve.deregister', id: 0, caller, nodeId: (nodeIdParts('node_id', req.nodeId), req.nodeId) }),
        response: () => ({}),
      },
      sendHeartbeats: {
        method: ReeveServiceService.sendHeartbeats,
        actor: 'heartbeater',
        event: (req: { heartbeats: Parameters<typeof toBeat>[0][] }, caller) => {
          if (req.heartbeats.length > MAX_BEATS) throw new InvalidArgumentError(`at most ${MAX_BEATS} heartbeats per call, got ${req.heartbeats.length}`)
          return { type: 'heartbeat.beats', id: 0, caller, beats: req.heartbeats.map(toBeat) }
        },
        response: () => ({}),
      },
      pushCatalog: {
        method: ReeveServiceService.pushCatalog,
        actor: 'reeve',
        event: (r: PushCatalogRequest, caller) => ({ type: 'catalog.push', id: 0, caller, term: r.term, version: r.version, full: r.full, base: r.base, endpoints: r.endpoints.map(fromEndpoint), remove: r.remove, rules: r.rules }),
        response: (a) => ({ version: Number(a.version) }),
      },
      pullKeys: {
        method: ReeveServiceService.pullKeys,
        actor: 'reeve',
        event: (r: { keyId: string; challenge: Uint8Array }, caller) => ({ type: 'keys.pull', id: 0, caller, keyId: r.keyId, challenge: b64(r.challenge) }),
        // The machine said yes to this key and challenge; the proof is signed here, on the way out.
        response: (a: KeysProof): PullKeysResponse => {
          const proof = crypto.proveKeys(bytes(a.challenge))
          return { publicKeys: proof.publicKeys.map((k) => Buffer.from(k)), signature: Buffer.from(proof.signature) }
        },
      },
      watchCatalog: {
        method: ReeveServiceService.watchCatalog,
        actor: 'reeve',
        event: (r: { nodeId: string; api: string }, caller) => {
          if (r.nodeId !== '') nodeIdParts('node_id', r.nodeId)
          return { type: 'catalog.watch', id: 0, caller, ...(r.nodeId === '' ? {} : { nodeId: r.nodeId }), ...(r.api === '' ? {} : { api: r.api }) }
        },
        response: (a): WatchCatalogResponse => ({
          endpoints: (a.endpoints as CatalogEndpoint[]).map(toEndpoint),
          version: Number(a.version),
          removed: a.type === 'catalog.delta' ? (a.removed as string[]) : [],
          full: a.type === 'catalog.snapshot',
        }),
        terminal: () => false,
      },
    },
  }

  const steward: InboundService = {
    definition: StewardServiceService,
    methods: {
      updateEndpoints: {
        method: StewardServiceService.updateEndpoints,
        actor: 'steward',
        event: (r: UpdateEndpointsRequest, caller) => {
          const reeveId = nodeIdParts('reeve', r.reeve)
          if (r.upsert.length + r.remove.length > MAX_ENDPOINTS) throw new InvalidArgumentError(`at most ${MAX_ENDPOINTS} endpoints per update`)
          for (const id of [...r.upsert.map((e) => e.nodeId), ...r.remove]) nodeIdParts('endpoint.node_id', id)
          checkAddress('address', r.address)
          const update = { reeve: r.reeve, address: r.address, horde: r.horde || reeveId.horde, full: r.full, upsert: r.upsert.map(fromPeerEndpoint), remove: r.remove }
          return { type: 'endpoints.update', id: 0, caller, term: Number(r.term ?? 0), update }
        },
        response: (a) => ({ version: Number(a.version), term: Number(a.term) }),
      },
    },
  }

  const registry: InboundService = {
    definition: RegistryServiceService,
    open: true,
    methods: {
      register: {
        method: RegistryServiceService.register,
        actor: 'registry',
        deadlineMs: init.registerDeadlineMs,
        event: (req: { sealed: Uint8Array; seenTerm?: number }) => {
          const o = crypto.openRegistration(new Uint8Array(req.sealed))
          if (!o.ok) return refuse(o.why, {})
          const r = o.value
          let node: string
          let net: ReturnType<typeof parseNetId>
          try {
            node = parseNodeId(r.nodeId).node
            net = parseNetId(r.netId)
          } catch (err) {
            return refuse((err as Error).message, { nodeId: r.nodeId, netId: r.netId })
          }
          return {
            type: 'registry.register',
            id: 0,
            caller: '',
            node,
            nodeId: r.nodeId,
            netId: r.netId,
            keyId: crypto.reeveKeyIdOf(node, r.publicKey),
            publicKey: b64(r.publicKey),
            keyNode: crypto.nodeIdOf(r.publicKey),
            callback: netIdAddress(net),
            netHost: net.host,
            challenge: b64(crypto.challenge()),
            seenTerm: Number(req.seenTerm ?? 0),
          }
        },
        response: (a): RegisterResponse => registerResponse(a),
        terminal: (a) => a.type !== 'registry.busy',
      },
      forget: {
        method: RegistryServiceService.forget,
        actor: 'registry',
        event: (req: { sealed: Uint8Array }) => {
          const o = crypto.openForget(new Uint8Array(req.sealed))
          if (!o.ok) {
            c.refused?.(o.why, {})
            throw new PermissionDeniedError('request refused')
          }
          return { type: 'registry.forget', id: 0, caller: '', node: o.value.node }
        },
        response: (a) => ({ removedKeyIds: a.removed as string[], stewardTerm: Number(a.term) }),
      },
    },
  }

  return { outbound, inbound: [reeve, steward, registry] }
}

/** A RegisterResponse as the follower's event. */
function registerAnswer(crypto: StrewCrypto, res: RegisterResponse, id: number): HostEvent {
  const key = new Uint8Array(res.stewardPublicKey)
  const steward = { stewardKeyId: res.stewardKeyId, stewardKey: b64(key), stewardNode: key.length === 0 ? '' : crypto.nodeIdOf(key) }
  switch (res.status) {
    case RegisterStatus.REGISTER_STATUS_BUSY:
      return { type: 'registry.busy', id, ...steward }
    case RegisterStatus.REGISTER_STATUS_DONE:
      return { type: 'registry.done', id, term: res.stewardTerm, ...steward }
    default:
      return { type: 'registry.failed', id, error: res.error || 'registration failed' }
  }
}

/** The registry machine's answer as a RegisterResponse. */
function registerResponse(a: HostEvent): RegisterResponse {
  const none = { status: RegisterStatus.REGISTER_STATUS_UNSPECIFIED, stewardKeyId: '', stewardPublicKey: Buffer.alloc(0), error: '', stewardTerm: 0 }
  const key = () => ({ stewardKeyId: String(a.stewardKeyId), stewardPublicKey: Buffer.from(String(a.stewardKey), 'base64') })
  if (a.type === 'registry.busy') return { ...none, status: RegisterStatus.REGISTER_STATUS_BUSY, ...key() }
  if (a.type === 'registry.done') return { ...none, status: RegisterStatus.REGISTER_STATUS_DONE, ...key(), stewardTerm: Number(a.term) }
  return { ...none, status: RegisterStatus.REGISTER_STATUS_FAILED, error: String(a.error ?? 'registration failed') }
}
