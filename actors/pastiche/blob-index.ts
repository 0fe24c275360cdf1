/**
 * What the store holds, in memory: each blob's size in least-recently-used order, the pins, the
 * reservations and the reads under way, and the bytes of in-progress files. It decides eviction: the
 * least recently used blob that is not pinned, reserved or being read goes first; nothing else ever
 * goes. Pure bookkeeping: the store deletes the files the index names as evicted.
 */
import { StoreFullError } from './errors.js'
import { hashOfHex } from './hash.js'

/** One blob as `ls` shows it. */
export interface BlobInfo {
  hash: string
  bytes: number
  pinned: boolean
  reserved: boolean
}

export class BlobIndex {
  /** hex → bytes; Map order is use order, least recent first (a use moves a key to the end). */
  private readonly blobs = new Map<string, number>()
  private readonly counts = { reserved: new Map<string, number>(), reading: new Map<string, number>() }
  /** hex → bytes of its in-progress file (written so far, or kept for a resume). */
  readonly partials = new Map<string, number>()
  readonly pins = new Set<string>()
  private blobBytes = 0
  private partialBytes = 0

  /** Told of every blob that comes or goes (the node's pastiche machine learns the store's changes from it). */
  onChange: ((hex: string, bytes: number | null) => void) | undefined

  constructor(readonly limitBytes: number) {}

  /** Bytes on disk: blobs plus in-progress files. */
  get used(): number {
    return this.blobBytes + this.partialBytes
  }

  get blobTotal(): number {
    return this.blobBytes
  }

  get partialTotal(): number {
    return this.partialBytes
  }

  has(hex: string): boolean {
    return this.blobs.has(hex)
  }

  bytesOf(hex: string): number | undefined {
    return this.blobs.get(hex)
  }

  /** A blob now in place (idempotent: a second add of the same blob changes nothing but its use). */
  add(hex: string, bytes: number): void {
    const fresh = !this.blobs.has(hex)
    if (fresh) this.blobBytes += bytes
    this.blobs.delete(hex)
    this.blobs.set(hex, bytes)
    if (fresh) this.onChange?.(hex, bytes)
  }

  /** Forgets a blob (evicted or found damaged) and its pin. */
  remove(hex: string): void {
    const bytes = this.blobs.get(hex)
    if (bytes === undefined) return
    this.blobs.delete(hex)
    this.blobBytes -= bytes
    this.pins.delete(hex)
    this.onChange?.(hex, null)
  }

  /** Marks a blob as just used. */
  touch(hex: string): void {
    const bytes = this.blobs.get(hex)
    if (bytes === undefined) return
    this.blobs.delete(hex)
    this.blobs.set(hex, bytes)
  }

  /** Sets the size of an in-progress file (`undefined`: the file is gone). */
  setPartial(hex: string, bytes: number | undefined): void {
    this.partialBytes -= this.partials.get(hex) ?? 0
    if (bytes === undefined) this.partials.delete(hex)
    else {
      this.partials.set(hex, bytes)
      this.partialBytes += bytes
    }
  }

  hold(kind: 'reserved' | 'reading', hex: string): void {
    const m = this.counts[kind]
    m.set(hex, (m.get(hex) ?? 0) + 1)
  }

  letGo(kind: 'reserved' | 'reading', hex: string): void {
    const m = this.counts[kind]
    const n = (m.get(hex) ?? 0) - 1
    if (n > 0) m.set(hex, n)
    else m.delete(hex)
  }

  isHeld(kind: 'reserved' | 'reading', hex: string): boolean {
    return this.counts[kind].has(hex)
  }

  /** Whether eviction may take this blob. */
  evictable(hex: string): boolean {
    return !this.pins.has(hex) && !this.counts.reserved.has(hex) && !this.counts.reading.has(hex)
  }

  /**
   * Makes room for `needed` more bytes. In-progress files no write is using (kept for a resume that may
   * never come) go first, oldest first, then blobs, least recently used first. Returns what to delete,
   * already forgotten by the index. Throws {@link StoreFullError} (evicting nothing) when even all of
   * that would not make room. `busy`: the in-progress files of writes under way.
   */
  makeRoom(needed: number, busy: ReadonlySet<string>, forHex?: string): { partials: string[]; blobs: string[] } {
    const over = this.used + needed - this.limitBytes
    const out = { partials: [] as string[], blobs: [] as string[] }
    if (over <= 0) return out
    let freed = 0
    for (const [key, bytes] of this.partials) {
      if (freed >= over) break
      if (busy.has(key)) continue
      out.partials.push(key)
      freed += bytes
    }
    for (const [hex, bytes] of this.blobs) {
      if (freed >= over) break
      if (!this.evictable(hex)) continue
      out.blobs.push(hex)
      freed += bytes
    }
    if (freed < over) throw new StoreFullError(needed, this.used - freed, this.limitBytes, forHex === undefined ? undefined : hashOfHex(forHex))
    for (const key of out.partials) this.setPartial(key, undefined)
    for (const hex of out.blobs) this.remove(hex)
    return out
  }

  /** One blob as `ls` shows it (undefined: not held). */
  info(hex: string): BlobInfo | undefined {
    const bytes = this.blobs.get(hex)
    return bytes === undefined ? undefined : { hash: hashOfHex(hex), bytes, pinned: this.pins.has(hex), reserved: this.counts.reserved.has(hex) }
  }

  /** Every blob, sorted by hash. */
  list(): BlobInfo[] {
    return [...this.blobs.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([hex]) => this.info(hex)!)
  }
}
