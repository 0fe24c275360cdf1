/**
 * Exact-size reads over a byte stream, for the tar parser: at most one chunk of the source is held
 * beyond what was asked, so memory is bounded by the caller's request sizes, not by the stream's length.
 */
import { TarError } from './errors.js'

export class ByteReader {
  private buf = Buffer.alloc(0)
  private readonly it: AsyncIterator<Uint8Array>
  private ended = false

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]()
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false
    const step = await this.it.next()
    if (step.done === true) {
      this.ended = true
      return false
    }
    this.buf = this.buf.length === 0 ? Buffer.from(step.value) : Buffer.concat([this.buf, step.value])
    return true
  }

  /** Exactly `n` bytes; `null` at a clean end of stream (no byte left); {@link TarError} if it ends midway. */
  async exactly(n: number, what: string): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (!(await this.more())) {
        if (this.buf.length === 0) return null
        throw new TarError(`truncated tar: the stream ends inside ${what}`)
      }
    }
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  /** The next `n` bytes as they come, in pieces; {@link TarError} if the stream ends first. */
  async *take(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw new TarError(`truncated tar: the stream ends inside ${what}`)
      const piece = this.buf.subarray(0, Math.min(left, this.buf.length))
      this.buf = this.buf.subarray(piece.length)
      left -= piece.length
      yield piece
    }
  }

  /** Stops reading the source (its end is not needed). */
  async close(): Promise<void> {
    await this.it.return?.()
  }
}
