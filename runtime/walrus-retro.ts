/**
 * The retrograde ring buffer (seed 003 §8.5.5): statements suppressed by their level are kept, the
 * last N of them, so that when something goes wrong the lead-up can still be written. One ring per
 * node, shared by the node's logger and all its children and tag loggers.
 */
import type { Logger } from 'pino'

/** A suppressed statement as it was made: who made it, when, at which level. */
export interface RetroEntry {
  /** The pino logger of the walrus that made the statement (carries its component and bindings). */
  logger: Logger
  level: number
  tag: string | undefined
  fields: Record<string, unknown> | undefined
  msg: string
  time: number
}

/**
 * A fixed-capacity ring of {@link RetroEntry}. Slots are allocated once and then overwritten in
 * place, so keeping a statement costs no allocation once the ring has gone round.
 */
export class RetroRing {
  readonly capacity: number
  /** Statements at or above this level flush the ring before they are written. */
  readonly trigger: number
  private readonly slots: RetroEntry[] = []
  /** Index of the oldest entry. */
  private head = 0
  private count = 0
  /** Entries overwritten because the ring was full, since creation. */
  dropped = 0

  constructor(capacity: number, trigger: number) {
    this.capacity = capacity
    this.trigger = trigger
  }

  /** Entries currently held. */
  get size(): number {
    return this.count
  }

  /** Keeps one statement, overwriting the oldest when full. */
  keep(logger: Logger, level: number, tag: string | undefined, fields: Record<string, unknown> | undefined, msg: string, time: number): void {
    let i: number
    if (this.count < this.capacity) {
      i = (this.head + this.count) % this.capacity
      this.count++
    } else {
      i = this.head
      this.head = (this.head + 1) % this.capacity
      this.dropped++
    }
    const slot = this.slots[i]
    if (slot === undefined) {
      this.slots[i] = { logger, level, tag, fields, msg, time }
    } else {
      slot.logger = logger
      slot.level = level
      slot.tag = tag
      slot.fields = fields
      slot.msg = msg
      slot.time = time
    }
  }

  /**
   * Removes and returns the held entries, oldest first. Copies are returned (the slots are reused),
   * and the ring is emptied before the caller writes them, so a statement made while writing (a
   * destination that logs) lands in a fresh ring instead of being replayed twice.
   */
  drain(): RetroEntry[] {
    const out: RetroEntry[] = new Array(this.count)
    for (let k = 0; k < this.count; k++) {
      const s = this.slots[(this.head + k) % this.capacity]!
      out[k] = { logger: s.logger, level: s.level, tag: s.tag, fields: s.fields, msg: s.msg, time: s.time }
      // Drop references so a drained ring does not keep callers' field objects alive.
      s.fields = undefined
    }
    this.head = 0
    this.count = 0
    return out
  }
}
