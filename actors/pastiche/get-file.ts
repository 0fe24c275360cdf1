/**
 * A download to a file, verified as it arrives: the bytes go to `<path>.part-<pid>` while they are
 * hashed, and are renamed to `path` only once the hash is the blob's name (a mismatch deletes them:
 * DATA_LOSS). When the stream breaks, the download goes on from the bytes it has, at most `retries`
 * times in a row without progress; the hash state carries over, so no byte is read twice.
 */
import { createHash } from 'node:crypto'
import { open, rename, unlink } from 'node:fs/promises'
import { Code, CruxError, DataLossError } from '../../runtime/errors.js'
import type { PasticheClient } from './client.js'
import { parseHash } from './hash.js'

export interface GetFileOptions {
  /** Breaks survived in a row without a byte of progress before giving up. Default 3. */
  retries?: number
  /** A stream that says nothing this long is cut and resumed, ms. Default 30 000. */
  stallMs?: number
  /** Called as bytes land: (bytes so far, total). */
  onProgress?(done: number, total: number): void
}

/** Whether a failed stream is worth resuming: a break, a stall, a restart of the server. */
const transient = (err: CruxError) => err.code === Code.UNAVAILABLE || err.code === Code.DEADLINE_EXCEEDED || err.code === Code.INTERNAL || err.code === Code.CANCELLED || err.code === Code.UNKNOWN

/** Writes blob `hash` from `client` to `path`; resolves with its size and how many resumes it took. */
export async function getToFile(client: PasticheClient, hash: string, path: string, o: GetFileOptions = {}): Promise<{ hash: string; bytes: number; resumes: number }> {
  parseHash(hash)
  const part = `${path}.part-${process.pid}`
  const fh = await open(part, 'w', 0o644)
  const hasher = createHash('sha256')
  let at = 0
  let total = 0
  let resumes = 0
  let failedInARow = 0
  try {
    for (;;) {
      const before = at
      try {
        for await (const m of client.get(hash, { offset: at, stallMs: o.stallMs ?? 30_000 })) {
          if (m.offset !== at) throw new DataLossError(`${client.address} sent bytes at ${m.offset}, ${at} expected`)
          if (m.total !== 0 || at === 0) total = m.total
          if (m.data.length > 0) {
            const written = fh.write(m.data, 0, m.data.length, at)
            hasher.update(m.data)
            await written
            at += m.data.length
          }
          o.onProgress?.(at, total)
        }
        break
      } catch (err) {
        const e = CruxError.from(err)
        failedInARow = at > before ? 1 : failedInARow + 1
        if (!transient(e) || failedInARow > (o.retries ?? 3)) throw e
        resumes++
      }
    }
    await fh.sync()
    await fh.close()
    const got = `sha256:${hasher.digest('hex')}`
    if (got !== hash) throw new DataLossError(`blob ${hash} from ${client.address}: the ${at} bytes received hash to ${got}; nothing kept`)
    await rename(part, path)
    return { hash, bytes: at, resumes }
  } catch (err) {
    await fh.close().catch(() => undefined)
    await unlink(part).catch(() => undefined)
    throw err
  }
}
