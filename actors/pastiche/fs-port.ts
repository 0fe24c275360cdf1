/**
 * The few file operations a blob write makes, behind a port so that a test can make the disk fail
 * (ENOSPC, EIO) at the byte it chooses, as test/fixtures/failing-blob-fs.ts does. Reads and the start
 * scan use node:fs directly: a failing read is an ordinary stream error, nothing to inject.
 */
import { open, rename, unlink } from 'node:fs/promises'

/** An open in-progress file. */
export interface BlobFile {
  /** Writes all of `bytes` at `position`. */
  write(bytes: Uint8Array, position: number): Promise<void>
  truncate(length: number): Promise<void>
  sync(): Promise<void>
  close(): Promise<void>
}

/** The operations of a write: open the in-progress file, rename it into place, fsync a directory. */
export interface BlobFs {
  /** Opens `path` for writing, creating it if absent, keeping its bytes if present. */
  openForWrite(path: string): Promise<BlobFile>
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  /** fsync of a directory, so a rename in it survives a crash. */
  syncDir(dir: string): Promise<void>
}

/** The real disk. */
export const nodeBlobFs: BlobFs = {
  async openForWrite(path) {
    // 'a+' would force every write to the end; 'r+' cannot create: create first, then reopen r+.
    await (await open(path, 'a', 0o600)).close()
    const fh = await open(path, 'r+')
    return {
      async write(bytes, position) {
        let done = 0
        while (done < bytes.length) {
          const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done)
          done += bytesWritten
        }
      },
      truncate: (length) => fh.truncate(length),
      sync: () => fh.sync(),
      close: () => fh.close(),
    }
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(dir) {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  },
}
