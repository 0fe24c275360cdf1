/**
 * Copies small byte arrays into views of a shared slab. A `new Uint8Array(n)` past V8's on-heap
 * limit (64 bytes) gets its own malloc'd backing store, tracked and finalised by the GC; at half a
 * million packets a second that alone costs more than the rest of the simulator. Views into one
 * 64 KiB slab cost an object each, like Node's pooled `Buffer.from`.
 *
 * The price, as with Node's pool: a copy's `.buffer` is the whole slab (always honour
 * `byteOffset`/`byteLength`), and a retained copy keeps its slab alive.
 */

const SLAB_BYTES = 64 * 1024

export class ByteSlab {
  private slab = new ArrayBuffer(SLAB_BYTES)
  private used = 0

  /** A fresh copy of `bytes`, sharing no memory with it or with any other copy. */
  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length
    if (n > SLAB_BYTES >>> 4) {
      const own = new Uint8Array(n)
      own.set(bytes)
      return own
    }
    if (this.used + n > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES)
      this.used = 0
    }
    const out = new Uint8Array(this.slab, this.used, n)
    out.set(bytes)
    this.used = (this.used + n + 7) & ~7 // keep views 8-byte aligned, so readers may lay wider typed views on them
    return out
  }
}
