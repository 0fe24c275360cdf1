/**
 * Packets in flight on the simulated network, grouped by landing time: one clock timer per distinct
 * landing instant rather than one per packet. With delays of whole milliseconds a busy simulation
 * has a few dozen landing instants in flight and hundreds of thousands of packets, so this replaces
 * a heap operation, a timer object, a map entry and a closure per packet with one array push.
 *
 * Order: packets landing at the same instant land in the order they were sent, all at the position
 * of the timer that the first of them created. Against other timers due at that same instant, the
 * whole group therefore lands where its first packet would have — still a pure function of what was
 * scheduled, so runs stay deterministic.
 */
import type { VirtualClock } from './clock.js'
import type { SimNode } from './sim-transport.js'

/** Receives each packet as it lands. */
export interface LandingSink {
  land(src: SimNode, dst: SimNode, bytes: Uint8Array, epoch: number): void
}

/** Packets sharing one landing instant, stored flat (src, dst, bytes, epoch, src, …) to spare an object each. */
class Flight {
  due = 0
  items: unknown[] = []
  readonly fire: () => void

  constructor(owner: FlightSchedule) {
    this.fire = () => owner.land(this)
  }
}

const SPARE_FLIGHTS = 256

export class FlightSchedule {
  private readonly byDue = new Map<number, Flight>()
  private readonly spare: Flight[] = []

  constructor(
    private readonly clock: VirtualClock,
    private readonly sink: LandingSink,
  ) {}

  /** Lands the packet `ms` (≥ 0) from now. */
  add(ms: number, src: SimNode, dst: SimNode, bytes: Uint8Array, epoch: number): void {
    const due = this.clock.now() + ms // the same sum the clock computes, so equal instants share a key
    let f = this.byDue.get(due)
    if (f === undefined) {
      f = this.spare.pop() ?? new Flight(this)
      f.due = due
      this.byDue.set(due, f)
      this.clock.schedule(ms, f.fire)
    }
    f.items.push(src, dst, bytes, epoch)
  }

  /** Timer callback of a flight. */
  land(f: Flight): void {
    // Unregister first: packets sent while landing, even with zero delay, go to a new flight and timer.
    if (this.byDue.get(f.due) === f) this.byDue.delete(f.due)
    const items = f.items
    const sink = this.sink
    let i = 0
    try {
      for (; i < items.length; i += 4) {
        sink.land(items[i] as SimNode, items[i + 1] as SimNode, items[i + 2] as Uint8Array, items[i + 3] as number)
      }
    } finally {
      // A handler threw while packet i landed: the error is the caller's, but the packets behind it
      // must not vanish. They land on a fresh zero-delay timer, ahead of anything sent since.
      if (i + 4 < items.length) this.requeue(items.slice(i + 4))
      f.items = []
      if (this.spare.length < SPARE_FLIGHTS) this.spare.push(f)
    }
  }

  private requeue(rest: unknown[]): void {
    const due = this.clock.now()
    const f = this.byDue.get(due)
    if (f !== undefined) {
      f.items = rest.concat(f.items)
      return
    }
    const g = this.spare.pop() ?? new Flight(this)
    g.due = due
    g.items = rest
    this.byDue.set(due, g)
    this.clock.schedule(0, g.fire)
  }
}
