/**
 * A fulcrum: one real node. The flock actor on a sealed UDP transport and the real clock, its
 * identity and checkpoint in the data dir, NDJSON logs, an optional journal and an optional
 * `/metrics` endpoint. `crux fulcrum` is a thin shell around {@link startFulcrum}.
 */
import { join } from 'node:path'
import { flockMachine, roleOf } from '../../machines/flock.machine.js'
import type { FlockConfig, ProbeSpec } from '../../machines/flock/types.js'
import type { Rule } from '../../machines/steward/types.js'
import { RealClock } from '../../runtime/clock.js'
import { FileSink, Recorder } from '../../runtime/recorder.js'
import { epochSeq } from '../../machines/flock/random.js'
import { loadBloc } from '../../runtime/bloc-files.js'
import { loadOrCreateIdentity, nodeIdOf } from '../../runtime/node-identity.js'
import { createSessionTransport, type SessionTransport } from '../../runtime/session-transport.js'
import { LogStore } from '../../runtime/log-store.js'
import { FileStore, type Store } from '../../runtime/store.js'
import { PersistGuard } from '../../runtime/persist-guard.js'
import { FileWhitelist } from '../strew/whitelist-store.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'
import { parseHostPort } from '../../runtime/udp-address.js'
import { createWalrus, type Level, type Walrus } from '../../runtime/walrus.js'
import { createFlockActor, type FlockActor } from '../flock/flock.actor.js'
import { checkReeveLog, loadCheckpoint } from './data-dir.js'
import { lockDataDir, type LockOwner } from './data-dir-lock.js'
import { announce, announceHost, checkSameHost, isWildcard, type InterfaceList } from './advertise.js'
import { attachFulcrumMonitor, type FulcrumMonitor } from './monitor.js'
import { unopenableWarner } from '../flock/unopenable-warning.js'
import type { Strew } from '../strew/strew.js'
import { strewMachines } from '../strew/machines.js'
import type { GrpcLimits } from '../../runtime/grpc-limits.js'
import { pasticheMachine } from '../../machines/pastiche.machine.js'
import { pasticheKeys, pastichePorts } from '../pastiche/machine-host.js'
import { picketMachine } from '../../machines/picket.machine.js'
import { deanMachine } from '../../machines/dean.machine.js'
import { proctorMachine } from '../../machines/proctor.machine.js'

export interface FulcrumOptions {
  host: string
  port: number
  dataDir: string
  probe: ProbeSpec
  secret: Uint8Array
  /** Require this bloc (the data dir's certificate must name it). Without it, a certificate in the data dir still puts the node in its bloc. */
  bloc?: string
  hbMs: number
  /** Where to send MonInfo (HOST:PORT), until the leader names another. */
  beacon?: string
  /** MonInfo records kept for `crux dump`. Default 10 000. */
  ringSize?: number
  logLevel: Level
  trace?: string
  metrics?: { host: string; port: number }
  config?: Partial<FlockConfig>
  /** Serve the strew layer (reeve, steward, registry) over gRPC here. */
  grpc?: { host: string; port: number }
  /** The flock address announced to peers, instead of the bound one (actors/advertise.ts). */
  advertise?: { host: string; port: number }
  /** The gRPC address announced as steward and registry, instead of the bound one. */
  grpcAdvertise?: { host: string; port: number }
  /** The host's interfaces, for a wildcard listen without an advertise address. Default: os.networkInterfaces. */
  interfaces?: () => InterfaceList
  /** Bounds of the gRPC server (docs/LIMITS.md); each defaults to GRPC_LIMITS'. */
  grpcLimits?: Partial<GrpcLimits>
  /** Key derivations a second for key ids never heard, per source host and overall (bursts twice that). Default 16 and 128. */
  keyBudget?: { perSource: number; overall: number }
  /** This node's horde (its services' NodeIDs name it). Default `default`. */
  horde?: string
  /** The node's labels (`--label`), published in its muster for placement. */
  labels?: string[]
  /** The steward's rules while this node leads (give every node the same). Default: the original's. */
  rules?: Rule[]
  /** Bytes the pastiche store (`<dataDir>/pastiche/`, served with gRPC) may take. Default 10 GiB. */
  pasticheLimit?: number
}

export interface Fulcrum {
  readonly id: string
  /** The bound UDP address. */
  readonly address: string
  /** The flock address announced to peers. */
  readonly advertised: string
  readonly flock: FlockActor
  readonly transport: SessionTransport
  readonly monitor: FulcrumMonitor
  readonly log: Walrus
  /** The strew layer, when started with `grpc`. */
  readonly strew: Strew | undefined
  /** Graceful leave: Exit MonInfo, checkpoint, close everything. */
  stop(): Promise<void>
}

/**
 * Starts a fulcrum. If it cannot start, everything it had already opened is closed again before the
 * error is thrown: an open socket or timer would keep the process running after `crux: <error>`, a
 * node that said it failed but went on taking part in the flock (issue 13: without its reeve).
 */
export async function startFulcrum(o: FulcrumOptions): Promise<Fulcrum> {
  const opened: Array<() => unknown> = []
  try {
    return await start(o, opened)
  } catch (err) {
    for (const close of opened.reverse()) await Promise.resolve().then(close).catch(() => undefined)
    throw err
  }
}

async function start(o: FulcrumOptions, opened: Array<() => unknown>): Promise<Fulcrum> {
  // What to announce is settled before anything is opened: a wildcard listen with no one address to
  // announce is refused first. A wildcard gRPC host follows the flock's announced host.
  const udpHost = announceHost({ listenFlag: '--listen', listen: { host: o.host, port: o.port }, advertiseFlag: '--advertise', advertise: o.advertise, interfaces: o.interfaces })
  const grpcHost = o.grpc === undefined ? undefined : announceHost({ listenFlag: '--grpc', listen: o.grpc, advertiseFlag: '--grpc-advertise', advertise: o.grpcAdvertise, otherwise: udpHost, interfaces: o.interfaces })
  // The lock comes first: nothing else in the data dir is read or written by a second owner.
  let stale: { previous: LockOwner; why: string } | undefined
  const lock = lockDataDir(o.dataDir, { onStale: (previous, why) => void (stale = { previous, why }) })
  opened.push(() => lock.release())
  const identity = loadOrCreateIdentity(o.dataDir)
  // The id is the key's: peers check every packet's sender id against its session's key.
  const id = nodeIdOf(identity.publicKey)
  const clock = new RealClock()
  const bloc = loadBloc(o.dataDir, identity, o.bloc, clock.now())
  const log = createWalrus({ level: o.logLevel, base: { node: id } })
  if (stale !== undefined) log.warn('took over the data dir lock of a process that is gone', { lock: lock.file, pid: stale.previous.pid, why: stale.why })
  const files = new FileStore(join(o.dataDir, 'store'))
  // The reeve's many small registrations go to a group-committed log; everything else to one file per key.
  // A torn last line (kill -9 mid-write, never acknowledged) is dropped and said; other damage stops the node.
  // A write the disk refuses is reported, and the store mends itself at the next put (runtime/log-store.ts).
  const logs =
    o.grpc === undefined
      ? undefined
      : new LogStore(join(o.dataDir, 'strew'), {
          onRepair: (file, what) => log.warn('data dir file repaired', { file, what }),
          failed: (err) => log.error('the reeve store refused a write; calls that change it fail until it can be rewritten', { error: err.message }),
          recovered: () => log.info('the reeve store is written again'),
        })
  const reeveActor = `${id}/reeve`
  // The reeve's registrations and the heartbeater's kept ones go to the log; the registry's keys to the
  // whitelist (made below, once the lock is held); everything else to one file per key.
  const logged = new Set([reeveActor, `${id}/heartbeater`])
  // The pastiche machine's keys name blobs (`want/<hash>`): kept as file names (actors/pastiche/machine-host.ts).
  const pasticheFiles = pasticheKeys(files)
  // Picket's keys (`svc/<name>`) likewise.
  const slashKeyed = new Set([`${id}/pastiche`, `${id}/picket`])
  const storeOf = (actor: string): Store => (logged.has(actor) && logs !== undefined ? logs : slashKeyed.has(actor) ? pasticheFiles : files)
  const store: Store = {
    put: (actor, key, value) => (actor === `${id}/registry` && whitelist !== undefined ? whitelist.persist(key, value) : storeOf(actor).put(actor, key, value)),
    get: (actor, key) => storeOf(actor).get(actor, key),
    keys: (actor) => storeOf(actor).keys(actor),
  }
  const actorId = `${id}/flock`
  // Everything restored is checked here, before anything binds: a damaged store stops the node with
  // one line naming the file, instead of failing later while the node already takes part in the flock.
  const checkpoint = loadCheckpoint(files, actorId, id)
  if (logs !== undefined) opened.push(() => logs.close())
  if (logs !== undefined) checkReeveLog(logs, reeveActor, id)
  // A whitelist save the disk refuses is reported and retried; the key is trusted meanwhile, as saved.
  const whitelistWrites = new PersistGuard(files, clock, {
    failed: (_actor, _key, err, retryInMs) => log.error('the whitelist could not be saved; will retry', { error: (err as NodeJS.ErrnoException).code ?? String(err), retryInMs }),
    recovered: () => log.info('the whitelist is saved'),
  })
  opened.push(() => whitelistWrites.close())
  const whitelist = logs === undefined ? undefined : new FileWhitelist({ dir: files.dir, get: (a, k) => files.get(a, k), put: (a, k, v) => whitelistWrites.put(a, k, v) })
  const udp = await createUdpTransport({ host: o.host, port: o.port })
  opened.push(() => udp.close(), () => clock.cancelAll())
  const keyId = new DataView(crypto.getRandomValues(new Uint8Array(4)).buffer).getUint32(0)
  const transport = createSessionTransport(
    { transport: udp, clock },
    {
      secret: o.secret,
      identity,
      ...(o.keyBudget === undefined ? {} : { keyBudget: { perSource: { burst: 2 * o.keyBudget.perSource, perS: o.keyBudget.perSource }, global: { burst: 2 * o.keyBudget.overall, perS: o.keyBudget.overall } } }),
      keyId,
      startCounter: Math.floor(clock.now() / 1000) * 2 ** 21,
      ...(bloc === undefined ? {} : { bloc }),
      epochOrder: (a, b) => epochSeq(a) - epochSeq(b) || (a < b ? -1 : a > b ? 1 : 0),
      // Replaced keys still open late datagrams for 10 heartbeats (at least 5 s); offers repeat each heartbeat.
      graceMs: Math.max(5_000, 10 * o.hbMs),
      retryMs: o.hbMs,
      onUnopenable: unopenableWarner(clock, log),
    },
  )
  const seed = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')
  const config = { ...o.config, hbMs: o.hbMs }
  // The machines beside the flock's: strew's, pastiche's and picket's, on a node that serves gRPC.
  const nodeMachines = o.grpc === undefined ? [] : [...strewMachines, pasticheMachine, picketMachine, deanMachine, proctorMachine]
  const recorder =
    o.trace === undefined
      ? undefined
      : new Recorder(new FileSink(o.trace, undefined, (err) => log.error('the journal could not be written; it ends here and the node goes on', { trace: o.trace, error: (err as NodeJS.ErrnoException).code ?? err.message })), { node: id, seed, config, machines: Object.fromEntries([flockMachine, ...nodeMachines].map((m) => [m.name, m.version])) })
  // The gRPC server is bound before the flock starts: a node that comes to lead announces its address.
  // gRPC is loaded only by a fulcrum that serves it: start-up time and memory are features.
  const strewModule = o.grpc === undefined ? undefined : await import('../strew/strew.js')
  // Its TLS certificate, from the node key and the secret, is written beside node.key first, for the
  // CLI that speaks for this node (runtime/grpc-tls.ts).
  const tls = o.grpc === undefined ? undefined : (await import('../../runtime/grpc-tls.js')).certifyNode(o.dataDir, o.secret, identity)
  const bound = o.grpc === undefined ? undefined : await strewModule!.bindStrewServer({ ...o.grpc, tls: tls!, ...(o.grpcLimits === undefined ? {} : { limits: o.grpcLimits }) })
  if (bound !== undefined) opened.push(() => bound.server.close())
  // A specific listen address is announced as the socket reports it: the source address of its datagrams.
  const advertised = o.advertise === undefined && !isWildcard(o.host) ? udp.address : announce(udpHost, o.advertise, parseHostPort(udp.address)!.port)
  // gRPC on the listen host (the default) or on a wildcard is announced on the flock's announced host.
  const grpcFollows = o.grpc !== undefined && o.grpcAdvertise === undefined && (o.grpc.host === o.host || isWildcard(o.grpc.host))
  const grpcAddress = bound === undefined ? undefined : announce(grpcFollows ? parseHostPort(advertised)!.host : grpcHost!, o.grpcAdvertise, parseHostPort(bound.address)!.port)
  // Checked on the very strings peers will get, before the flock starts.
  if (grpcAddress !== undefined) checkSameHost(parseHostPort(advertised)!.host, parseHostPort(grpcAddress)!.host)
  // Every port is bound before the flock starts: a taken one stops the fulcrum before it sends a packet.
  const metricsServer = o.metrics === undefined ? undefined : await (await import('./metrics.js')).bindFulcrumHttp(o.metrics)
  if (metricsServer !== undefined) opened.push(() => metricsServer.close())
  // Strew's road exists before the host: the host's one router sends datagrams, gRPC calls and answers.
  const strewInit =
    bound === undefined
      ? undefined
      : { node: id, bloc: bloc?.cert.bloc ?? 'crux', horde: o.horde ?? 'default', secret: o.secret, hbMs: o.hbMs, address: grpcAddress!, ...(o.rules === undefined ? {} : { rules: o.rules }) }
  // Picket's requests arrive on the same road (actors/picket/routes.ts); its List is read by the edge.
  const picketModule = bound === undefined ? undefined : await import('../picket/picket.js')
  // Members are read from the flock once it runs; until then only the node's own key is taken.
  let members = (): Readonly<Record<string, unknown>> => ({})
  const picketRoutes = picketModule?.picketRoutes(id, (await import('../pastiche/trust.js')).pasticheTrust(identity.publicKey, () => members()))
  // Placement's proctor and dean take calls on the same road and trust (actors/placement/routes.ts).
  const placementModule = bound === undefined ? undefined : await import('../placement/routes.js')
  const placementRoutes = placementModule?.placementRoutes((await import('../pastiche/trust.js')).pasticheTrust(identity.publicKey, () => members()))
  const inbound = [...(picketRoutes === undefined ? [] : [picketRoutes.service]), ...(placementRoutes?.inbound ?? [])]
  const strewRoad = bound === undefined || logs === undefined ? undefined : strewModule!.createStrewRoad({ clock, identity, log: log.child('crux:strew'), bound, store: logs, inbound, outbound: placementRoutes?.outbound ?? {} }, strewInit!)
  const router = strewRoad === undefined ? undefined : (await import('../../runtime/router.js')).createRouter
  // The pastiche machine's ports; its edge is bound once the store is open (below).
  const pasticheEdge = pastichePorts()
  const picketEdge = picketModule?.picketPorts()
  const flock = createFlockActor(
    {
      transport,
      clock,
      recorder,
      logger: log,
      store,
      machines: nodeMachines,
      ...(strewRoad === undefined ? {} : { outbound: (udp) => router!({ udp, grpc: strewRoad.road, ports: { ...strewRoad.ports, ...pasticheEdge.ports, ...picketEdge?.ports } }).outbound }),
    },
    {
      node: id,
      input: {
        self: { addr: advertised, id },
        config,
        probe: o.probe,
        seed,
        ...(o.beacon === undefined ? {} : { beacon: o.beacon }),
        ...(checkpoint === undefined ? {} : { checkpoint }),
        ...(grpcAddress === undefined ? {} : { steward: grpcAddress, registry: grpcAddress }),
      },
    },
  )
  opened.push(() => flock.close(), () => recorder?.close())
  members = () => flock.context().list.entries
  const monitor = attachFulcrumMonitor(
    { host: flock.host, transport, beacon: () => flock.context().beacon, self: () => ((c) => ({ node: id, flock: c.flock, leader: c.leader.id, t: clock.now() }))(flock.context()) },
    { ringSize: o.ringSize ?? 10_000 },
  )
  // The leader's epoch is the key period: every session older than it is re-keyed on its next send.
  // Read from the flock machine's context after each of its steps (its `Epoch` record is for
  // monitoring, not a message to the transport).
  let epoch = flock.context().epoch
  transport.rekey(epoch)
  // One log line whenever where the node stands changes: role, flock, leader, member count.
  let last = ''
  flock.host.onStep((info) => {
    if (info.actor !== actorId) return
    const c = flock.context()
    if (c.epoch !== epoch) transport.rekey((epoch = c.epoch))
    const view = { role: roleOf(c), flock: c.flock, leader: c.leader.id, leaderAddr: c.leader.addr, members: c.list.size, listVersion: c.list.version }
    const key = JSON.stringify(view)
    if (key !== last) {
      last = key
      log.info('flock', view)
    }
  })
  let strew: Strew | undefined
  if (bound !== undefined && logs !== undefined && whitelist !== undefined && strewRoad !== undefined) {
    const s = strewModule!.startStrew({ host: flock.host, clock, identity, store: logs, whitelist, flock: () => flock.context(), log: log.child('crux:strew') }, strewInit!, bound, strewRoad)
    strew = s
    // After each flock step (not inside it): start or retire the steward, follow a new one.
    let due = false
    flock.host.onStep((info) => {
      if (info.actor !== actorId || due) return
      due = true
      queueMicrotask(() => {
        due = false
        s.follow()
      })
    })
    s.follow()
  }
  // The blob store, served beside strew on the same gRPC server, and the pastiche machine that keeps
  // the node's holdings in the flock's host (actors/pastiche/pastiche.ts, machine-host.ts).
  const machine = bound === undefined ? undefined : { node: id, host: flock.host, clock, persisted: pasticheFiles, flock: () => flock.context(), grpcPort: parseHostPort(grpcAddress!)!.port, hbMs: o.hbMs, bind: pasticheEdge.bind, ...(strew === undefined ? {} : { catalog: { reeveNodeId: strew.reeveNodeId, reeveKeyId: strew.reeveKeyId, address: strew.address } }) }
  const pastiche = bound === undefined ? undefined : await (await import('../pastiche/pastiche.js')).startPastiche({ dataDir: o.dataDir, ...(o.pasticheLimit === undefined ? {} : { limitBytes: o.pasticheLimit }), server: bound.server, tls: bound.tls, members: () => flock.context().list.entries, log: log.child('crux:pastiche'), ...(machine === undefined ? {} : { machine }) })
  if (pastiche !== undefined) opened.push(() => pastiche.close())
  // Picket runs the node's services from bundles in that store (actors/picket/picket.ts).
  const picket =
    pastiche === undefined || strew === undefined || picketModule === undefined
      ? undefined
      : picketModule.startPicket(
          { node: id, host: flock.host, clock, dataDir: o.dataDir, persisted: pasticheFiles, blobs: pastiche.store, want: (hash) => void pastiche.machine?.tell({ type: 'want', hash }), unwant: (hash) => void pastiche.machine?.tell({ type: 'unwant', hash }), absent: (hash) => pastiche.machine?.absent(hash) ?? false, reeveNodeId: strew.reeveNodeId, reeveKeyId: strew.reeveKeyId, hbMs: o.hbMs, serviceHost: parseHostPort(strew.address)!.host, address: strew.address, ...(o.labels === undefined ? {} : { labels: o.labels }), log: log.child('crux:picket') },
          picketEdge!.bind,
        )
  if (picket !== undefined) picketRoutes!.bind(picket)
  // The dean drives that picket; the proctor, while this node leads, places the flock's services (actors/placement/placement.ts).
  if (picket !== undefined && strew !== undefined) {
    const { startPlacement } = await import('../placement/placement.js')
    placementRoutes!.bind(startPlacement({ node: id, host: flock.host, now: clock.now(), hbMs: o.hbMs, store, keyId: strew.reeveKeyId, seed: id, members: () => Object.keys(flock.context().list.entries), log: log.child('crux:placement') }))
  }
  await metricsServer?.attach({ id, flock, transport, strew, logs, files })
  log.info('fulcrum started', { addr: advertised, ...(advertised === udp.address ? {} : { bound: udp.address }), grpc: strew?.address ?? null, ...(bound === undefined || bound.address === grpcAddress ? {} : { grpcBound: bound.address }), dataDir: o.dataDir, restored: checkpoint !== undefined, hbMs: o.hbMs, publicKey: Buffer.from(identity.publicKey).toString('base64'), bloc: bloc?.cert.bloc ?? null })

  let stopped = false
  return {
    id,
    address: udp.address,
    advertised,
    flock,
    transport,
    monitor,
    log,
    strew,
    async stop() {
      if (stopped) return
      stopped = true
      // The machine's leave persists the checkpoint (a persist effect into the store) and says Exit.
      flock.host.send(actorId, { type: 'leave' }, 'control')
      flock.host.runUntilIdle()
      // A checkpoint the disk refused was reported; say so here too rather than claim it was written.
      const checkpointed = flock.host.persistStatus().pending === 0
      // A fulcrum's services end with it: each is asked to quit, and killed past its stopMs.
      await picket?.close()
      await strew?.close()
      pastiche?.close()
      await flock.close()
      logs?.close()
      whitelistWrites.close()
      clock.cancelAll()
      recorder?.close()
      await metricsServer?.close()
      lock.release()
      log.info('fulcrum stopped', { checkpoint: checkpointed })
    },
  }
}
