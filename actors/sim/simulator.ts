/**
 * The deterministic flock simulator behind `crux sim`: N flock actors on one SimNetwork and one
 * virtual clock, a schedule of faults, and an observer that judges agreement at every heartbeat.
 * Everything random (the network's fate, the nodes' seeds, who reboots or crashes, seed addresses)
 * derives from one seed, so a run is a pure function of its options.
 */
import { createHash } from 'node:crypto'
import { DEFAULT_FLOCK_CONFIG } from '../../machines/flock/constants.js'
import type { FlockConfig, ProbeSpec } from '../../machines/flock/types.js'
import { flockMachine } from '../../machines/flock.machine.js'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { Rng } from '../../runtime/rng.js'
import { FileSink, Recorder, type JournalSink } from '../../runtime/recorder.js'
import { SimNetwork, type Delay } from '../../runtime/sim-network.js'
import type { OutboundRouter, StepInfo } from '../../runtime/host.js'
import { createFlockActor, type FlockActor } from '../flock/flock.actor.js'
import { FlockChecker, type CheckBounds, type ViolationKind } from './check.js'
import { observe, type Observation } from '../flock/observe.js'
import type { StrewBounds, StrewSummary } from './strew-check.js'
import type { SimStrew, SimStrewOptions } from './strew-sim.js'
import type { PasticheBounds, PasticheSummary } from './pastiche-check.js'
import type { SimPastiche } from './pastiche-sim.js'
import type { PicketBounds, PicketSummary } from './picket-check.js'
import type { SimPicket, SimPicketOptions } from './picket-sim.js'
import type { PlacementBounds, PlacementSummary } from './placement-check.js'
import type { PlacementPlan } from './placement-plan.js'
import type { SimPlacement } from './placement-sim.js'

export interface SimOptions {
  nodes: number
  seed: number
  hbMs?: number
  /** Stop at this heartbeat (default: 60 HB after the last fault, at most 400). */
  untilHb?: number
  /** Random-range probing: the chance a probe slot hits a random node (default 0.1 when not seeded). */
  probeDensity?: number
  /** K seed addresses per node (each a random earlier node) instead of random probing. */
  seeded?: number
  loss?: number
  dup?: number
  reorder?: number
  delay?: Delay
  partition?: { atHb: number; groups: number; healHb: number }
  reboot?: { atHb: number; fraction: number }
  crash?: { atHb: number; fraction: number }
  /** Drop every packet between nodes `a` and `b` (indices) from `atHb`, both ways, until `healHb` if given. */
  dropLink?: { atHb: number; a: number; b: number; healHb?: number }
  /** Crash whichever node leads at this heartbeat (the leader-failure case). */
  crashLeaderAtHb?: number
  /** Crash one member at this heartbeat: the first live node by index that does not lead. */
  crashMemberAtHb?: number
  /** Per-node clock skew drawn uniformly in ±skewMs. */
  skewMs?: number
  trace?: string
  config?: Partial<FlockConfig>
  /** Bounds of the history checker. */
  check?: Partial<CheckBounds>
  /**
   * K services per node: every node also runs the strew machines on a simulated gRPC road, and its K
   * services register with a TTL and heartbeat (actors/sim/strew-sim.ts). 0 or absent: the flock only.
   */
  services?: number
  /** The services' TTL, heartbeats (default 3). */
  serviceTtlHb?: number
  /** Bounds of the strew checker. */
  strewCheck?: Partial<StrewBounds>
  /**
   * B blobs: every node also runs the pastiche machine, the blobs start on a few nodes and are wanted
   * on a few others, fetched over the simulated network (actors/sim/pastiche-sim.ts). 0 or absent: none.
   */
  blobs?: number
  /** Nodes that corrupt every range they serve (with `blobs`). */
  corruptPeers?: number
  /** Bounds of the pastiche checker. */
  pasticheCheck?: Partial<PasticheBounds>
  /**
   * R services per node run by picket (needs `services`: they register with the node's reeve and beat
   * through its heartbeater): every node runs the picket machine with a simulated run edge, some
   * services crash, hang or fail their bundle (actors/sim/picket-sim.ts). 0 or absent: none.
   */
  run?: number
  /** Bounds of the picket checker. */
  picketCheck?: Partial<PicketBounds>
  /**
   * P services placed by a khan program (needs `run`): every node runs its dean and proctor, and the
   * program is handed to the leading proctor at a drawn early heartbeat (actors/sim/placement-sim.ts).
   * 0 or absent: none.
   */
  place?: number
  /** Bounds of the placement checker. */
  placementCheck?: Partial<PlacementBounds>
  /** Called for every machine step of every node (coverage, tests); slows the run. */
  onStep?: (node: string, step: StepInfo) => void
  /** Called after every heartbeat's observation (progress, tests). */
  onHb?: (hb: number, obs: Observation, nodes: readonly FlockActor[]) => void
}

export interface SimSummary {
  nodes: number
  seed: number
  agreed: boolean
  agreed_hb: number | null
  /** Heartbeats from the last fault to agreement (null without faults or agreement). */
  settle_hb: number | null
  flocks: number
  leaders: number
  packets: number
  bytes: number
  sim_s: number
  wall_s: number
  /** CPU time this process spent on the run (user + system, s): the wall time less what other processes took. */
  cpu_s: number
  violations: string[]
  /** The violations counted by kind (actors/sim/check.ts VIOLATION_KINDS); absent kinds were not found. */
  violation_kinds: Partial<Record<ViolationKind, number>>
  trace_sha256: string | null
  /** Peak resident set of this process so far (MiB). */
  peak_rss_mb: number
  /** With `services`: the strew checker's verdict. */
  strew?: StrewSummary
  /** With `blobs`: the pastiche checker's verdict. */
  pastiche?: PasticheSummary
  /** With `run`: the picket checker's verdict. */
  picket?: PicketSummary
  /** With `place`: the placement checker's verdict. */
  placement?: PlacementSummary
}

/** A journal sink that also hashes every line, for `trace_sha256`. */
class HashingSink implements JournalSink {
  readonly hash = createHash('sha256')
  constructor(private readonly inner: JournalSink) {}
  write(line: string): void {
    this.hash.update(line + '\n')
    this.inner.write(line)
  }
  flush(): void {
    this.inner.flush()
  }
  close(): void {
    this.inner.close()
  }
}

export async function runSim(o: SimOptions): Promise<SimSummary> {
  const started = performance.now()
  const cpu0 = process.cpuUsage()
  const hbMs = o.hbMs ?? DEFAULT_FLOCK_CONFIG.hbMs
  const rng = new Rng(`sim:${o.seed}`)
  const net = new SimNetwork({ seed: o.seed, faults: { loss: o.loss ?? 0, duplicate: o.dup ?? 0, reorder: o.reorder ?? 0, delay: o.delay ?? [1, 5] } })
  const addrs = Array.from({ length: o.nodes }, (_, i) => `n${i}`)
  const sink = o.trace === undefined ? null : new HashingSink(new FileSink(o.trace))
  const config = { ...o.config, hbMs }
  if ((o.place ?? 0) > 0 && !((o.run ?? 0) > 0 && (o.services ?? 0) > 0)) throw new InvalidArgumentError('place needs run and services: the dean drives picket, the proctor reads the musters in the catalog')
  const placed = (o.place ?? 0) > 0 ? (await import('./placement-plan.js')).planPlacement(o.seed, o.nodes, o.place!, hbMs) : null
  const strew = (o.services ?? 0) > 0 ? await startStrew(net, o, hbMs, placed === null ? undefined : (await import('../placement/routes.js')).createPlacementRoutes) : null
  const placement = placed === null || strew === null ? null : await startPlacementLayer(net, o, hbMs, placed, strew)
  const pastiche = (o.blobs ?? 0) > 0 ? await startPastiche(net, o, hbMs, addrs) : null
  if ((o.run ?? 0) > 0 && strew === null) throw new InvalidArgumentError('run needs services: picket registers with the reeve and beats through the heartbeater')
  const picket = (o.run ?? 0) > 0 && strew !== null ? await startPicket(net, o, hbMs, addrs, strew, placed?.shared ?? []) : null
  const extra = [...(strew?.machines ?? []), ...(pastiche?.machines ?? []), ...(picket?.machines ?? []), ...(placement?.machines ?? [])]
  const machines = [flockMachine, ...extra]
  const recorder =
    sink === null ? undefined : new Recorder(sink, { node: null, seed: o.seed, config: { ...o, onHb: undefined, onStep: undefined, trace: undefined, config }, machines: Object.fromEntries(machines.map((m) => [m.name, m.version])) })
  const nodes: FlockActor[] = addrs.map((addr, i) => {
    if (o.skewMs) net.setSkew(addr, Math.round((rng.float() * 2 - 1) * o.skewMs))
    const probe: ProbeSpec =
      o.seeded !== undefined
        ? { seeds: pickSeeds(rng, i, o.seeded).map((k) => addrs[k]!), ranges: [], density: 1 }
        : { seeds: [], ranges: [{ kind: 'names', prefix: 'n', from: 0, to: o.nodes - 1 }], density: o.probeDensity ?? 0.1 }
    const clock = net.clockFor(addr)
    const strewOut = strew?.outbound(addr)
    const blobsOut = pastiche === null ? strewOut : (udp: OutboundRouter) => pastiche.outbound(addr, strewOut?.(udp) ?? udp)
    const picketOut = picket === null ? blobsOut : (udp: OutboundRouter) => picket.outbound(addr, blobsOut?.(udp) ?? udp)
    const outbound = placement === null ? picketOut : (udp: OutboundRouter) => placement.outbound(addr, picketOut?.(udp) ?? udp)
    const actor = createFlockActor(
      { transport: net.endpoint(addr), clock, recorder, machines: extra.length === 0 ? undefined : extra, outbound },
      { node: addr, input: { self: { addr }, config, probe, seed: `${o.seed}:${addr}`, ...(strew === null ? {} : { steward: strew.grpcAddress(addr) }) } },
    )
    strew?.attach(addr, actor, clock)
    pastiche?.attach(addr, actor, clock)
    picket?.attach(addr, actor, clock)
    placement?.attach(addr, actor, clock)
    if (o.onStep !== undefined) {
      const f = o.onStep
      actor.host.onStep((step) => f(addr, step))
    }
    return actor
  })

  const crashed = new Set<number>()
  const lastFault = Math.max(o.partition?.healHb ?? 0, o.reboot?.atHb ?? 0, o.crash?.atHb ?? 0, o.crashLeaderAtHb ?? 0, o.crashMemberAtHb ?? 0, o.dropLink?.healHb ?? o.dropLink?.atHb ?? 0)
  if (o.dropLink !== undefined && (o.dropLink.a === o.dropLink.b || Math.max(o.dropLink.a, o.dropLink.b) >= o.nodes)) throw new InvalidArgumentError(`dropLink needs two different nodes below ${o.nodes}`)
  // Only a run told where to end has a steady state to judge; the others stop soon after agreement.
  const checker = new FlockChecker(o.check, { steady: o.untilHb !== undefined })
  const fault = (hb: number, f: { kind: string; groups?: string[][]; nodes?: string[] }): void => {
    checker.fault(hb, f)
    strew?.fault(net.clock.now(), f)
    pastiche?.fault(hb, f)
    picket?.fault(net.clock.now(), f)
    placement?.fault(net.clock.now(), f)
    recorder?.note(net.clock.now(), 'fault', { hb, ...f })
  }
  const kill = (hb: number, victims: number[]): void => {
    for (const i of victims) {
      crashed.add(i)
      net.crash(addrs[i]!)
      nodes[i]!.host.close()
    }
    fault(hb, { kind: 'crash', nodes: victims.map((i) => addrs[i]!) })
  }
  const untilHb = o.untilHb ?? Math.min(400, lastFault + 60)
  // agreed_hb: the first heartbeat after the last fault at which the flock agreed. Under steady loss
  // a member can still be pruned and re-added later (a flap); `agreed` says how the run ended.
  let agreedHb: number | null = null
  let agreedRun = 0
  let last: Observation | null = null
  let strewRun = 0
  let pasticheRun = 0
  let picketRun = 0
  for (let hb = 1; hb <= untilHb; hb++) {
    if (o.partition?.atHb === hb) {
      const groups = groupsOf(addrs, o.partition.groups)
      net.partition(groups)
      fault(hb, { kind: 'partition', groups })
    }
    if (o.partition?.healHb === hb) {
      net.heal()
      fault(hb, { kind: 'heal' })
    }
    if (o.dropLink !== undefined && (o.dropLink.atHb === hb || o.dropLink.healHb === hb)) {
      const link = [addrs[o.dropLink.a]!, addrs[o.dropLink.b]!]
      if (o.dropLink.atHb === hb) net.setLink(link[0]!, link[1]!, { loss: 1 })
      else net.clearLink(link[0]!, link[1]!)
      fault(hb, { kind: o.dropLink.atHb === hb ? 'drop-link' : 'restore-link', nodes: link })
    }
    if (o.reboot?.atHb === hb) {
      const victims = choose(rng, o.nodes, o.reboot.fraction)
      for (const i of victims) nodes[i]!.host.send(nodes[i]!.id, { type: 'admin.reboot' }, 'control')
      fault(hb, { kind: 'reboot', nodes: victims.map((i) => addrs[i]!) })
    }
    if (o.crash?.atHb === hb) kill(hb, choose(rng, o.nodes, o.crash.fraction))
    if (o.crashLeaderAtHb === hb) {
      const i = nodes.findIndex((n, k) => !crashed.has(k) && n.context().leader.id === n.context().me.id)
      if (i >= 0) kill(hb, [i])
    }
    if (o.crashMemberAtHb === hb) {
      const i = nodes.findIndex((n, k) => !crashed.has(k) && n.context().leader.id !== n.context().me.id)
      if (i >= 0) kill(hb, [i])
    }
    net.clock.runUntil(hb * hbMs)
    recorder?.note(net.clock.now(), 'mark', { hb })
    last = observe(nodes, crashed)
    checker.observe(
      hb,
      nodes.flatMap((n, i) => (crashed.has(i) ? [] : [{ node: addrs[i]!, ctx: n.context() }])),
      last.agreed,
    )
    if (last.agreed && hb > lastFault) agreedHb ??= hb
    agreedRun = last.agreed ? agreedRun + 1 : 0
    strew?.observe(net.clock.now(), last.agreed)
    strewRun = strew?.checker.complete === true ? strewRun + 1 : 0
    pastiche?.observe(hb)
    pasticheRun = pastiche?.checker.complete === true ? pasticheRun + 1 : 0
    picket?.observe(net.clock.now(), last.agreed)
    picketRun = picket?.complete === true ? picketRun + 1 : 0
    placement?.observe(net.clock.now(), hb, last.agreed)
    o.onHb?.(hb, last, nodes)
    // Stop early once agreement (and, with services, every catalog complete) has held for a few
    // heartbeats, unless told to run to a fixed end.
    if (o.untilHb === undefined && agreedHb !== null && agreedRun >= 3 && (strew === null || strewRun >= 3) && (pastiche === null || pasticheRun >= 3) && (picket === null || picketRun >= 3)) break
  }
  const lastHb = Math.round(net.clock.now() / hbMs)
  checker.finish(lastHb)
  pastiche?.finish(lastHb)
  recorder?.flush()
  sink?.close()
  const stats = net.stats()
  for (const n of nodes) n.host.close()
  return {
    nodes: o.nodes,
    seed: o.seed,
    agreed: last?.agreed ?? false,
    agreed_hb: agreedHb,
    settle_hb: agreedHb !== null && lastFault > 0 ? agreedHb - lastFault : null,
    flocks: last?.flocks ?? 0,
    leaders: last?.leaders ?? 0,
    packets: stats.sent,
    bytes: stats.bytesSent,
    sim_s: net.clock.now() / 1000,
    wall_s: +((performance.now() - started) / 1000).toFixed(3),
    cpu_s: cpuSeconds(process.cpuUsage(cpu0)),
    violations: [...checker.violations, ...(strew?.checker.found.map((v) => v.message) ?? []), ...(pastiche?.checker.found.map((v) => v.message) ?? []), ...(picket?.checker.found.map((v) => v.message) ?? []), ...(placement?.checker.found.map((v) => v.message) ?? [])],
    violation_kinds: { ...checker.kinds(), ...strew?.checker.kinds(), ...pastiche?.checker.kinds(), ...picket?.checker.kinds(), ...placement?.checker.kinds() },
    trace_sha256: sink === null ? null : sink.hash.digest('hex'),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(strew === null ? {} : { strew: strew.summary() }),
    ...(pastiche === null ? {} : { pastiche: pastiche.summary() }),
    ...(picket === null ? {} : { picket: picket.summary() }),
    ...(placement === null ? {} : { placement: placement.summary() }),
  }
}

/** The pastiche layer of a run with blobs (loaded only then). */
async function startPastiche(net: SimNetwork, o: SimOptions, hbMs: number, addrs: string[]): Promise<SimPastiche> {
  const { SimPastiche } = await import('./pastiche-sim.js')
  // Holdings spread like strew's registrations: over the first half of a fixed-length run, 10 HB otherwise.
  const spreadHb = o.untilHb === undefined ? 10 : Math.max(1, Math.floor(o.untilHb / 2))
  return new SimPastiche(net, { seed: o.seed, hbMs, addrs, blobs: o.blobs!, spreadHb, corruptPeers: o.corruptPeers, bounds: o.pasticheCheck })
}

/** The picket layer of a run with services to run (loaded only then); its services start over the first half of a fixed-length run, 10 HB otherwise. */
async function startPicket(net: SimNetwork, o: SimOptions, hbMs: number, addrs: string[], strew: SimStrew, shared: SimPicketShared): Promise<SimPicket> {
  const { SimPicket } = await import('./picket-sim.js')
  const spreadHb = o.untilHb === undefined ? 10 : Math.max(1, Math.floor(o.untilHb / 2))
  return new SimPicket({ seed: o.seed, hbMs, addrs, run: o.run!, spreadHb, now: () => net.clock.now(), identity: (node) => strew.identity(node), grpcAddress: (addr) => strew.grpcAddress(addr), shared, bounds: o.picketCheck })
}

type SimPicketShared = NonNullable<SimPicketOptions['shared']>

/** The placement layer of a run that places services (loaded only then). */
async function startPlacementLayer(net: SimNetwork, o: SimOptions, hbMs: number, plan: PlacementPlan, strew: SimStrew): Promise<SimPlacement> {
  const { SimPlacement } = await import('./placement-sim.js')
  // The node's reeve key: the picket takes the dean's requests from it, as a fulcrum's does.
  return new SimPlacement({ seed: o.seed, hbMs, plan, now: () => net.clock.now(), keyId: (node) => strew.identity(node).reeveKeyId, bounds: o.placementCheck })
}

/** The strew layer of a run with services (loaded only then: it brings the gRPC route table); `routes`: other subsystems' on its road. */
async function startStrew(net: SimNetwork, o: SimOptions, hbMs: number, routes?: SimStrewOptions['routes']): Promise<SimStrew> {
  const { SimStrew } = await import('./strew-sim.js')
  // Registrations spread over the first half of a fixed-length run (10 HB otherwise), so most of them
  // happen with a steward in place and their visibility is measured from the registration itself.
  const spreadHb = o.untilHb === undefined ? 10 : Math.max(1, Math.floor(o.untilHb / 2))
  return new SimStrew(net, { seed: o.seed, hbMs, services: o.services!, ttlHb: o.serviceTtlHb, spreadHb, bounds: o.strewCheck, routes })
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return +((u.user + u.system) / 1e6).toFixed(3)
}

/** K distinct earlier nodes (node 0 has none): the seed graph is a random tree, hence connected. */
function pickSeeds(rng: Rng, i: number, k: number): number[] {
  const out = new Set<number>()
  for (let tries = 0; out.size < Math.min(k, i) && tries < 10 * k; tries++) out.add(rng.int(i))
  return [...out]
}

function choose(rng: Rng, n: number, fraction: number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) if (rng.float() < fraction) out.push(i)
  return out
}

function groupsOf(addrs: string[], groups: number): string[][] {
  const out: string[][] = Array.from({ length: groups }, () => [])
  addrs.forEach((a, i) => out[i % groups]!.push(a))
  return out
}
