/**
 * Where the host's `persist` effects go through on their way to a store: a write the disk refuses
 * (EMFILE, ENOSPC, EIO) is an error the node reports and survives, never an exception thrown out of
 * a step into the event loop (issue 13: a checkpoint write failing with EMFILE killed a fulcrum).
 *
 * What failed is kept, latest value per (actor, key), and written again after a backoff (1 s,
 * doubling to 60 s): a checkpoint is worth having late, and a newer put of the same key replaces the
 * waiting one, so nothing stale is written over something newer. The actor goes on meanwhile: a
 * value in memory that did not reach the disk yet is what any crash between two writes leaves too.
 */
import type { Clock, TimerHandle } from './clock.js'
import type { PersistPort } from './host.js'

/** Told of each failed write, and of the first success after failures. */
export interface PersistReport {
  failed(actor: string, key: string, err: unknown, retryInMs: number): void
  recovered(actor: string, key: string): void
}

const FIRST_RETRY_MS = 1_000
const MAX_RETRY_MS = 60_000

export class PersistGuard implements PersistPort {
  /** Writes refused so far. */
  failures = 0
  private readonly waiting = new Map<string, { actor: string; key: string; value: unknown }>()
  private timer: TimerHandle | null = null
  private retryMs = FIRST_RETRY_MS

  constructor(
    private readonly store: PersistPort,
    private readonly clock: Clock,
    private readonly report: PersistReport,
  ) {}

  /** Writes not yet on disk (refused, waiting for their retry). */
  get pending(): number {
    return this.waiting.size
  }

  put(actor: string, key: string, value: unknown): void {
    const id = `${actor}\u0000${key}`
    try {
      this.store.put(actor, key, value)
    } catch (err) {
      this.failures++
      this.waiting.set(id, { actor, key, value })
      this.report.failed(actor, key, err, this.retryMs)
      this.arm()
      return
    }
    if (this.waiting.delete(id)) this.report.recovered(actor, key)
    if (this.waiting.size === 0) this.retryMs = FIRST_RETRY_MS
  }

  /** Stops retrying (the host closes); what is still waiting is lost, and was reported. */
  close(): void {
    if (this.timer !== null) this.clock.cancel(this.timer)
    this.timer = null
  }

  private arm(): void {
    if (this.timer !== null) return
    this.timer = this.clock.schedule(this.retryMs, () => {
      this.timer = null
      this.retryMs = Math.min(MAX_RETRY_MS, 2 * this.retryMs)
      for (const w of [...this.waiting.values()]) this.put(w.actor, w.key, w.value)
    })
  }
}
