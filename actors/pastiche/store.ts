/**
 * A node's blob store: content-addressed files under `dir`, bounded by `limitBytes` with LRU
 * eviction that never takes a pinned, reserved or in-use blob. Layout:
 *   <dir>/blobs/<2 hex>/<64 hex>   blobs, each named by the SHA-256 of its bytes
 *   <dir>/incoming/                in-progress writes (see write.ts); never read as blobs
 *   <dir>/pins.json                the pins (see pins-file.ts)
 * Everything read from outside is streamed, so memory does not depend on a blob's size.
 */
import { createHash } from 'node:crypto'
import { createReadStream, unlinkSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { InvalidArgumentError, OutOfRangeError } from '../../runtime/errors.js'
import { openAssembly, type Assembly } from './assembly.js'
import { BlobIndex, type BlobInfo } from './blob-index.js'
import { BlobNotFoundError } from './errors.js'
import { nodeBlobFs, type BlobFs } from './fs-port.js'
import { hashOfHex, hexOf } from './hash.js'
import { readPins, writePins } from './pins-file.js'
import { scanStore, type ScanResult } from './scan.js'
import { blobPath, partialPath, writeBlob, type WriteContext, type WriteOptions, type WriteResult } from './write.js'

export type { Assembly, RangeResult } from './assembly.js'
export type { BlobInfo } from './blob-index.js'
export type { WriteOptions, WriteResult } from './write.js'

/** How long a resumable in-progress file is kept after its last write, by default: a day. */
export const DEFAULT_RESUME_MS = 24 * 3600_000

export interface BlobStoreOptions {
  dir: string
  /** Bytes the blobs and in-progress files may take together. */
  limitBytes: number
  /** How long a resumable in-progress file outlives its last write (default {@link DEFAULT_RESUME_MS}). */
  resumeMs?: number
  /** The disk of writes (a test injects failures here). */
  fs?: BlobFs
  /** The wall clock, for the age of in-progress files. */
  now?: () => number
}

/** A hold on a blob that eviction respects until `release()` (idempotent). */
export interface Reservation {
  readonly hash: string
  release(): void
}

export interface BlobStore {
  readonly dir: string
  readonly limitBytes: number
  /** What the start scan found and removed. */
  readonly scanned: ScanResult
  /** Writes a blob under an expected hash (verified before it is visible), or under its computed hash (`null`). */
  write(expected: string | null, source: AsyncIterable<Uint8Array>, opts?: WriteOptions): Promise<WriteResult>
  /** Opens the assembly of `hash` from ranges (assembly.ts): `bytes` are counted against the bound now, and never evicted while it is open. */
  assemble(hash: string, bytes: number): Promise<Assembly>
  /** Calls `fn` (beside any earlier watcher) for every blob that comes into the store (its size) or leaves it (null) from now on: writes, assemblies, eviction, gc, a failed verify. */
  watch(fn: (hash: string, bytes: number | null) => void): void
  /** Bytes of `hash` kept from a broken write: where a resume starts (0: none). */
  partial(hash: string): number
  /** The blob's bytes from `offset`; the blob is in use (never evicted) until the stream closes. */
  read(hash: string, offset?: number): Readable
  has(hash: string): boolean
  stat(hash: string): BlobInfo | undefined
  ls(): BlobInfo[]
  /** Bytes used by blobs and by in-progress files, and the bound. */
  usage(): { blobs: number; incoming: number; limit: number }
  /** Pins a blob in the store (durably: pins survive a restart). */
  pin(hash: string): Promise<void>
  unpin(hash: string): Promise<void>
  /** Holds a blob (present or still being fetched) against eviction. */
  reserve(hash: string): Reservation
  /** Hashes a blob's bytes again; a damaged blob is removed (and unpinned) and `false` returned. */
  verify(hash: string): Promise<boolean>
  /**
   * Removes every blob eviction may take (not pinned, reserved or being read) and that `keep` does
   * not name; in-progress files stay (a resume may come). Returns what went.
   */
  gc(keep?: (hash: string) => boolean): { removed: number; bytes: number }
}

/** Deletes a file the index has let go of; one already gone (removed by hand) is no failure. */
function removeGone(file: string): void {
  try {
    unlinkSync(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

/** Opens (creating if needed) the store in `opts.dir`, scanning it; hashes nothing. */
export async function createBlobStore(opts: BlobStoreOptions): Promise<BlobStore> {
  if (!Number.isSafeInteger(opts.limitBytes) || opts.limitBytes < 0) throw new InvalidArgumentError(`blob store limit ${opts.limitBytes} is not a byte count`)
  const blobsDir = join(opts.dir, 'blobs')
  const incomingDir = join(opts.dir, 'incoming')
  const pinsFile = join(opts.dir, 'pins.json')
  await mkdir(blobsDir, { recursive: true, mode: 0o700 })
  await mkdir(incomingDir, { recursive: true, mode: 0o700 })
  const now = opts.now ?? Date.now
  const scanned = await scanStore(blobsDir, incomingDir, now(), opts.resumeMs ?? DEFAULT_RESUME_MS)
  const index = new BlobIndex(opts.limitBytes)
  for (const b of scanned.blobs) index.add(b.hex, b.bytes)
  for (const p of scanned.partials) index.setPartial(p.hex, p.bytes)
  const pinned = (await readPins(pinsFile)).map(hexOf)
  for (const hex of pinned) if (index.has(hex)) index.pins.add(hex)
  // Pins of blobs no longer there (removed by hand) are dropped from the file too.
  if (pinned.some((hex) => !index.has(hex))) await writePins(pinsFile, [...index.pins].map(hashOfHex))

  let anon = 0
  /** In-progress files of writes under way (expected hashes and unknown-hash names): never evicted. */
  const busy = new Set<string>()
  const ctx: WriteContext = {
    index,
    fs: opts.fs ?? nodeBlobFs,
    blobsDir,
    incomingDir,
    writers: busy,
    evict(needed, hex) {
      const victims = index.makeRoom(needed, busy, hex)
      for (const key of victims.partials) removeGone(partialPath(incomingDir, key))
      for (const victim of victims.blobs) removeGone(blobPath(blobsDir, victim))
    },
    anonName: () => `anon-${process.pid}-${anon++}`,
  }
  // Pin file writes in order: two pins at once must not let the older list be renamed last.
  let pinsDone: Promise<void> = Promise.resolve()
  const savePins = (): Promise<void> => {
    pinsDone = pinsDone.catch(() => undefined).then(() => writePins(pinsFile, [...index.pins].map(hashOfHex)))
    return pinsDone
  }
  const present = (hash: string): string => {
    const hex = hexOf(hash)
    if (!index.has(hex)) throw new BlobNotFoundError(hash)
    return hex
  }
  // Every watcher is called (the pastiche machine's and picket's bundles), in the order they came.
  const watchers: Array<(hash: string, bytes: number | null) => void> = []
  index.onChange = (hex, bytes) => {
    if (watchers.length === 0) return
    const hash = hashOfHex(hex)
    for (const w of watchers) w(hash, bytes)
  }

  return {
    dir: opts.dir,
    limitBytes: opts.limitBytes,
    scanned,
    write: (expected, source, wopts) => writeBlob(ctx, expected, source, wopts),
    assemble: (hash, bytes) => openAssembly(ctx, hash, bytes),
    watch: (fn) => void watchers.push(fn),
    partial: (hash) => index.partials.get(hexOf(hash)) ?? 0,
    read(hash, offset = 0) {
      const hex = present(hash)
      const bytes = index.bytesOf(hex)!
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > bytes) throw new OutOfRangeError(`blob ${hash}: read offset ${offset} is outside its ${bytes} bytes`)
      index.hold('reading', hex)
      index.touch(hex)
      // An empty range still makes a stream that opens and ends, so `close` always comes.
      const stream = createReadStream(blobPath(blobsDir, hex), { start: offset, highWaterMark: 1 << 20 })
      stream.once('close', () => index.letGo('reading', hex))
      return stream
    },
    has: (hash) => index.has(hexOf(hash)),
    stat(hash) {
      return index.info(hexOf(hash))
    },
    ls: () => index.list(),
    usage: () => ({ blobs: index.blobTotal, incoming: index.partialTotal, limit: opts.limitBytes }),
    async pin(hash) {
      index.pins.add(present(hash))
      await savePins()
    },
    async unpin(hash) {
      index.pins.delete(hexOf(hash))
      await savePins()
    },
    reserve(hash) {
      const hex = hexOf(hash)
      index.hold('reserved', hex)
      let held = true
      return {
        hash,
        release() {
          if (held) index.letGo('reserved', hex)
          held = false
        },
      }
    },
    async verify(hash) {
      const hex = present(hash)
      const h = createHash('sha256')
      index.hold('reading', hex)
      try {
        for await (const chunk of createReadStream(blobPath(blobsDir, hex), { highWaterMark: 1 << 20 })) h.update(chunk as Buffer)
      } finally {
        index.letGo('reading', hex)
      }
      if (h.digest('hex') === hex) return true
      const wasPinned = index.pins.has(hex)
      index.remove(hex)
      removeGone(blobPath(blobsDir, hex))
      if (wasPinned) await savePins()
      return false
    },
    gc(keep = () => false) {
      let removed = 0
      let bytes = 0
      for (const b of index.list()) {
        const hex = hexOf(b.hash)
        if (!index.evictable(hex) || keep(b.hash)) continue
        index.remove(hex)
        removeGone(blobPath(blobsDir, hex))
        removed++
        bytes += b.bytes
      }
      return { removed, bytes }
    },
  }
}

/** Where a store in `dir` keeps the resumable bytes of `hash` (tests look there after a crash). */
export function partialFileOf(dir: string, hash: string): string {
  return partialPath(join(dir, 'incoming'), hexOf(hash))
}
