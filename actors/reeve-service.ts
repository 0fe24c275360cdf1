/**
 * The ReeveService (protos/crux/v1/reeve.proto) of one node: its local services register, deregister
 * and heartbeat here and look the catalog up; its steward pushes the catalog and, during
 * registration, pulls the node's keys. Local calls must be signed with the node's own key (the data
 * dir's node.key); steward calls with the key the registry named. Changes go into the reeve and
 * heartbeater machines' mailboxes, and a registration is answered once its step is done and on disk.
 */
import type * as grpc from '@grpc/grpc-js'
import type { ServingStatus } from '../runtime/grpc-health.js'
import type { ReeveContext } from '../machines/reeve/rules.js'
import { serviceOf, visibleTo } from '../machines/steward/rules.js'
import type { CatalogEndpoint } from '../machines/steward/types.js'
import type {
  DeregisterServiceRequest,
  GetCatalogRequest,
  GetCatalogResponse,
  PullKeysRequest,
  PushCatalogRequest,
  RegisterServiceRequest,
  SendHeartbeatsRequest,
  WatchCatalogRequest,
  WatchCatalogResponse,
} from '../protos/gen/crux/v1/reeve.js'
import type { Ask } from '../runtime/ask.js'
import { CallRefusedError, InvalidArgumentError, NotFoundError } from '../runtime/errors.js'
import { callerOf, toServiceError, unary } from '../runtime/grpc-server.js'
import type { ActorHost } from '../runtime/host.js'
import type { LogStore } from '../runtime/log-store.js'
import { signKeys } from '../runtime/registration.js'
import { checkLocalEndpoint, fromEndpoint, nodeIdParts, toBeat, toEndpoint } from './strew-codec.js'

/** What the service needs of the node around it. */
export interface ReeveSide {
  host: ActorHost
  ask: Ask
  store: LogStore
  identity: { secretKey: Uint8Array; publicKey: Uint8Array }
  actors: { reeve: string; heartbeater: string }
  reeveNodeId: string
  reeveKeyId: string
  isLocal(caller: string): boolean
  isSteward(caller: string): boolean
  following(): { address: string; term: number } | null
  health(service: string, status: ServingStatus): void
}

/** A heartbeat-kept registration: its uuid, NodeID and how long its last beat held. */
interface Kept {
  uuid: string
  nodeId: string
  holdMs: number
}

const denied = () => new CallRefusedError()
const MAX_BEATS = 1_000

export function createReeveService(side: ReeveSide) {
  const { host, ask, store, actors } = side
  const reeveParts = nodeIdParts('reeve', side.reeveNodeId)
  /** Heartbeat uuid → registration, kept in the store so a restart keeps watching it. */
  const kept = new Map<string, Kept>()
  const watchers = new Set<(rec: { full: boolean; changed?: string[] }) => void>()
  /** Registrations and deregistrations being answered: one alone flushes the store itself. */
  let writing = 0
  const durable = async <T>(fn: () => Promise<T>): Promise<T> => {
    writing++
    try {
      const r = await fn()
      await store.sync(writing === 1)
      return r
    } finally {
      writing--
    }
  }
  const ctx = () => host.state(actors.reeve).context as ReeveContext
  /** Heartbeats (all but uuid `but`) no longer keep `nodeId`: forgotten here, in the store and by the heartbeater. */
  const unkeep = (nodeId: string, but?: string) => {
    for (const k of kept.values()) {
      if (k.nodeId !== nodeId || k.uuid === but) continue
      kept.delete(k.uuid)
      store.put(actors.reeve, `beat/${k.uuid}`, null)
      host.send(actors.heartbeater, { type: 'deregister', uuid: k.uuid }, 'control')
    }
  }
  const local = (call: { metadata: grpc.Metadata }) => {
    if (!side.isLocal(callerOf(call))) throw denied()
  }

  /** Endpoints the caller may see: all of its horde for the node itself, by rules for a named service. */
  const visible = (req: { nodeId: string; api: string; endpoint?: string }): CatalogEndpoint[] => {
    const cat = ctx().catalog
    if (req.endpoint) {
      const e = cat.endpoints[req.endpoint]
      return e === undefined || (req.api !== '' && e.api !== req.api) ? [] : [e]
    }
    const all = Object.values(cat.endpoints)
    if (req.nodeId === '') return req.api === '' ? all : all.filter((e) => e.api === req.api)
    const caller = nodeIdParts('node_id', req.nodeId)
    return visibleTo(all, cat.rules, { horde: caller.horde, service: serviceOf(req.nodeId) }, req.api)
  }

  const impl: grpc.UntypedServiceImplementation = {
    ping: unary((call: grpc.ServerUnaryCall<{ text: string }, unknown>) => {
      const f = side.following()
      return { text: call.request.text, nodeId: side.reeveNodeId, steward: f?.address ?? '', term: f?.term ?? 0 }
    }),
    registerService: unary((call: grpc.ServerUnaryCall<RegisterServiceRequest, unknown>) => durable(async () => {
      local(call)
      const e = checkLocalEndpoint(call.request.endpoint, reeveParts)
      const beat = call.request.heartbeat === undefined ? undefined : toBeat(call.request.heartbeat)
      await ask(actors.reeve, { type: 'register', endpoint: e })
      // Registered again: heartbeats under another uuid (or none now) no longer keep it.
      unkeep(e.nodeId, beat?.uuid)
      if (beat !== undefined) {
        const k = { uuid: beat.uuid, nodeId: e.nodeId, holdMs: beat.expiresMs - beat.atMs }
        kept.set(k.uuid, k)
        store.put(actors.reeve, `beat/${k.uuid}`, k)
        host.send(actors.heartbeater, { type: 'heartbeat', beat }, 'control')
      } else side.health(e.nodeId, 'SERVING')
      return { version: 0 }
    })),
    deregisterService: unary((call: grpc.ServerUnaryCall<DeregisterServiceRequest, unknown>) => durable(async () => {
      local(call)
      const id = call.request.nodeId
      if (ctx().local[id] === undefined) throw new NotFoundError(`${id} is not registered here`)
      await ask(actors.reeve, { type: 'deregister', nodeId: id })
      unkeep(id)
      side.health(id, 'NOT_SERVING')
      return {}
    })),
    sendHeartbeats: unary(async (call: grpc.ServerUnaryCall<SendHeartbeatsRequest, unknown>) => {
      local(call)
      const beats = call.request.heartbeats
      if (beats.length > MAX_BEATS) throw new InvalidArgumentError(`at most ${MAX_BEATS} heartbeats per call, got ${beats.length}`)
      const checked = beats.map(toBeat)
      for (const b of checked) if (!kept.has(b.uuid)) throw new NotFoundError(`heartbeat uuid ${JSON.stringify(b.uuid)} is not registered here`)
      await Promise.all(checked.map((beat) => ask(actors.heartbeater, { type: 'heartbeat', beat })))
      return {}
    }),
    getCatalog: unary((call: grpc.ServerUnaryCall<GetCatalogRequest, GetCatalogResponse>) => {
      local(call)
      return { endpoints: visible(call.request).map(toEndpoint), version: ctx().catalog.version }
    }),
    watchCatalog: (call: grpc.ServerWritableStream<WatchCatalogRequest, WatchCatalogResponse>) => {
      const req = call.request
      let caller: { horde: string; service: string } | undefined
      try {
        local(call)
        if (req.nodeId !== '') caller = { horde: nodeIdParts('node_id', req.nodeId).horde, service: serviceOf(req.nodeId) }
      } catch (err) {
        return void call.emit('error', toServiceError(err))
      }
      const snapshot = () => call.write({ endpoints: visible(req).map(toEndpoint), version: ctx().catalog.version, removed: [], full: true })
      const watcher = (rec: { full: boolean; changed?: string[] }) => {
        if (rec.full || rec.changed === undefined) return void snapshot()
        const cat = ctx().catalog
        // Only the changed endpoints are judged, not the whole catalog again.
        const changed = rec.changed.map((id) => cat.endpoints[id]).filter((e): e is CatalogEndpoint => e !== undefined)
        const endpoints = (req.nodeId === '' ? changed.filter((e) => req.api === '' || e.api === req.api) : visibleTo(changed, cat.rules, caller!, req.api)).map(toEndpoint)
        const removed = rec.changed.filter((id) => cat.endpoints[id] === undefined)
        if (endpoints.length > 0 || removed.length > 0) call.write({ endpoints, version: cat.version, removed, full: false })
      }
      watchers.add(watcher)
      call.on('cancelled', () => watchers.delete(watcher))
      call.on('close', () => watchers.delete(watcher))
      snapshot()
    },
    pushCatalog: unary(async (call: grpc.ServerUnaryCall<PushCatalogRequest, unknown>) => {
      if (!side.isSteward(callerOf(call))) throw denied()
      const r = call.request
      await ask(actors.reeve, { type: 'push', catalog: { term: r.term, version: r.version, full: r.full, base: r.base, endpoints: r.endpoints.map(fromEndpoint), remove: r.remove, rules: r.rules } })
      return { version: ctx().catalog.version }
    }),
    pullKeys: unary((call: grpc.ServerUnaryCall<PullKeysRequest, unknown>) => {
      if (!side.isSteward(callerOf(call))) throw denied()
      if (call.request.keyId !== side.reeveKeyId) throw new NotFoundError('no such key here')
      const keys = [Buffer.from(side.identity.publicKey)]
      return { publicKeys: keys, signature: Buffer.from(signKeys(call.request.challenge, keys, side.identity.secretKey)) }
    }),
  }

  return {
    impl,
    /** After a restart: heartbeat-kept registrations get one more hold to beat again; the rest serve. */
    restore(): void {
      for (const k of store.values(actors.reeve, 'beat/') as Kept[]) {
        kept.set(k.uuid, k)
        host.send(actors.heartbeater, { type: 'heartbeat', beat: { uuid: k.uuid, state: 'up', netId: '', atMs: 0, expiresMs: k.holdMs, various: 'restored' } }, 'control')
      }
      const beating = new Set([...kept.values()].map((k) => k.nodeId))
      for (const id of Object.keys(ctx().local)) if (!beating.has(id)) side.health(id, 'SERVING')
    },
    /** The heartbeater judged a service. */
    serviceState(uuid: string, state: 'up' | 'down'): void {
      const k = kept.get(uuid)
      if (k === undefined) return
      host.send(actors.reeve, { type: 'service.state', nodeId: k.nodeId, state }, 'control')
      side.health(k.nodeId, state === 'up' ? 'SERVING' : 'NOT_SERVING')
    },
    /** The version of the catalog the reeve holds. */
    catalogVersion: (): number => ctx().catalog.version,
    catalogChanged(rec: { full: boolean; changed?: string[] }): void {
      for (const w of watchers) w(rec)
    },
    close(): void {
      watchers.clear()
    },
  }
}
