/**
 * Safe unpacking of a tar stream into a new directory. Nothing is created outside the target: an
 * absolute path, a `..` segment, a NUL or an over-long path is refused; so is every entry that is not a
 * regular file or a directory (symlink, hardlink, device, fifo, GNU long-name), which also rules out
 * symlink tricks, since no link is ever made inside the target to be followed. Files are created with
 * exclusive create (`wx`), so a duplicate entry is an error rather than an overwrite. Everything is
 * unpacked into a fresh temporary directory next to the target and renamed into place at the end, so
 * a failed unpack (corrupt, truncated, unsafe, disk error) leaves nothing behind.
 */
import { chmod, lstat, mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ByteReader } from './byte-reader.js'
import { TarError } from './errors.js'
import { BLOCK, MAX_PATH_BYTES, MAX_PAX_BYTES, decodeHeader, isZeroBlock, parsePax } from './tar-header.js'

export interface UnpackResult {
  files: number
  dirs: number
  /** Bytes of file content written. */
  bytes: number
}

const KINDS: Record<string, string> = { '1': 'hardlink', '2': 'symlink', '3': 'character device', '4': 'block device', '6': 'fifo', '7': 'contiguous file', L: 'GNU long name', K: 'GNU long link' }

/** The entry's path split into safe segments, or a {@link TarError} saying why it is unsafe. */
export function safeSegments(name: string): string[] {
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) throw new TarError(`unsafe tar entry: path longer than ${MAX_PATH_BYTES} bytes`)
  if (name.includes('\0')) throw new TarError(`unsafe tar entry ${JSON.stringify(name)}: NUL in path`)
  if (name.startsWith('/')) throw new TarError(`unsafe tar entry ${JSON.stringify(name)}: absolute path`)
  const segs = name.split('/').filter((s) => s !== '' && s !== '.')
  if (segs.includes('..')) throw new TarError(`unsafe tar entry ${JSON.stringify(name)}: ".." in path`)
  return segs
}

/** Unpacks `source` into `target`, which must not exist yet. */
export async function unpackTar(source: AsyncIterable<Uint8Array>, target: string): Promise<UnpackResult> {
  try {
    await lstat(target)
    throw new TarError(`cannot unpack into ${target}: it exists already`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const tmp = await mkdtemp(join(dirname(target), `.${basename(target)}.unpack-`))
  const reader = new ByteReader(source)
  try {
    const result = await entries(reader, tmp)
    await chmod(tmp, 0o755) // mkdtemp made it 0700
    await rename(tmp, target)
    return result
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') throw new TarError(`bad tar: an entry clashes with an earlier one (${code})`)
    throw err
  } finally {
    await reader.close().catch(() => undefined)
  }
}

async function entries(reader: ByteReader, root: string): Promise<UnpackResult> {
  const out: UnpackResult = { files: 0, dirs: 0, bytes: 0 }
  let pax: { path?: string; size?: number } = {}
  for (;;) {
    const block = await reader.exactly(BLOCK, 'a header')
    if (block === null) throw new TarError('truncated tar: no end-of-archive block')
    if (isZeroBlock(block)) return out
    const h = decodeHeader(block)
    if (h.type === 'pax' || h.type === 'global-pax') {
      if (h.size > MAX_PAX_BYTES) throw new TarError(`corrupt tar: pax header of ${h.size} bytes (at most ${MAX_PAX_BYTES})`)
      const data = (await reader.exactly(Math.ceil(h.size / BLOCK) * BLOCK, 'a pax header')) ?? Buffer.alloc(0)
      if (data.length < h.size) throw new TarError('truncated tar: the stream ends inside a pax header')
      const parsed = parsePax(data.subarray(0, h.size))
      if (h.type === 'pax') pax = parsed // a global header (git archive's commit id) sets nothing we use
      continue
    }
    const name = pax.path ?? h.name
    const size = pax.size ?? h.size
    pax = {}
    if (h.type === 'other') throw new TarError(`unsafe tar entry ${JSON.stringify(name)}: ${KINDS[h.flag] ?? `type ${JSON.stringify(h.flag)}`} entries are not unpacked`)
    const segs = safeSegments(name)
    if (segs.length === 0) {
      if (h.type === 'dir') continue // "./": the target itself
      throw new TarError(`unsafe tar entry ${JSON.stringify(name)}: empty path`)
    }
    const path = join(root, ...segs)
    if (h.type === 'dir') {
      await mkdir(path, { recursive: true, mode: 0o755 })
      out.dirs++
      if (size !== 0) for await (const _ of reader.take(Math.ceil(size / BLOCK) * BLOCK, 'a directory entry'));
      continue
    }
    await mkdir(dirname(path), { recursive: true, mode: 0o755 })
    const fh = await open(path, 'wx', (h.mode & 0o111) !== 0 ? 0o755 : 0o644)
    try {
      for await (const piece of reader.take(size, `file ${JSON.stringify(name)}`)) await fh.write(piece)
    } finally {
      await fh.close()
    }
    const padding = (BLOCK - (size % BLOCK)) % BLOCK
    if (padding !== 0 && (await reader.exactly(padding, `file ${JSON.stringify(name)}`)) === null) throw new TarError(`truncated tar: the stream ends inside file ${JSON.stringify(name)}`)
    out.files++
    out.bytes += size
  }
}
