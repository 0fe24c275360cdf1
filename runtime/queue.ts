/**
 * A FIFO ring buffer that grows by doubling. Array.shift() is O(n) in V8 once arrays leave the fast
 * path, and a mailbox under load shifts on every delivery, so the mailboxes use this instead.
 */
export class Queue<T> {
  private buf: (T | undefined)[]
  private head = 0
  private count = 0

  constructor(initialCapacity = 16) {
    let cap = 1
    while (cap < initialCapacity) cap <<= 1
    this.buf = new Array<T | undefined>(cap)
  }

  get length(): number {
    return this.count
  }

  push(x: T): void {
    if (this.count === this.buf.length) this.grow()
    this.buf[(this.head + this.count) & (this.buf.length - 1)] = x
    this.count++
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const x = this.buf[this.head]
    this.buf[this.head] = undefined
    this.head = (this.head + 1) & (this.buf.length - 1)
    this.count--
    return x
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.buf[this.head]
  }

  clear(): void {
    this.buf.fill(undefined)
    this.head = 0
    this.count = 0
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2)
    for (let i = 0; i < this.count; i++) next[i] = this.buf[(this.head + i) & (this.buf.length - 1)]
    this.buf = next
    this.head = 0
  }
}
