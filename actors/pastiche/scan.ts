/**
 * What a store finds in its directory when it opens: the blobs in `blobs/<2 hex>/<hex>` (sizes only,
 * no hashing: reading every byte at start would make a start as slow as the disk is big; `verify`
 * hashes one blob on demand) and the in-progress files of `incoming/`. A file there named after the
 * hash it was written for (`<hex>.part`) can be resumed and is kept for `resumeMs` after its last
 * write; any other (a write whose hash was not known in advance) can never be resumed and is removed,
 * since the one process that owns the directory is the one opening it now.
 */
import { readdir, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'

export interface ScanResult {
  /** Blobs found, oldest modification first (the index's initial use order). */
  blobs: { hex: string; bytes: number }[]
  /** Resumable in-progress files kept. */
  partials: { hex: string; bytes: number }[]
  /** In-progress files removed (stale or not resumable). */
  removed: string[]
  /** Files under `blobs/` that are not blobs (left alone, not counted). */
  ignored: string[]
}

const HEX64 = /^[0-9a-f]{64}$/
const PART = /^([0-9a-f]{64})\.part$/

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** Scans `blobsDir` and `incomingDir`, removing the in-progress files that cannot or may no longer resume. */
export async function scanStore(blobsDir: string, incomingDir: string, now: number, resumeMs: number): Promise<ScanResult> {
  const out: ScanResult = { blobs: [], partials: [], removed: [], ignored: [] }
  const found: { hex: string; bytes: number; mtime: number }[] = []
  for (const sub of await names(blobsDir)) {
    const subDir = join(blobsDir, sub)
    if (!/^[0-9a-f]{2}$/.test(sub) || !(await stat(subDir)).isDirectory()) {
      out.ignored.push(subDir)
      continue
    }
    for (const name of await names(subDir)) {
      const file = join(subDir, name)
      const st = await stat(file)
      if (!HEX64.test(name) || !name.startsWith(sub) || !st.isFile()) out.ignored.push(file)
      else found.push({ hex: name, bytes: st.size, mtime: st.mtimeMs })
    }
  }
  found.sort((a, b) => a.mtime - b.mtime || (a.hex < b.hex ? -1 : 1))
  out.blobs = found.map(({ hex, bytes }) => ({ hex, bytes }))
  for (const name of await names(incomingDir)) {
    const file = join(incomingDir, name)
    const st = await stat(file)
    const m = PART.exec(name)
    if (m !== null && st.isFile() && now - st.mtimeMs <= resumeMs) out.partials.push({ hex: m[1]!, bytes: st.size })
    else {
      await unlink(file)
      out.removed.push(file)
    }
  }
  return out
}
