/**
 * An actor's mailbox: bounded, with a policy per message class.
 * - `control` (timers, admin, replies): never dropped. Past its bound a put is *rejected* — the caller
 *   learns at once — rather than an old control message silently vanishing.
 * - `heartbeat`: one slot per key (the sender). A newer heartbeat supersedes the pending one, so a
 *   leader with 10 000 members holds at most 10 000 heartbeats however slow it is. At its turn the
 *   actor receives all of them as one `heartbeat.batch` event.
 * - `data`: bounded FIFO; when full the oldest is dropped to make room.
 * Every drop is counted by class.
 *
 * Order of a turn: control first (FIFO), then the heartbeat batch, then data (FIFO).
 */
import type { HeartbeatBatchEvent, HostEvent, MessageClass } from '../machines/effects.js'
import { Queue } from './queue.js'

export interface MailboxLimits {
  /** Pending control messages before puts are rejected. */
  control: number
  /** Distinct heartbeat keys pending before new keys are dropped. */
  heartbeat: number
  /** Pending data messages before the oldest is dropped. */
  data: number
}

export const DEFAULT_MAILBOX_LIMITS: Readonly<MailboxLimits> = Object.freeze({
  control: 10_000,
  heartbeat: 65_536,
  data: 1_024,
})

/** What happened to a put. */
export type PutResult = 'accepted' | 'superseded' | 'dropped-oldest' | 'dropped' | 'rejected'

/** Counters; `dropped*` are messages that will never be delivered. */
export interface MailboxCounters {
  accepted: number
  /** Heartbeats replaced by a newer one from the same key. */
  heartbeatSuperseded: number
  /** Heartbeats refused because `limits.heartbeat` distinct keys were already pending. */
  heartbeatDropped: number
  /** Data messages evicted (oldest first) by newer ones. */
  dataDropped: number
  /** Control messages refused because the control queue was full (never silently dropped). */
  controlRejected: number
}

export class Mailbox {
  readonly limits: MailboxLimits
  readonly counters: MailboxCounters = {
    accepted: 0,
    heartbeatSuperseded: 0,
    heartbeatDropped: 0,
    dataDropped: 0,
    controlRejected: 0,
  }
  private readonly control = new Queue<HostEvent>()
  private heartbeats = new Map<string, HostEvent>()
  private readonly data = new Queue<HostEvent>()

  constructor(limits: Partial<MailboxLimits> = {}) {
    this.limits = { ...DEFAULT_MAILBOX_LIMITS, ...limits }
  }

  /** Messages pending (a heartbeat batch counts each beat). */
  get size(): number {
    return this.control.length + this.heartbeats.size + this.data.length
  }

  put(cls: MessageClass, event: HostEvent, key = ''): PutResult {
    switch (cls) {
      case 'control':
        if (this.control.length >= this.limits.control) {
          this.counters.controlRejected++
          return 'rejected'
        }
        this.control.push(event)
        this.counters.accepted++
        return 'accepted'
      case 'heartbeat':
        if (this.heartbeats.has(key)) {
          // Map.set keeps the key's first-arrival position, so batch order stays deterministic.
          this.heartbeats.set(key, event)
          this.counters.heartbeatSuperseded++
          return 'superseded'
        }
        if (this.heartbeats.size >= this.limits.heartbeat) {
          this.counters.heartbeatDropped++
          return 'dropped'
        }
        this.heartbeats.set(key, event)
        this.counters.accepted++
        return 'accepted'
      case 'data': {
        let result: PutResult = 'accepted'
        if (this.data.length >= this.limits.data) {
          this.data.shift()
          this.counters.dataDropped++
          result = 'dropped-oldest'
        }
        this.data.push(event)
        this.counters.accepted++
        return result
      }
    }
  }

  /**
   * The next event to deliver: a control message, else every pending heartbeat as one batch (in
   * first-arrival order of their keys), else a data message. Undefined when empty.
   */
  take(): HostEvent | undefined {
    if (this.control.length > 0) return this.control.shift()
    if (this.heartbeats.size > 0) {
      const beats = [...this.heartbeats.values()]
      this.heartbeats = new Map()
      const batch: HeartbeatBatchEvent = { type: 'heartbeat.batch', beats }
      return batch
    }
    return this.data.shift()
  }

  /** Discards everything pending (used when an actor is stopped). Returns how many were discarded. */
  clear(): number {
    const n = this.size
    this.control.clear()
    this.heartbeats = new Map()
    this.data.clear()
    return n
  }
}
