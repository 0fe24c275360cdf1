/**
 * The actor host: the one thing between pure machines and the world. It keeps actors in a Map under
 * explicit, stable ids (never XState-generated ids, never `spawnChild` — quadratic in v5 at thousands),
 * gives each a {@link Mailbox}, takes turns among actors with mail, stamps `now` on every delivery,
 * records it, steps the machine, and executes the effects the step emitted: sends, timers, emits, logs,
 * persists. Timer firings come back through the mailbox as `timer.fired` inputs, so the journal alone
 * reproduces a run. Failed actors are restarted by a {@link Supervisor} on the same clock.
 *
 * Scheduling: when an idle host gets mail it schedules one drain at `clock.schedule(0)`; on the
 * virtual clock that makes the host's work part of the deterministic timer order.
 */
import type { Effect, HostEvent, MessageClass } from '../machines/effects.js'
import type { MachineDefinition } from '../machines/definition.js'
import type { Clock, TimerHandle } from './clock.js'
import { ActorCell } from './actor-cell.js'
import { NotFoundError, InvalidArgumentError } from './errors.js'
import { Mailbox, type MailboxCounters, type MailboxLimits, type PutResult } from './mailbox.js'
import type { Recorder } from './recorder.js'
import { Supervisor, type SupervisorPolicy } from './supervisor.js'
import { Queue } from './queue.js'
import { PersistGuard } from './persist-guard.js'

/** The logging surface the host needs (walrus satisfies it). */
export interface HostLogger {
  child(component: string, bindings?: Record<string, unknown>): HostLogger
  log(level: 'trace' | 'debug' | 'info' | 'warn' | 'error', tag: string | undefined, fields: Record<string, unknown> | undefined, msg: string): void
}

/** Where `persist` effects go. */
export interface PersistPort {
  put(actor: string, key: string, value: unknown): void
}

/** Called for a `send` whose target is not a local actor (e.g. a network address). */
export type OutboundRouter = (to: string, event: HostEvent, from: string, cls: MessageClass, key: string | undefined) => void

export interface HostComponents {
  clock: Clock
  machines: Iterable<MachineDefinition>
  recorder?: Recorder
  logger?: HostLogger
  store?: PersistPort
  outbound?: OutboundRouter
}

export interface HostInit {
  /** Node name; written on journal lines when the recorder is shared by many nodes (header node null). */
  node?: string
  mailbox?: Partial<MailboxLimits>
  /** Deliveries per actor turn before the next actor gets its turn (fairness). Default 64. */
  turnBudget?: number
  /** Deliveries per drain before yielding to the clock (keeps a real event loop responsive). Default 10 000. */
  drainBudget?: number
  supervisor?: Partial<SupervisorPolicy>
}

export interface SpawnOptions {
  /** Supervise (restart on failure) — default true. */
  supervise?: boolean | Partial<SupervisorPolicy>
  mailbox?: Partial<MailboxLimits>
}

export type ActorStatus = 'running' | 'restarting' | 'failed'

/** What an observer sees of each step (the visualiser, tests). */
export interface StepInfo {
  actor: string
  seq: number
  event: HostEvent
  state: unknown
  out: Effect[]
  error?: string
}

interface Slot {
  id: string
  def: MachineDefinition
  input: unknown
  cell: ActorCell
  mailbox: Mailbox
  status: ActorStatus
  ready: boolean
  timers: Map<string, TimerHandle>
  supervisor: Supervisor | null
  logger: HostLogger | undefined
}

/** Counters of the host as a whole (per-class mailbox counters live on each mailbox). */
export interface HostCounters {
  deliveries: number
  undeliverable: number
  failures: number
  restarts: number
  gaveUp: number
  timersFired: number
}

export class ActorHost {
  readonly node: string | undefined
  readonly counters: HostCounters = { deliveries: 0, undeliverable: 0, failures: 0, restarts: 0, gaveUp: 0, timersFired: 0 }
  private readonly clock: Clock
  private readonly machines = new Map<string, MachineDefinition>()
  private readonly recorder: Recorder | undefined
  private readonly logger: HostLogger | undefined
  /** The store behind a guard: a refused write is reported and retried, never thrown out of a step. */
  private readonly store: PersistGuard | undefined
  private readonly outbound: OutboundRouter | undefined
  private readonly actors = new Map<string, Slot>()
  private readonly readyQueue = new Queue<Slot>()
  private readonly turnBudget: number
  private readonly drainBudget: number
  private readonly init: HostInit
  private drainScheduled = false
  private draining = false
  private closed = false
  private readonly emitListeners: Array<(actor: string, record: { type: string; [k: string]: unknown }) => void> = []
  private readonly stepListeners: Array<(info: StepInfo) => void> = []
  /** Mailbox counters of actors already stopped, so totals never go down. */
  private readonly retired: MailboxCounters = { accepted: 0, heartbeatSuperseded: 0, heartbeatDropped: 0, dataDropped: 0, controlRejected: 0 }
  /** Node name written on journal lines (only when the journal holds many nodes). */
  private readonly lineNode: string | undefined

  constructor(components: HostComponents, init: HostInit = {}) {
    this.clock = components.clock
    for (const m of components.machines) this.machines.set(m.name, m)
    this.recorder = components.recorder
    this.logger = components.logger?.child('crux:host')
    const log = this.logger
    this.store =
      components.store === undefined
        ? undefined
        : new PersistGuard(components.store, components.clock, {
            failed: (actor, key, err, retryInMs) =>
              log?.log('error', undefined, { actor, key, error: (err as NodeJS.ErrnoException).code ?? String(err), retryInMs }, 'persist failed; will retry'),
            recovered: (actor, key) => log?.log('info', undefined, { actor, key }, 'persist recovered'),
          })
    this.outbound = components.outbound
    this.node = init.node
    this.init = init
    this.turnBudget = init.turnBudget ?? 64
    this.drainBudget = init.drainBudget ?? 10_000
    this.lineNode = this.recorder !== undefined && this.recorder.header.node === null ? init.node : undefined
  }

  /** Creates actor `id` running machine `machine` (a registered name) with `input`. */
  spawn(id: string, machine: string, input?: unknown, options: SpawnOptions = {}): void {
    if (this.closed) throw new InvalidArgumentError(`host is closed; cannot spawn ${id}`)
    if (this.actors.has(id)) throw new InvalidArgumentError(`actor ${JSON.stringify(id)} already exists`)
    const def = this.machines.get(machine)
    if (def === undefined) throw new NotFoundError(`no machine named ${JSON.stringify(machine)} is registered`)
    if (this.recorder !== undefined && !this.recorder.knows(def.name, def.version)) {
      throw new InvalidArgumentError(`machine ${def.name}@${def.version} is not declared in the journal header`)
    }
    const sup = options.supervise ?? true
    const slot: Slot = {
      id,
      def,
      input,
      cell: undefined as unknown as ActorCell,
      mailbox: new Mailbox({ ...this.init.mailbox, ...options.mailbox }),
      status: 'running',
      ready: false,
      timers: new Map(),
      supervisor: sup === false ? null : new Supervisor(sup === true ? this.init.supervisor : { ...this.init.supervisor, ...sup }),
      logger: this.logger?.child(`crux:${def.name}`, { actor: id }),
    }
    this.actors.set(id, slot)
    const seq = this.recorder?.spawn(this.clock.now(), id, def.name, input, this.lineNode) ?? 0
    this.start(slot, seq)
  }

  /**
   * Puts `event` in actor `to`'s mailbox (from outside: a transport, a test, the CLI). Returns the
   * mailbox's verdict, 'unknown' when there is no such actor, or 'failed' when its supervisor gave up.
   */
  send(to: string, event: HostEvent, cls: MessageClass = 'data', key?: string): PutResult | 'unknown' | 'failed' {
    const slot = this.actors.get(to)
    if (slot === undefined || this.closed) return 'unknown'
    if (slot.status === 'failed') return 'failed'
    return this.enqueue(slot, event, cls, key ?? '')
  }

  /** Stops an actor: cancels its timers and discards its mail. */
  stop(id: string): void {
    const slot = this.actors.get(id)
    if (slot === undefined) return
    this.recorder?.stop(this.clock.now(), id, this.lineNode)
    this.cancelTimers(slot)
    slot.mailbox.clear()
    slot.cell.stop()
    this.actors.delete(id)
    addCounters(this.retired, slot.mailbox.counters)
  }

  /** Mailbox counters summed over every actor this host ever had (O(actors): for scrapes, not hot paths). */
  mailboxTotals(): MailboxCounters & { pending: number } {
    const sum = { ...this.retired, pending: 0 }
    for (const slot of this.actors.values()) {
      addCounters(sum, slot.mailbox.counters)
      sum.pending += slot.mailbox.size
    }
    return sum
  }

  has(id: string): boolean {
    return this.actors.has(id)
  }

  ids(): string[] {
    return [...this.actors.keys()]
  }

  status(id: string): ActorStatus | undefined {
    return this.actors.get(id)?.status
  }

  /** The actor's current state value and context (context is live: do not mutate). */
  state(id: string): { value: unknown; context: unknown; status: ActorStatus } {
    const slot = this.actors.get(id)
    if (slot === undefined) throw new NotFoundError(`no actor ${JSON.stringify(id)}`)
    return { value: slot.cell.value, context: slot.cell.context, status: slot.status }
  }

  mailbox(id: string): Mailbox | undefined {
    return this.actors.get(id)?.mailbox
  }

  /** Listens to `emit` effects of every actor. */
  onEmit(fn: (actor: string, record: { type: string; [k: string]: unknown }) => void): void {
    this.emitListeners.push(fn)
  }

  /** Listens to every step (after its effects were executed). */
  onStep(fn: (info: StepInfo) => void): void {
    this.stepListeners.push(fn)
  }

  /** Delivers everything pending now, synchronously (timers still wait for their clock). */
  runUntilIdle(): number {
    let n = 0
    while (this.readyQueue.length > 0) n += this.drain(Number.POSITIVE_INFINITY)
    return n
  }

  /** Persist writes refused by the store so far, and those still waiting for their retry. */
  persistStatus(): { failures: number; pending: number } {
    return { failures: this.store?.failures ?? 0, pending: this.store?.pending ?? 0 }
  }

  /** Stops every actor, cancels every timer, flushes the journal. */
  close(): void {
    if (this.closed) return
    for (const id of [...this.actors.keys()]) this.stop(id)
    this.closed = true
    this.store?.close()
    this.recorder?.flush()
  }

  // ---- internals ----

  private start(slot: Slot, seq: number): void {
    slot.cell = new ActorCell(slot.id, slot.def, slot.input)
    slot.status = 'running'
    const res = slot.cell.takeStartEffects()
    this.finishStep(slot, seq, { type: 'xstate.init' }, res.out, res.error)
    if (slot.mailbox.size > 0) this.markReady(slot)
  }

  private enqueue(slot: Slot, event: HostEvent, cls: MessageClass, key: string): PutResult {
    const r = slot.mailbox.put(cls, event, key)
    if (r !== 'rejected' && r !== 'dropped' && slot.status === 'running') this.markReady(slot)
    return r
  }

  private markReady(slot: Slot): void {
    if (slot.ready) return
    slot.ready = true
    this.readyQueue.push(slot)
    if (!this.drainScheduled && !this.draining) this.scheduleDrain()
  }

  private scheduleDrain(): void {
    this.drainScheduled = true
    this.clock.schedule(0, () => {
      this.drainScheduled = false
      if (this.closed) return
      this.drain(this.drainBudget)
      if (this.readyQueue.length > 0 && !this.drainScheduled) this.scheduleDrain()
    })
  }

  private drain(budget: number): number {
    this.draining = true
    let delivered = 0
    try {
      while (delivered < budget) {
        const slot = this.readyQueue.shift()
        if (slot === undefined) break
        slot.ready = false
        if (slot.status !== 'running' || !this.actors.has(slot.id)) continue
        let turn = 0
        while (turn < this.turnBudget && slot.status === 'running') {
          const ev = slot.mailbox.take()
          if (ev === undefined) break
          this.deliver(slot, ev)
          turn++
        }
        delivered += turn
        if (slot.mailbox.size > 0 && slot.status === 'running' && this.actors.has(slot.id)) {
          slot.ready = true
          this.readyQueue.push(slot)
        }
      }
    } finally {
      this.draining = false
    }
    this.recorder?.flush()
    return delivered
  }

  private deliver(slot: Slot, ev: HostEvent): void {
    const now = this.clock.now()
    // A fresh object per delivery: the sender may hold (or broadcast) the original, and the machine may keep this one.
    const event: HostEvent = ev.type === 'heartbeat.batch' ? ((ev.now = now), ev) : { ...ev, now }
    const seq = this.recorder?.delivery(now, slot.id, event, this.lineNode) ?? 0
    this.counters.deliveries++
    const res = slot.cell.step(event)
    this.finishStep(slot, seq, event, res.out, res.error)
  }

  private finishStep(slot: Slot, seq: number, event: HostEvent, out: Effect[], error: string | undefined): void {
    this.recorder?.result(seq, slot.cell.value, out, error, this.lineNode)
    if (error === undefined) {
      for (let i = 0; i < out.length; i++) this.execute(slot, out[i]!)
    }
    if (this.stepListeners.length > 0) {
      const info: StepInfo = { actor: slot.id, seq, event, state: slot.cell.value, out, ...(error === undefined ? {} : { error }) }
      for (const fn of this.stepListeners) fn(info)
    }
    if (error !== undefined) this.fail(slot, error)
  }

  private execute(slot: Slot, e: Effect): void {
    switch (e.type) {
      case 'send': {
        const cls = e.cls ?? 'data'
        const target = this.actors.get(e.to)
        if (target !== undefined) this.enqueue(target, e.event, cls, e.key ?? slot.id)
        else if (this.outbound !== undefined) this.outbound(e.to, e.event, slot.id, cls, e.key)
        else this.counters.undeliverable++
        return
      }
      case 'timer.set': {
        const old = slot.timers.get(e.name)
        if (old !== undefined) this.clock.cancel(old)
        const name = e.name
        const handle = this.clock.schedule(e.ms, () => {
          if (slot.timers.get(name) !== handle) return
          slot.timers.delete(name)
          this.counters.timersFired++
          this.enqueue(slot, { type: 'timer.fired', name }, 'control', '')
        })
        slot.timers.set(name, handle)
        return
      }
      case 'timer.cancel': {
        const h = slot.timers.get(e.name)
        if (h !== undefined) {
          this.clock.cancel(h)
          slot.timers.delete(e.name)
        }
        return
      }
      case 'emit':
        for (const fn of this.emitListeners) fn(slot.id, e.record)
        return
      case 'log':
        slot.logger?.log(e.level, e.tag, e.fields, e.msg)
        return
      case 'persist':
        this.store?.put(slot.id, e.key, e.value)
        return
      default:
        // Emitted records of unknown type are recorded (replay compares them) but have no effect.
        return
    }
  }

  private fail(slot: Slot, error: string): void {
    this.counters.failures++
    this.cancelTimers(slot)
    slot.cell.stop()
    slot.logger?.log('error', undefined, { error }, 'actor failed')
    const decision = slot.supervisor?.onFailure(this.clock.now()) ?? { action: 'give-up' as const, restartsInWindow: 0 }
    if (decision.action === 'give-up') {
      slot.status = 'failed'
      this.counters.gaveUp++
      slot.mailbox.clear()
      slot.logger?.log('error', undefined, { restartsInWindow: decision.restartsInWindow }, 'actor gave up: too many restarts')
      return
    }
    slot.status = 'restarting'
    this.clock.schedule(decision.delayMs, () => {
      if (this.actors.get(slot.id) !== slot || this.closed) return
      this.counters.restarts++
      const seq = this.recorder?.restart(this.clock.now(), slot.id, decision.attempt, this.lineNode) ?? 0
      this.start(slot, seq)
    })
  }

  private cancelTimers(slot: Slot): void {
    for (const h of slot.timers.values()) this.clock.cancel(h)
    slot.timers.clear()
  }
}

function addCounters(into: MailboxCounters, c: MailboxCounters): void {
  into.accepted += c.accepted
  into.heartbeatSuperseded += c.heartbeatSuperseded
  into.heartbeatDropped += c.heartbeatDropped
  into.dataDropped += c.dataDropped
  into.controlRejected += c.controlRejected
}

/** Builds a host: `createActorHost({ clock, machines, recorder?, logger?, store?, outbound? }, init)`. */
export function createActorHost(components: HostComponents, init: HostInit = {}): ActorHost {
  return new ActorHost(components, init)
}
