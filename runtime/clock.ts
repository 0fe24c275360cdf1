/**
 * Clocks. Machines never read a clock: the runtime stamps `now` on every event it delivers and turns
 * timer effects into `timer.fired` inputs. The clock is therefore the one place time enters a node,
 * and swapping the real clock for the virtual one makes a whole node (or ten thousand) deterministic.
 */

/** A handle for a scheduled callback; pass it to {@link Clock.cancel}. */
export interface TimerHandle {
  readonly id: number
}

/** The time port. `now()` is milliseconds on this clock's own timeline (not necessarily the epoch). */
export interface Clock {
  now(): number
  /** Calls `fn` once, `ms` (≥ 0) milliseconds from now. */
  schedule(ms: number, fn: () => void): TimerHandle
  /** Cancels a scheduled callback; cancelling a fired or unknown handle does nothing. */
  cancel(handle: TimerHandle): void
}

/** Wall-clock time for production processes: `performance.timeOrigin`-based ms and `setTimeout`. */
export class RealClock implements Clock {
  private nextId = 1
  private readonly pending = new Map<number, NodeJS.Timeout | NodeJS.Immediate>()

  now(): number {
    return Math.floor(performance.timeOrigin + performance.now())
  }

  /**
   * `ms` ≤ 0 runs on setImmediate, right after the I/O callbacks of this loop turn: Node's setTimeout
   * waits at least 1 ms, which a request answered after a mailbox drain would pay every time.
   */
  schedule(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++
    const run = () => {
      this.pending.delete(id)
      fn()
    }
    this.pending.set(id, ms <= 0 ? setImmediate(run) : setTimeout(run, ms))
    return { id }
  }

  cancel(handle: TimerHandle): void {
    const t = this.pending.get(handle.id)
    if (t !== undefined) {
      clear(t)
      this.pending.delete(handle.id)
    }
  }

  /** Cancels everything still pending (used on shutdown so nothing keeps the process alive). */
  cancelAll(): void {
    for (const t of this.pending.values()) clear(t)
    this.pending.clear()
  }
}

function clear(t: NodeJS.Timeout | NodeJS.Immediate): void {
  if ('refresh' in t) clearTimeout(t)
  else clearImmediate(t as NodeJS.Immediate)
}

interface VirtualTimer {
  due: number
  seq: number
  id: number
  fn: (() => void) | null
}

/**
 * A clock that only moves when told to. Timers fire in order of due time; timers due at the same
 * instant fire in the order they were scheduled (a global insertion counter), so a run is a pure
 * function of what was scheduled. Backed by a binary heap: O(log n) per timer, which matters when the
 * simulator pushes every packet of ten thousand nodes through it.
 */
export class VirtualClock implements Clock {
  private t: number
  private seq = 0
  private nextId = 1
  private heap: VirtualTimer[] = []
  private readonly live = new Map<number, VirtualTimer>()
  /** Number of callbacks fired so far. */
  fired = 0

  constructor(start = 0) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  schedule(ms: number, fn: () => void): TimerHandle {
    if (!(ms >= 0)) ms = 0
    const timer: VirtualTimer = { due: this.t + ms, seq: this.seq++, id: this.nextId++, fn }
    this.push(timer)
    this.live.set(timer.id, timer)
    return { id: timer.id }
  }

  cancel(handle: TimerHandle): void {
    const timer = this.live.get(handle.id)
    if (timer !== undefined) {
      timer.fn = null // lazily removed when it reaches the top of the heap
      this.live.delete(handle.id)
    }
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.live.size
  }

  /** Due time of the next live timer, or undefined. */
  nextDue(): number | undefined {
    this.dropCancelled()
    return this.heap.length > 0 ? this.heap[0]!.due : undefined
  }

  /** Fires the next timer (advancing time to it). Returns false when nothing is scheduled. */
  step(): boolean {
    this.dropCancelled()
    const top = this.pop()
    if (top === undefined) return false
    if (top.due > this.t) this.t = top.due
    this.live.delete(top.id)
    const fn = top.fn!
    top.fn = null
    this.fired++
    fn()
    return true
  }

  /**
   * Fires every timer due at or before `time` (including ones scheduled by callbacks meanwhile), then
   * sets the clock to `time`. Time never goes backwards.
   */
  runUntil(time: number): void {
    for (;;) {
      const due = this.nextDue()
      if (due === undefined || due > time) break
      this.step()
    }
    if (time > this.t) this.t = time
  }

  /** Advances by `ms`, firing what falls due on the way. */
  advance(ms: number): void {
    this.runUntil(this.t + ms)
  }

  /**
   * Fires timers until none is left or `limit` callbacks have run (a guard against self-rescheduling
   * loops). Returns the number fired.
   */
  runAll(limit = 10_000_000): number {
    let n = 0
    while (n < limit && this.step()) n++
    return n
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.fn === null) this.pop()
  }

  private less(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq)
  }

  private push(x: VirtualTimer): void {
    const h = this.heap
    h.push(x)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}

/**
 * A view of another clock shifted by a fixed offset: what a node with a skewed clock reads. Timers
 * are scheduled on the base clock (durations are unaffected by a constant skew).
 */
export class SkewedClock implements Clock {
  constructor(
    private readonly base: Clock,
    public skewMs: number,
  ) {}

  now(): number {
    return this.base.now() + this.skewMs
  }

  schedule(ms: number, fn: () => void): TimerHandle {
    return this.base.schedule(ms, fn)
  }

  cancel(handle: TimerHandle): void {
    this.base.cancel(handle)
  }
}
