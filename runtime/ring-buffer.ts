/**
 * A bounded ring of the most recent items (seed 000's ring buffer: a node's last MonInfo records,
 * 10 000 by default, sent on request by `crux dump`). Pushing is O(1) and never allocates once full.
 */
import { InvalidArgumentError } from './errors.js'

export class RingBuffer<T> {
  private readonly items: (T | undefined)[]
  private next = 0
  private size = 0
  /** Items pushed over the ring's life (so a reader can tell how many were overwritten). */
  pushed = 0

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new InvalidArgumentError(`ring capacity must be a positive integer, got ${capacity}`)
    this.items = new Array<T | undefined>(capacity)
  }

  push(item: T): void {
    this.items[this.next] = item
    this.next = (this.next + 1) % this.capacity
    if (this.size < this.capacity) this.size++
    this.pushed++
  }

  get length(): number {
    return this.size
  }

  /** The items, oldest first. */
  toArray(): T[] {
    const out: T[] = []
    const start = this.size < this.capacity ? 0 : this.next
    for (let i = 0; i < this.size; i++) out.push(this.items[(start + i) % this.capacity]!)
    return out
  }
}
