/**
 * The strew layer of one fulcrum (seeds 001, 002, 004; original-crux.md §4–§5): the reeve and the
 * heartbeater always, and the steward while this node leads its flock, hosted as actors in the
 * fulcrum's host, with one gRPC server for the ReeveService, StewardService and RegistryService.
 *
 * Who talks to whom:
 * - The flock names the steward: its leader announces its own gRPC address (servicesOf). When the
 *   named steward changes, the reeve registers with it (two factors: the flock secret and a
 *   signed call-back, actors/registry.ts), learns its key and term, and the reeve machine sends it
 *   everything again.
 * - The reeve machine's `Forward` emits become signed StewardService.UpdateEndpoints calls; the
 *   steward machine's `PushCatalog` emits become signed ReeveService.PushCatalog calls (one at a time
 *   per reeve, so deltas arrive in order).
 * - The heartbeater's `ServiceState` emits become reeve events and grpc.health.v1 statuses.
 *
 * Keys: the node's Ed25519 key signs as `/Reeve1_0/<node>/keys/<fp>` (the reeve, and local clients
 * holding the data dir) and as `/Steward1_0/<node>/keys/<fp>` (its steward).
 */
import { isLeader, servicesOf } from '../machines/flock/context.js'
import type { FlockContext } from '../machines/flock/types.js'
import { heartbeaterMachine } from '../machines/heartbeater.machine.js'
import { reeveMachine } from '../machines/reeve.machine.js'
import { stewardMachine } from '../machines/steward.machine.js'
import type { CatalogEndpoint, EndpointUpdate, Rule } from '../machines/steward/types.js'
import { ReeveServiceService } from '../protos/gen/crux/v1/reeve.js'
import { RegistryServiceService } from '../protos/gen/crux/v1/registry.js'
import { StewardServiceService } from '../protos/gen/crux/v1/steward.js'
import { createAsk } from '../runtime/ask.js'
import type { Clock } from '../runtime/clock.js'
import { Code, CruxError } from '../runtime/errors.js'
import { createSecureServer, type SecureServer } from '../runtime/grpc-server.js'
import type { GrpcLimits } from '../runtime/grpc-limits.js'
import type { PeerTls } from '../runtime/grpc-tls.js'
import { createPeerClient, type PeerClient } from '../runtime/peer-client.js'
import type { ActorHost } from '../runtime/host.js'
import type { LogStore } from '../runtime/log-store.js'
import { nodeIdOf } from '../runtime/node-identity.js'
import { keyIdOf } from '../runtime/registration.js'
import type { Walrus } from '../runtime/walrus.js'
import type { FileWhitelist } from '../runtime/whitelist-store.js'
import { createReeveService, type ReeveSide } from './reeve-service.js'
import { createRegistryService, registerNode, REEVE_REV } from './registry.js'
import { createStewardService } from './steward-service.js'
import { toEndpoint } from './strew-codec.js'


/** The rev under which a steward signs. */
export const STEWARD_REV = 'Steward1_0'

export interface StrewComponents {
  host: ActorHost
  clock: Clock
  identity: { secretKey: Uint8Array; publicKey: Uint8Array }
  /** The reeve's registrations (one key each). */
  store: LogStore
  /** Keys of registered reeves, for this node's steward. */
  whitelist: FileWhitelist
  flock(): FlockContext
  log: Walrus
}

export interface StrewInit {
  /** The flock node id (derived from the identity key). */
  node: string
  bloc: string
  horde: string
  secret: Uint8Array
  hbMs: number
  /** The steward's batch window, ms. Default 50. */
  batchMs?: number
  /** Who may see whom (the steward's, while this node leads). Default: the original's (DEFAULT_RULES). */
  rules?: Rule[]
  /** The reeve's: new changes wait this long before a forward, ms. Default 10. */
  forwardBatchMs?: number
  /** What the flock says (who leads, whose steward) must hold this long before it is acted on. Default: one heartbeat. */
  settleMs?: number
}

/** The strew layer's gRPC server, bound before the flock starts (a leader announces its address). */
export interface StrewServer {
  readonly server: SecureServer
  readonly address: string
  /** The certificates the server presents, and its clients too. */
  readonly tls: PeerTls
  /** Sets whose keys the server accepts. */
  trust(lookup: (keyId: string) => Uint8Array | undefined): void
}

/** Binds the strew layer's gRPC server (health and reflection only, until {@link startStrew}). */
export async function bindStrewServer(o: { host: string; port: number; tls: PeerTls; limits?: Partial<GrpcLimits> }): Promise<StrewServer> {
  let lookup = (_keyId: string): Uint8Array | undefined => undefined
  const server = createSecureServer({ host: o.host, port: o.port, tls: o.tls, lookup: (k) => lookup(k), ...(o.limits === undefined ? {} : { limits: o.limits }) })
  const address = await server.start()
  return { server, address, tls: o.tls, trust: (fn) => void (lookup = fn) }
}

export interface Strew {
  /** host:port of the gRPC server. */
  readonly address: string
  readonly reeveNodeId: string
  readonly reeveKeyId: string
  readonly actors: { reeve: string; heartbeater: string; steward: string }
  readonly server: SecureServer
  /** The steward the reeve forwards to (null until registered with one). */
  following(): { address: string; term: number } | null
  /** This node's steward's term, or null when it is not the steward. */
  stewardTerm(): number | null
  /** Follows the flock: starts or retires the steward, registers with a new one. Call after each flock step. */
  follow(): void
  close(): Promise<void>
}

type PushRecord = { reeve: string; to: string; term: number; version: number; full: boolean; base: number; endpoints: CatalogEndpoint[]; remove: string[]; rules: Array<{ horde: string; from: string; to: string }> }

export function startStrew(c: StrewComponents, init: StrewInit, bound: StrewServer): Strew {
  const { host, clock, identity, log } = c
  const actors = { reeve: `${init.node}/reeve`, heartbeater: `${init.node}/heartbeater`, steward: `${init.node}/steward` }
  const reeveKeyId = keyIdOf(REEVE_REV, init.node, identity.publicKey)
  const stewardKeyId = keyIdOf(STEWARD_REV, init.node, identity.publicKey)
  const reeveNodeId = `/${init.bloc}/${init.horde}/${init.node}/Reeve/Reeve1`
  let trusted: { keyId: string; publicKey: Uint8Array } | null = null
  bound.trust((key) => {
    if (key === reeveKeyId || key === stewardKeyId) return identity.publicKey
    if (trusted !== null && key === trusted.keyId) return trusted.publicKey
    return c.whitelist.get(key)
  })
  const { server, address } = bound
  const now = () => clock.now()
  const ask = createAsk(host, clock)
  let term: number | null = null
  let lastTerm = 0
  let following: { address: string; term: number; leader: string } | null = null
  let target: { address: string; leader: string } | null = null
  let attempt = 0
  let closed = false

  const side: ReeveSide = {
    host,
    ask,
    store: c.store,
    identity,
    actors,
    reeveNodeId,
    reeveKeyId,
    isLocal: (caller) => caller === reeveKeyId,
    isSteward: (caller) => trusted !== null && caller === trusted.keyId,
    following: () => (following === null ? null : { address: following.address, term: following.term }),
    health: (service, status) => server.setStatus(service, status),
  }
  const reeveService = createReeveService(side)
  server.addService(ReeveServiceService, reeveService.impl)
  server.addService(StewardServiceService, createStewardService({ host, ask, whitelist: c.whitelist, actor: actors.steward, term: () => term }))
  server.addService(
    RegistryServiceService,
    createRegistryService({
      whitelist: c.whitelist,
      steward: { keyId: stewardKeyId, secretKey: identity.secretKey, publicKey: identity.publicKey },
      tls: bound.tls,
      term: () => term,
      secret: init.secret,
      now,
      // The steward leads the flock: its member list says where each node is, and only there is called back.
      memberAddress: (node) => c.flock().list.entries[node]?.addr,
      refused: (why, fields) => log.warn('registry refused a sealed request', { ...fields, why }),
    }),
    { open: true },
  )
  server.setStatus('crux.v1.ReeveService', 'SERVING')
  server.setStatus('crux.v1.StewardService', 'NOT_SERVING')
  server.setStatus('crux.v1.RegistryService', 'NOT_SERVING')

  host.spawn(actors.heartbeater, heartbeaterMachine.name, { now: clock.now() })
  const local = c.store.values(actors.reeve, 'local/') as CatalogEndpoint[]
  host.spawn(actors.reeve, reeveMachine.name, { reeve: reeveNodeId, address, horde: init.horde, retryMs: init.hbMs, batchMs: init.forwardBatchMs ?? 10, now: clock.now(), local })
  reeveService.restore()

  // ---- clients, one per peer address ----
  const timeoutMs = Math.max(5_000, 4 * init.hbMs)
  const stewardClients = new Map<string, { pin: string; client: PeerClient }>()
  const reeveClients = new Map<string, { pin: string; client: PeerClient }>()
  /** The client for `to` that expects the server `expect`; one at a time per address (a new pin replaces it). */
  const clientOf = (clients: typeof stewardClients, to: string, key: string, expect: { publicKey?: Uint8Array; node?: string } | undefined, describe: string) => {
    const pin = expect?.node ?? (expect?.publicKey === undefined ? '' : Buffer.from(expect.publicKey).toString('hex'))
    const had = clients.get(to)
    if (had !== undefined && had.pin === pin) return had.client
    had?.client.close()
    const client = createPeerClient(to, { tls: bound.tls, key, ...(expect === undefined ? {} : { expect }), timeoutMs, describe })
    clients.set(to, { pin, client })
    return client
  }
  // The steward must hold the key the registry named (the flock leader's); a reeve, its node's key.
  const stewardClient = (to: string) => {
    const key = following?.address === to ? trusted?.publicKey : undefined
    return clientOf(stewardClients, to, reeveKeyId, key === undefined ? undefined : { publicKey: key }, `steward ${to}`)
  }
  const reeveClient = (to: string, reeve: string) => {
    const node = reeve.split('/')[3]
    return clientOf(reeveClients, to, stewardKeyId, node === undefined ? undefined : { node }, `reeve ${to}`)
  }

  // ---- the machines' emits, carried out ----
  const forward = (rec: { to: string; term: number; update: EndpointUpdate }) => {
    // Emits still come while the fulcrum stops (a batch timer firing): the clients are closed by then.
    if (closed) return
    const u = rec.update
    // This node's own steward is a mailbox away: no call, no signature (it registered us like any reeve).
    const sent: Promise<number> =
      rec.to === address && term !== null && host.has(actors.steward)
        ? ((t) => ask(actors.steward, { type: 'update', update: u }).then(() => t))(term)
        : stewardClient(rec.to)
            .unary(StewardServiceService.updateEndpoints, { reeve: u.reeve, full: u.full, upsert: u.upsert.map(toEndpoint), remove: u.remove, address: u.address, horde: u.horde, term: rec.term })
            .then((res) => res.term)
    sent
      .then(
        (t) => (t === rec.term ? null : new CruxError(Code.FAILED_PRECONDITION, `steward ${rec.to} has term ${t}, not ${rec.term}`)),
        (err: CruxError) => (err instanceof CruxError ? err : new CruxError(Code.UNAVAILABLE, String(err))),
      )
      .then((err) => {
        if (err === null) return void host.send(actors.reeve, { type: 'forward.done' }, 'control')
        host.send(actors.reeve, { type: 'forward.failed' }, 'control')
        // The steward does not know us (it restarted, or another took its address): register again.
        if (err.code !== Code.PERMISSION_DENIED && err.code !== Code.FAILED_PRECONDITION) return
        if (following !== null && following.address === rec.to && !closed) {
          log.warn('steward refused an update; registering again', { steward: rec.to, error: err.message })
          following = null
          target = null
          follow()
        }
      })
  }
  const pushChains = new Map<string, Promise<void>>()
  const push = (rec: PushRecord) => {
    if (closed) return
    const send = async () => {
      if (closed) return
      const catalog = { term: rec.term, version: rec.version, full: rec.full, base: rec.base, endpoints: rec.endpoints, remove: rec.remove, rules: rec.rules }
      // To this node's own reeve through its mailbox, as a PushCatalog call would deliver it.
      const held =
        rec.to === address
          ? await ask(actors.reeve, { type: 'push', catalog }).then(() => reeveService.catalogVersion(), () => -1)
          : await reeveClient(rec.to, rec.reeve).unary(ReeveServiceService.pushCatalog, { ...catalog, endpoints: rec.endpoints.map(toEndpoint) }).then((r) => r.version, () => -1)
      if (held !== rec.version) host.send(actors.steward, { type: 'push.failed', reeve: rec.reeve }, 'control')
    }
    const chain = (pushChains.get(rec.to) ?? Promise.resolve()).then(send)
    pushChains.set(rec.to, chain)
    void chain.then(() => {
      if (pushChains.get(rec.to) === chain) pushChains.delete(rec.to)
    })
  }
  host.onEmit((actor, rec) => {
    if (actor === actors.reeve && rec.type === 'Forward') forward(rec as unknown as Parameters<typeof forward>[0])
    else if (actor === actors.reeve && rec.type === 'CatalogChanged') reeveService.catalogChanged(rec as { type: string; full: boolean; changed?: string[] })
    else if (actor === actors.steward && rec.type === 'PushCatalog') push(rec as unknown as PushRecord)
    else if (actor === actors.heartbeater && rec.type === 'ServiceState') reeveService.serviceState(String(rec.uuid), rec.state === 'up' ? 'up' : 'down')
    // Stopped after the retiring step, unless this node came to lead again meanwhile: that steward is a new one.
    else if (actor === actors.steward && rec.type === 'StewardRetired') clock.schedule(0, () => term === null && host.stop(actors.steward))
  })

  // ---- following the flock ----
  const startSteward = () => {
    // A term only has to exceed the last one any reeve saw from this address; the clock gives that across restarts.
    term = Math.max(clock.now(), lastTerm + 1)
    lastTerm = term
    if (host.has(actors.steward)) host.stop(actors.steward)
    host.spawn(actors.steward, stewardMachine.name, { term, now: clock.now(), batchMs: init.batchMs ?? 50, ...(init.rules === undefined ? {} : { rules: init.rules }) }, { supervise: false })
    server.setStatus('crux.v1.StewardService', 'SERVING')
    server.setStatus('crux.v1.RegistryService', 'SERVING')
    log.info('steward started', { term })
  }
  const retireSteward = () => {
    log.info('steward retired', { term })
    term = null
    host.send(actors.steward, { type: 'retire' }, 'control')
    server.setStatus('crux.v1.StewardService', 'NOT_SERVING')
    server.setStatus('crux.v1.RegistryService', 'NOT_SERVING')
  }
  const register = (to: { address: string; leader: string }) => {
    const mine = ++attempt
    registerNode({
      registry: to.address,
      steward: to.leader,
      now,
      secret: init.secret,
      tls: bound.tls,
      nodeId: reeveNodeId,
      netId: `/${REEVE_REV}/${init.node}/net/${address}`,
      publicKey: identity.publicKey,
      // Only the flock's leader may be our steward: its key is the one its node id is made from.
      onSteward: (keyId, publicKey) => {
        if (mine === attempt && nodeIdOf(publicKey) === to.leader) trusted = { keyId, publicKey }
      },
      timeoutMs: Math.max(10_000, 10 * init.hbMs),
    }).then(
      (r) => {
        if (mine !== attempt || closed) return
        if (nodeIdOf(r.stewardPublicKey) !== to.leader) throw new Error(`the steward at ${to.address} is not the flock's leader`)
        trusted = { keyId: r.stewardKeyId, publicKey: r.stewardPublicKey }
        following = { address: to.address, term: r.stewardTerm, leader: to.leader }
        log.info('registered with steward', { steward: to.address, term: r.stewardTerm })
        host.send(actors.reeve, { type: 'steward', address: to.address, term: r.stewardTerm }, 'control')
      },
    ).catch((err: Error) => {
      if (mine !== attempt || closed) return
      log.warn('registration with steward failed; retrying', { steward: to.address, error: err.message })
      clock.schedule(init.hbMs, () => {
        if (mine === attempt && !closed) register(to)
      })
    })
  }
  /**
   * While a flock forms, a node may lead alone for a moment before it joins a bigger flock, and the
   * steward named changes several times a second. A steward starts, and a reeve registers, only once
   * what the flock says has held for `settleMs` (one heartbeat): 20 fulcrums forming a flock otherwise
   * spent 0.2 s of CPU each on stewards and registrations that were gone a heartbeat later.
   */
  const settleMs = init.settleMs ?? 2 * init.hbMs
  let leadingSince: number | null = null
  let named: { address: string; leader: string; since: number } | null = null
  let recheck: ReturnType<Clock['schedule']> | null = null
  const followAt = (at: number) => {
    if (recheck !== null) clock.cancel(recheck)
    recheck = clock.schedule(Math.max(0, at - clock.now()), () => {
      recheck = null
      follow()
    })
  }
  const follow = () => {
    if (closed) return
    const f = c.flock()
    const t = clock.now()
    const leading = isLeader(f)
    if (!leading) {
      leadingSince = null
      if (term !== null) retireSteward()
    } else if (term === null || host.status(actors.steward) === 'failed') {
      leadingSince ??= t
      if (t - leadingSince >= settleMs) startSteward()
      else followAt(leadingSince + settleMs)
    }
    const s = servicesOf(f).steward
    if (s === '') return
    if (named === null || named.address !== s || named.leader !== f.leader.id) named = { address: s, leader: f.leader.id, since: t }
    if (target !== null && target.address === named.address && target.leader === named.leader) return
    if (t - named.since < settleMs) return followAt(named.since + settleMs)
    target = { address: named.address, leader: named.leader }
    register(target)
  }

  return {
    address,
    reeveNodeId,
    reeveKeyId,
    actors,
    server,
    following: () => side.following(),
    stewardTerm: () => term,
    follow,
    async close() {
      closed = true
      attempt++
      if (recheck !== null) clock.cancel(recheck)
      reeveService.close()
      for (const cl of [...stewardClients.values(), ...reeveClients.values()]) cl.client.close()
      await server.close()
    },
  }
}
