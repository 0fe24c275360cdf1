/**
 * A directory as a deterministic tar: the same tree gives the same bytes, hence the same blob hash,
 * whatever the mtimes, owners, umask or the order the directory listing comes in. Entries are sorted by
 * their name in the archive (byte order of the UTF-8; a directory's name ends in `/`), every mtime, uid and gid is 0, user and group names are empty, modes
 * are 0644 for files and 0755 for directories and for files with any execute bit. Only regular files and
 * directories are packed: a symlink (or a fifo, socket, device) anywhere in the tree is refused with a
 * {@link TarError} naming it, before a byte is produced, since a link's meaning depends on where it is
 * unpacked. Paths over 100 bytes and files over 8 GiB get a pax header. File bytes are streamed.
 */
import { createReadStream } from 'node:fs'
import { lstat, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { TarError } from './errors.js'
import { BLOCK, entryHeaders } from './tar-header.js'

interface Entry {
  /** Relative path with `/` separators, no trailing slash. */
  rel: string
  /** The name in the archive: `rel`, with a trailing slash for a directory. */
  name: string
  dir: boolean
  mode: number
  size: number
}

const byBytes = (a: Entry, b: Entry): number => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))

async function walk(root: string, rel: string, out: Entry[]): Promise<void> {
  for (const name of await readdir(rel === '' ? root : join(root, rel))) {
    const path = rel === '' ? name : `${rel}/${name}`
    const st = await lstat(join(root, path))
    if (st.isDirectory()) {
      out.push({ rel: path, name: `${path}/`, dir: true, mode: 0o755, size: 0 })
      await walk(root, path, out)
    } else if (st.isFile()) {
      out.push({ rel: path, name: path, dir: false, mode: (st.mode & 0o111) !== 0 ? 0o755 : 0o644, size: st.size })
    } else {
      const kind = st.isSymbolicLink() ? 'a symlink' : 'not a regular file or directory'
      throw new TarError(`cannot pack ${join(root, path)}: ${kind} (only regular files and directories are packed)`)
    }
  }
}

/** What a pack will hold, sorted: the tree is read once, up front, so a refusal comes before any byte. */
export async function listTree(root: string): Promise<Entry[]> {
  const st = await stat(root)
  if (!st.isDirectory()) throw new TarError(`cannot pack ${root}: not a directory`)
  const out: Entry[] = []
  await walk(root, '', out)
  return out.sort(byBytes)
}

async function* blocks(root: string, entries: Entry[]): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield* entryHeaders(e.name, e.mode, e.size, e.dir ? '5' : '0')
    if (e.dir) continue
    let n = 0
    for await (const chunk of createReadStream(join(root, e.rel), { highWaterMark: 1 << 20 })) {
      n += (chunk as Buffer).length
      if (n > e.size) break
      yield chunk as Buffer
    }
    if (n !== e.size) throw new TarError(`cannot pack ${join(root, e.rel)}: it changed size while being packed`)
    if (n % BLOCK !== 0) yield Buffer.alloc(BLOCK - (n % BLOCK))
  }
  yield Buffer.alloc(2 * BLOCK)
}

/** Packs directory `root` as a deterministic tar stream; throws {@link TarError} on a symlink or special file. */
export async function packTar(root: string): Promise<Readable> {
  const entries = await listTree(root)
  return Readable.from(blocks(root, entries), { objectMode: false })
}
