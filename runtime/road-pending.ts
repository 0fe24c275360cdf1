/**
 * The pending inbound calls of a road: each call an actor is working on has a number n, the actor
 * sees `from: 'reply:<n>'` and answers with sends to that address. The table is bounded (past it a
 * call is refused with RESOURCE_EXHAUSTED, never queued without limit), each call has a deadline
 * (DEADLINE_EXCEEDED when no terminal answer came), a cancelled or expired stream tells its actor
 * `call.cancelled` (so a watcher is removed), and an answer to a call that has ended is counted late.
 */
import type { HostEvent } from '../machines/effects.js'
import { replyAddress } from './address.js'
import type { Clock, TimerHandle } from './clock.js'
import type { PutResult } from './mailbox.js'
import { isCallCode, ROAD_DEFAULTS, type CallCode, type InboundRoute } from './road-routes.js'

/** How a carrier answers one inbound call. `answer` with `last` ends it OK; `fail` ends it with a status. */
export interface AnswerSink {
  readonly streaming: boolean
  answer(response: unknown, last: boolean): void
  fail(code: CallCode, message: string): void
}

/** What the table reports to its road. */
export interface PendingHooks {
  refuse(code: CallCode): void
  deliver(actor: string, event: HostEvent): PutResult | 'unknown' | 'failed'
  cancelled(): void
  late(): void
  drop(reason: string): void
}

interface Call {
  route: InboundRoute
  actor: string
  sink: AnswerSink
  timer: TimerHandle | undefined
  id: unknown
}

/** The table of pending inbound calls. */
export class RoadPending {
  private next = 1
  private readonly calls = new Map<number, Call>()

  constructor(
    private readonly clock: Clock,
    private readonly max: number,
    private readonly hooks: PendingHooks,
  ) {}

  /** Calls waiting for their terminal answer. */
  get size(): number {
    return this.calls.size
  }

  /** Ends a call that never became pending with a status; returns undefined for the caller's convenience. */
  refuse(sink: AnswerSink, code: CallCode, message: string): undefined {
    this.hooks.refuse(code)
    this.safe(() => sink.fail(code, message))
    return undefined
  }

  /** Hands `event` to `actor` as call n (`from: reply:<n>`); undefined when the call was refused instead. */
  open(route: InboundRoute, actor: string, event: HostEvent, sink: AnswerSink, deadlineMs: number | undefined): number | undefined {
    if (this.calls.size >= this.max) return this.refuse(sink, 'RESOURCE_EXHAUSTED', 'too many calls in progress')
    const n = this.next++
    const call: Call = { route, actor, sink, timer: undefined, id: event.id }
    // Registered before the delivery, so an answer can never find the call missing.
    this.calls.set(n, call)
    const r = this.hooks.deliver(actor, { ...event, from: replyAddress(n) })
    if (r === 'unknown' || r === 'failed' || r === 'rejected' || r === 'dropped') {
      this.calls.delete(n)
      return r === 'rejected' ? this.refuse(sink, 'RESOURCE_EXHAUSTED', 'busy') : this.refuse(sink, 'UNAVAILABLE', `${route.method.path} has no running actor`)
    }
    const own = route.deadlineMs ?? (sink.streaming ? undefined : ROAD_DEFAULTS.unaryDeadlineMs)
    const ms = own === undefined ? deadlineMs : deadlineMs === undefined ? own : Math.min(own, deadlineMs)
    if (ms !== undefined) call.timer = this.clock.schedule(ms, () => this.expire(n))
    return n
  }

  /** An answer the actor sent to `reply:<n>`. */
  reply(n: number, event: HostEvent): void {
    const c = this.calls.get(n)
    if (c === undefined) return this.hooks.late()
    if (event.type === 'call.refused') {
      this.finish(n, c)
      const code = isCallCode(event.code) ? event.code : 'UNKNOWN'
      this.refuse(c.sink, code, typeof event.message === 'string' ? event.message : '')
      return
    }
    let last = !c.sink.streaming
    let response: unknown
    try {
      last ||= c.route.terminal?.(event) === true
      response = c.route.response(event)
    } catch {
      this.finish(n, c)
      this.hooks.drop('unanswerable')
      this.refuse(c.sink, 'INTERNAL', 'internal error')
      return
    }
    if (last) this.finish(n, c)
    let settled: Promise<void> | undefined
    try {
      settled = c.route.settle?.(event)
    } catch {
      settled = Promise.reject(new Error('settle failed'))
    }
    if (settled === undefined) return this.safe(() => c.sink.answer(response, last))
    settled.then(
      () => this.safe(() => c.sink.answer(response, last)),
      () => this.safe(() => c.sink.fail('UNAVAILABLE', 'could not be made durable')),
    )
  }

  /** The client went away: the call ends, and a stream's actor hears `call.cancelled`. */
  cancel(n: number): void {
    const c = this.calls.get(n)
    if (c === undefined) return
    this.finish(n, c)
    this.hooks.cancelled()
    this.tellCancelled(n, c)
  }

  private expire(n: number): void {
    const c = this.calls.get(n)
    if (c === undefined) return
    c.timer = undefined
    this.finish(n, c)
    this.refuse(c.sink, 'DEADLINE_EXCEEDED', 'no answer in time')
    this.tellCancelled(n, c)
  }

  private tellCancelled(n: number, c: Call): void {
    if (!c.sink.streaming) return
    const ev: HostEvent = { type: 'call.cancelled', from: replyAddress(n), ...(typeof c.id === 'number' ? { id: c.id } : {}) }
    const r = this.hooks.deliver(c.actor, ev)
    if (r === 'unknown' || r === 'failed' || r === 'rejected') this.hooks.drop('undeliverable')
  }

  private finish(n: number, c: Call): void {
    this.calls.delete(n)
    if (c.timer !== undefined) this.clock.cancel(c.timer)
  }

  /** A carrier that fails to write (the client is already gone) must not break the actor's step. */
  private safe(fn: () => void): void {
    try {
      fn()
    } catch {
      this.hooks.drop('carrier')
    }
  }
}
