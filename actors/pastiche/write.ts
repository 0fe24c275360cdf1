/**
 * One blob write. The bytes go to an in-progress file in `incoming/` while they are hashed; the file
 * is fsynced and renamed into `blobs/<2 hex>/<hex>` only once the hash is known to be right, and the
 * directory is fsynced after the rename: so no reader ever sees a partial or a wrong blob, even after a
 * crash. A write under an expected hash keeps its in-progress file (`<hex>.part`) when its source
 * breaks, so a later write of the same hash resumes at an offset; the hash state is rebuilt from the
 * kept bytes. A wrong hash, a full store or a failing disk delete the in-progress file.
 */
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { BlobIndex } from './blob-index.js'
import { BlobBusyError, DiskWriteError, HashMismatchError, ResumeOffsetError, StoreFullError } from './errors.js'
import type { BlobFile, BlobFs } from './fs-port.js'
import { hashOfHex, hexOf } from './hash.js'
import { InvalidArgumentError } from '../../runtime/errors.js'

/** What a write needs of its store. */
export interface WriteContext {
  readonly index: BlobIndex
  readonly fs: BlobFs
  readonly blobsDir: string
  readonly incomingDir: string
  /** In-progress files (hex, or an unknown-hash write's name) of writes under way: a second write of one hash is refused, and eviction spares them. */
  readonly writers: Set<string>
  /** Makes room for `needed` bytes by eviction, or throws {@link StoreFullError}. */
  evict(needed: number, hex?: string): void
  /** A name for an in-progress file whose hash is not known in advance. */
  anonName(): string
}

export interface WriteOptions {
  /** Where the bytes of `source` start in the blob: a resume continues the kept in-progress bytes. */
  offset?: number
  /** The blob's full size, when known: room is made for it before the first byte is written. */
  bytes?: number
}

export interface WriteResult {
  hash: string
  bytes: number
  /** The blob was in the store already; `source` was not read (the caller closes it). */
  existed: boolean
}

/** Where a blob lives. */
export function blobPath(blobsDir: string, hex: string): string {
  return join(blobsDir, hex.slice(0, 2), hex)
}

/** Where the in-progress bytes of a write are kept: `<hex>.part` (resumable), or `<anon name>.part`. */
export function partialPath(incomingDir: string, hex: string): string {
  return join(incomingDir, `${hex}.part`)
}

async function hashPrefix(file: string, length: number, into: Hash): Promise<void> {
  if (length === 0) return
  for await (const chunk of createReadStream(file, { start: 0, end: length - 1, highWaterMark: 1 << 20 })) into.update(chunk as Buffer)
}

/** Writes a blob from `source`: under `expected` (verified), or under the hash its bytes make (`null`). */
export async function writeBlob(ctx: WriteContext, expected: string | null, source: AsyncIterable<Uint8Array>, opts: WriteOptions = {}): Promise<WriteResult> {
  const offset = opts.offset ?? 0
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`write offset ${offset} is not a byte count`)
  const wantHex = expected === null ? null : hexOf(expected)
  if (wantHex === null && offset !== 0) throw new InvalidArgumentError('only a write under an expected hash can resume at an offset')
  if (wantHex !== null) {
    const have = ctx.index.bytesOf(wantHex)
    if (have !== undefined) {
      ctx.index.touch(wantHex)
      return { hash: expected!, bytes: have, existed: true }
    }
    if (ctx.writers.has(wantHex)) throw new BlobBusyError(expected!)
    ctx.writers.add(wantHex) // before any await: two writes of one hash cannot both get past here
  }
  const key = wantHex ?? ctx.anonName()
  ctx.writers.add(key)
  try {
    return await writeInto(ctx, wantHex, key, partialPath(ctx.incomingDir, key), source, offset, opts.bytes)
  } finally {
    ctx.writers.delete(key)
  }
}

async function writeInto(ctx: WriteContext, wantHex: string | null, key: string, file: string, source: AsyncIterable<Uint8Array>, offset: number, total: number | undefined): Promise<WriteResult> {
  const kept = ctx.index.partials.get(key) ?? 0
  const what = wantHex === null ? 'writing a blob' : `writing blob ${hashOfHex(wantHex)}`
  if (offset > kept) throw new ResumeOffsetError(hashOfHex(wantHex!), offset, kept)
  const hasher = createHash('sha256')
  let fh: BlobFile | undefined
  let pos = offset
  /** Deletes the in-progress file: after this, nothing of the write is left. */
  const discard = async (): Promise<void> => {
    await fh?.close().catch(() => undefined)
    fh = undefined
    await ctx.fs.unlink(file).catch(() => undefined)
    ctx.index.setPartial(key, undefined)
  }
  try {
    fh = await ctx.fs.openForWrite(file)
    await hashPrefix(file, offset, hasher)
    await fh.truncate(offset)
    ctx.index.setPartial(key, offset)
    if (total !== undefined && total > offset) ctx.evict(total - offset, wantHex ?? undefined)
  } catch (err) {
    await discard()
    throw err instanceof StoreFullError ? err : new DiskWriteError(what, err)
  }
  const it = source[Symbol.asyncIterator]()
  for (;;) {
    let step: IteratorResult<Uint8Array>
    try {
      step = await it.next()
    } catch (err) {
      // The transfer broke: an expected hash keeps its bytes for a resume; an unknown one cannot resume.
      if (wantHex === null) await discard()
      else await fh!.sync().then(() => fh!.close(), () => fh!.close()).catch(() => undefined)
      throw err
    }
    if (step.done === true) break
    const chunk = step.value
    if (chunk.length === 0) continue
    try {
      ctx.evict(chunk.length, wantHex ?? undefined)
      ctx.index.setPartial(key, pos + chunk.length)
      const written = fh!.write(chunk, pos)
      hasher.update(chunk) // while the write is in the thread pool
      await written
    } catch (err) {
      await discard()
      await it.return?.()
      throw err instanceof StoreFullError ? err : new DiskWriteError(what, err)
    }
    pos += chunk.length
  }
  const hex = hasher.digest('hex')
  if (wantHex !== null && hex !== wantHex) {
    await discard()
    throw new HashMismatchError(hashOfHex(wantHex), hashOfHex(hex), pos)
  }
  return await place(ctx, key, file, fh!, hex, pos, discard, what)
}

/** Syncs the in-progress file and renames it into place, then syncs the directory. */
export async function place(ctx: WriteContext, key: string, file: string, fh: BlobFile, hex: string, bytes: number, discard: () => Promise<void>, what: string): Promise<WriteResult> {
  const hash = hashOfHex(hex)
  try {
    await fh.sync()
    await fh.close()
  } catch (err) {
    await discard()
    throw new DiskWriteError(what, err)
  }
  if (ctx.index.has(hex)) {
    // The same bytes arrived meanwhile by another write (one whose hash was not known in advance).
    await discard()
    ctx.index.touch(hex)
    return { hash, bytes, existed: true }
  }
  const sub = join(ctx.blobsDir, hex.slice(0, 2))
  const target = blobPath(ctx.blobsDir, hex)
  let renamed = false
  try {
    const made = await mkdir(sub, { recursive: true, mode: 0o700 })
    await ctx.fs.rename(file, target)
    renamed = true
    await ctx.fs.syncDir(sub)
    if (made !== undefined) await ctx.fs.syncDir(ctx.blobsDir)
  } catch (err) {
    // A rename that may not survive a crash is undone: the blob is not announced, so it is not kept.
    if (renamed) {
      await ctx.fs.unlink(target).catch(() => undefined)
      ctx.index.setPartial(key, undefined)
    } else await discard()
    throw new DiskWriteError(what, err)
  }
  ctx.index.setPartial(key, undefined)
  ctx.index.add(hex, bytes)
  return { hash, bytes, existed: false }
}
