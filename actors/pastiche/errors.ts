/**
 * The store's and the tar codec's named failures. Each is one of crux's named errors (so the gRPC edge
 * maps it to a status by its code) and a class of its own (so a caller tells them apart by
 * `instanceof`, never by words). Messages are one line, fit to print after `crux: `.
 */
import {
  AbortedError,
  DataLossError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  ResourceExhaustedError,
  UnavailableError,
} from '../../runtime/errors.js'

/** A blob name that is not `sha256:<64 lower-case hex>`. */
export class BadHashError extends InvalidArgumentError {
  constructor(hash: unknown, why: string) {
    const shown = typeof hash === 'string' ? JSON.stringify(hash.length > 80 ? `${hash.slice(0, 80)}…` : hash) : String(hash)
    super(`bad blob hash ${shown}: ${why}`, { details: { why } })
    this.name = 'BadHashError'
  }
}

/** The bytes written do not hash to the name they were sent under; nothing was kept. */
export class HashMismatchError extends DataLossError {
  constructor(expected: string, got: string, bytes: number) {
    super(`blob ${expected}: the ${bytes} bytes received hash to ${got}; nothing kept`, { details: { expected, got, bytes } })
    this.name = 'HashMismatchError'
  }
}

/** No blob of that name in the store. */
export class BlobNotFoundError extends NotFoundError {
  constructor(hash: string) {
    super(`blob ${hash} is not in the store`, { details: { hash } })
    this.name = 'BlobNotFoundError'
  }
}

/** Another write of the same blob is under way; this one was refused before it wrote anything. */
export class BlobBusyError extends AbortedError {
  constructor(hash: string) {
    super(`blob ${hash} is already being written; retry once that write ends`, { details: { hash } })
    this.name = 'BlobBusyError'
  }
}

/** A resume asked for an offset the kept partial bytes cannot continue from. */
export class ResumeOffsetError extends OutOfRangeError {
  constructor(hash: string, offset: number, kept: number) {
    super(`blob ${hash}: cannot resume at byte ${offset}, ${kept} bytes are kept`, { details: { hash, offset, kept } })
    this.name = 'ResumeOffsetError'
  }
}

/**
 * The store's size bound cannot take the write: even after evicting every blob that may be evicted
 * (not pinned, reserved or being read) it would pass `limitBytes`. Nothing of the write was kept.
 */
export class StoreFullError extends ResourceExhaustedError {
  constructor(needed: number, used: number, limit: number, hash?: string) {
    super(`blob store full: ${needed} more bytes do not fit (${used} of ${limit} used by blobs that cannot be evicted)${hash === undefined ? '' : ` writing ${hash}`}`, { details: { needed, used, limit, ...(hash === undefined ? {} : { hash }) } })
    this.name = 'StoreFullError'
  }
}

/** The disk refused a write (ENOSPC, EIO, EDQUOT…): the write failed and nothing of it was kept. */
export class DiskWriteError extends UnavailableError {
  readonly errno: string | undefined

  constructor(what: string, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code
    super(`${what}: ${errno ?? (cause instanceof Error ? cause.message : String(cause))}; nothing kept`, { cause, details: { errno } })
    this.name = 'DiskWriteError'
    this.errno = errno
  }
}

/** A tar that cannot be packed or unpacked (corrupt, truncated, unsafe, or a tree with a symlink). */
export class TarError extends InvalidArgumentError {
  constructor(message: string) {
    super(message)
    this.name = 'TarError'
  }
}
