/**
 * Service bundles on a node: blobs of the pastiche store (a directory put with `crux pastiche put
 * DIR`, stored as a tar) unpacked under `<data-dir>/picket/bundles/<hex>` and their manifests
 * checked. A bundle is unpacked once and then shared by every run of it. untar.ts unpacks into a
 * temporary directory and renames it into place, so a directory under its hash is always whole: a
 * crash mid-unpack leaves only a `.<hex>.unpack-*` directory, removed on the next start.
 *
 * A blob the store lacks is asked of pastiche (`want`), and waited for until it arrives or the
 * deadline passes. The store is read under a reservation, so eviction cannot take it mid-unpack.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Manifest } from '../../machines/picket/types.js'
import { hexOf } from '../pastiche/hash.js'
import { kindOf } from '../pastiche/kind.js'
import type { BlobStore } from '../pastiche/store.js'
import { unpackTar } from '../pastiche/untar.js'
import { readManifest } from './manifest.js'

/** Why a bundle cannot be had: the reason `bundle.failed` carries (the machine names the bundle before it). */
export class BundleError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BundleError'
  }
}

export interface BundlesInit {
  store: BlobStore
  /** `<data-dir>/picket/bundles`. */
  dir: string
  /** Asks pastiche to fetch `hash` from a node that holds it. */
  want(hash: string): void
  /** Withdraws that ask when the blob did not come: pastiche would go on looking for it. */
  unwant?(hash: string): void
  /** How long to wait for a wanted blob to arrive, ms. */
  fetchMs: number
  /**
   * Whether no node can hold `hash` as far as this node knows (every peer announced all it holds, and
   * none named it). A blob absent that long ({@link ABSENT_MS}) fails at once instead of after `fetchMs`:
   * the catalog names a new holder within a fraction of that.
   */
  absent?(hash: string): boolean
}

/** How long a blob must stay absent from every announcement before a prepare gives up on it, ms. */
export const ABSENT_MS = 2_000
const ABSENT_POLL_MS = 250

export interface Bundles {
  /** Has `hash` unpacked with a good manifest: its directory and manifest, or a {@link BundleError}. */
  prepare(hash: string): Promise<{ dir: string; manifest: Manifest }>
  /** The directory bundle `hash` is (or would be) unpacked in. */
  dirOf(hash: string): string
  /** Stops waiting for blobs (pending prepares fail). */
  close(): void
}

/** Opens the bundle directory (creating it), removing what an interrupted unpack left. */
export async function openBundles(init: BundlesInit): Promise<Bundles> {
  await mkdir(init.dir, { recursive: true, mode: 0o700 })
  for (const name of await readdir(init.dir)) if (name.startsWith('.')) await rm(join(init.dir, name), { recursive: true, force: true })
  /** Prepares under way, by hash: two runs of one bundle share the unpack. */
  const pending = new Map<string, Promise<{ dir: string; manifest: Manifest }>>()
  /** Who waits for which blob to arrive. */
  const waiting = new Map<string, Set<(held: boolean) => void>>()
  let closed = false
  init.store.watch((hash, bytes) => {
    if (bytes === null) return
    for (const done of [...(waiting.get(hash) ?? [])]) done(true)
  })

  const arrival = (hash: string): Promise<boolean> =>
    new Promise((resolve) => {
      const set = waiting.get(hash) ?? new Set()
      waiting.set(hash, set)
      let done = (held: boolean) => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0) waiting.delete(hash)
        resolve(held)
      }
      const timer = setTimeout(() => done(init.store.has(hash)), init.fetchMs)
      // Absent from every announcement for ABSENT_MS in a row: nobody has it to give.
      let absentSince: number | null = null
      const poll =
        init.absent === undefined
          ? undefined
          : setInterval(() => {
              if (!init.absent!(hash)) absentSince = null
              else if (absentSince === null) absentSince = Date.now()
              else if (Date.now() - absentSince >= ABSENT_MS) done(init.store.has(hash))
            }, ABSENT_POLL_MS)
      const stop = done
      done = (held: boolean) => {
        clearInterval(poll)
        stop(held)
      }
      set.add(done)
      // Asked after listening, so an arrival between the check and the watch is not missed.
      if (closed) done(false)
      else if (init.store.has(hash)) done(true)
      else init.want(hash)
    })

  const firstBytes = (hash: string): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let got = 0
      const s = init.store.read(hash)
      s.on('data', (c: Buffer) => {
        chunks.push(c)
        got += c.length
        if (got >= 1024) s.destroy()
      })
      s.on('close', () => resolve(Buffer.concat(chunks).subarray(0, 1024)))
      s.on('error', reject)
    })

  const dirOf = (hash: string) => join(init.dir, hexOf(hash))

  const unpack = async (hash: string): Promise<{ dir: string; manifest: Manifest }> => {
    const dir = dirOf(hash)
    const there = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    )
    if (!there) {
      const hold = init.store.reserve(hash)
      try {
        if (!init.store.has(hash) && !(await arrival(hash))) {
          init.unwant?.(hash)
          throw new BundleError('no such bundle: no node holds it')
        }
        const size = init.store.stat(hash)?.bytes ?? 0
        if (kindOf(await firstBytes(hash), size) !== 'dir') throw new BundleError('a file, not a bundle: a bundle is a directory put with crux pastiche put DIR')
        await unpackTar(init.store.read(hash), dir).catch((err: Error) => {
          // Another unpack of it finished first (a second fulcrum process would be refused the data dir).
          if (/exists already/.test(err.message)) return
          throw new BundleError(`cannot be unpacked: ${err.message}`)
        })
      } finally {
        hold.release()
      }
    }
    try {
      return { dir, manifest: await readManifest(dir) }
    } catch (err) {
      throw new BundleError((err as Error).message)
    }
  }

  return {
    dirOf,
    prepare(hash) {
      try {
        hexOf(hash)
      } catch (err) {
        return Promise.reject(new BundleError((err as Error).message))
      }
      let p = pending.get(hash)
      if (p === undefined) {
        p = unpack(hash).finally(() => pending.delete(hash))
        pending.set(hash, p)
      }
      return p
    },
    close() {
      closed = true
      for (const set of [...waiting.values()]) for (const done of [...set]) done(false)
    },
  }
}
