/**
 * A blob fetched in ranges (the pastiche machine's `fetch` and `assemble`): an in-progress file of the
 * blob's whole size in `incoming/asm-<hex>.part`, its room taken from the store's bound when it opens
 * and never evicted while it is open. Ranges land where they belong, several at once, each from a
 * byte stream written one chunk at a time (the stream is not read further until a chunk is on disk,
 * so memory is a chunk per range whatever the blob's size). `finish` hashes the file; only a match is
 * fsynced and renamed into `blobs/` (and the directory fsynced), so no partial or wrong blob is ever
 * visible. The name is not a resumable `<hex>.part`: a restart's scan removes it, and the machine,
 * whose ranges are not known to the store, fetches again.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { InvalidArgumentError } from '../../runtime/errors.js'
import { BlobBusyError, DiskWriteError, StoreFullError } from './errors.js'
import type { BlobFile } from './fs-port.js'
import { hashOfHex, hexOf } from './hash.js'
import { partialPath, place, type WriteContext } from './write.js'

/** What a range write received. */
export interface RangeResult {
  /** Bytes the source gave (more than asked: it was cut there, and nothing past the range was written). */
  received: number
}

/** One blob being assembled from ranges. */
export interface Assembly {
  readonly hash: string
  readonly bytes: number
  /** Writes `source` at `[offset, offset+length)`; stops reading at `length + 1` bytes. */
  writeRange(offset: number, length: number, source: AsyncIterable<Uint8Array>): Promise<RangeResult>
  /** Hashes the file: a match is placed in the store (true), anything else deleted (false). Ends the assembly. */
  finish(): Promise<boolean>
  /** Deletes the in-progress file. Ends the assembly. */
  abandon(): Promise<void>
}

/** Opens the assembly of `hash` (`bytes` long) in the store of `ctx`. */
export async function openAssembly(ctx: WriteContext, hash: string, bytes: number): Promise<Assembly> {
  const hex = hexOf(hash)
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new InvalidArgumentError(`assembly of ${hash}: ${bytes} is not a byte count`)
  const key = `asm-${hex}`
  if (ctx.writers.has(key)) throw new BlobBusyError(hash)
  ctx.writers.add(key) // before any await: two assemblies of one blob cannot both open
  const file = partialPath(ctx.incomingDir, key)
  let fh: BlobFile | undefined
  let ended = false
  /** Range writes under way: `finish` waits for them (a cancelled one stops at its next chunk). */
  const writing = new Set<Promise<unknown>>()
  const what = `assembling blob ${hashOfHex(hex)}`
  const discard = async (): Promise<void> => {
    await fh?.close().catch(() => undefined)
    fh = undefined
    await ctx.fs.unlink(file).catch(() => undefined)
    ctx.index.setPartial(key, undefined)
  }
  const end = (): void => {
    ended = true
    ctx.writers.delete(key)
  }
  try {
    // The whole size is counted from the start: ranges never have to make room as they land.
    ctx.evict(bytes, hex)
    ctx.index.setPartial(key, bytes)
    fh = await ctx.fs.openForWrite(file)
    await fh.truncate(0)
    await fh.truncate(bytes)
  } catch (err) {
    await discard()
    end()
    throw err instanceof StoreFullError ? err : new DiskWriteError(what, err)
  }
  const live = (): BlobFile => {
    if (ended || fh === undefined) throw new InvalidArgumentError(`assembly of ${hash} is over`)
    return fh
  }
  return {
    hash,
    bytes,
    async writeRange(offset, length, source) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > bytes) {
        throw new InvalidArgumentError(`range [${offset}, ${offset + length}) is outside blob ${hash} of ${bytes} bytes`)
      }
      const f = live()
      let received = 0
      const run = (async () => {
        for await (const chunk of source) {
          const room = length - received
          received += chunk.length
          if (room > 0) {
            const part = chunk.length > room ? chunk.subarray(0, room) : chunk
            try {
              await f.write(part, offset + received - chunk.length)
            } catch (err) {
              throw new DiskWriteError(what, err)
            }
          }
          if (received > length) break // more than asked: the rest is not read
        }
      })()
      writing.add(run)
      try {
        await run
      } finally {
        writing.delete(run)
      }
      return { received }
    },
    async finish() {
      const f = live()
      ended = true
      await Promise.allSettled([...writing])
      try {
        const h = createHash('sha256')
        if (bytes > 0) for await (const chunk of createReadStream(file, { start: 0, end: bytes - 1, highWaterMark: 1 << 20 })) h.update(chunk as Buffer)
        if (h.digest('hex') !== hex) {
          await discard()
          return false
        }
        await place(ctx, key, file, f, hex, bytes, discard, what)
        return true
      } catch (err) {
        await discard()
        throw err instanceof DiskWriteError ? err : new DiskWriteError(what, err)
      } finally {
        end()
      }
    },
    async abandon() {
      if (ended) return
      end()
      await discard()
    },
  }
}
