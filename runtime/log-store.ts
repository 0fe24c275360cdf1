/**
 * A store for many small keys that change often (a reeve's registrations): one append-only log per
 * actor, one JSON line per put, and group commit — every put of a turn goes out in one write and one
 * fdatasync, and {@link LogStore.sync} resolves once everything put before it is on disk. So a
 * request is answered after its change is durable without paying a rename and two fsyncs per key, as
 * the file store does.
 *
 * Crash safety: a kill -9 can tear only the last line, and a torn last line is dropped on load (it was
 * never synced, so it was never acknowledged) and reported to `onRepair`. Any other bad line is
 * damage, and loading refuses it with a {@link DataDirError} naming the file and the line.
 * When the log holds more than twice the live keys (and over 1 000 lines), it is rewritten whole:
 * temp file, fsync, rename, fsync of the directory.
 *
 * Memory: a value lives on disk once written. The store keeps each live key and where its last line
 * is in the log (offset and length, one number), and reads the line back for `get`, `values` and a
 * rewrite; only lines not yet written (or refused by the disk) are held as text. A reeve's 20 000
 * registrations held ≈ 11 MB as JSON text besides the reeve's own copy in its context; as
 * locations, ≈ 3 MB (the keys).
 *
 * Preallocation: a log grows in zero-filled steps of {@link PREALLOC_BYTES} written ahead of its
 * lines, as etcd's WAL does, so a put's fdatasync flushes the line's block and nothing of the file's
 * metadata: 0.3 ms here instead of 4 ms for an append that grows the file (ext4 on this machine's
 * virtual disk). The log's end is its first zero byte (JSON lines hold none); a clean close cuts the
 * zeros off.
 *
 * A failed write (EMFILE, ENOSPC, EIO) fails every sync waiting on it, and the store stays failed
 * until a rewrite of each log it hit succeeds: tried again at the next put or sync. Never appended to
 * after a failure, a log cannot hold a torn line in its middle, which loading would call damage.
 */
import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DataDirError, InvalidArgumentError, UnavailableError } from './errors.js'
import { LatencyHistogram } from './latency.js'
import type { Store } from './store.js'

interface ActorLog {
  file: string
  /** Lines are written here, each at the log's end (positioned writes into the zero-filled tail). */
  fd: number
  /** Bytes the file holds: the log, then zeros written ahead for the next lines. */
  allocated: number
  /** Lines are read back through this one: it keeps the file it was opened on, even if that is unlinked. */
  rfd: number
  /** Bytes of the log known written whole: every location points below this. */
  size: number
  /** Each live key: its line's location in the file ({@link locate}), or the line itself while not written. */
  live: Map<string, number | string>
  lines: number
  /** Lines put but not yet written, and their keys. */
  buffered: string[]
  bufferedKeys: string[]
  /** A write to it failed, perhaps halfway through a line: only a rewrite whole may follow. */
  damaged: boolean
}

/** A line's offset and byte length in one number: exact below 2^53 (offsets under 2 GiB, lines under 4 MiB). */
const LEN_BITS = 2 ** 22
function locate(offset: number, length: number): number | undefined {
  return length < LEN_BITS && offset < 2 ** 31 ? offset * LEN_BITS + length : undefined
}
const offsetOf = (at: number) => Math.floor(at / LEN_BITS)
const lengthOf = (at: number) => at % LEN_BITS

/** Told when the disk refuses a write, and when the store is whole again. */
export interface LogStoreReport {
  failed(err: UnavailableError): void
  recovered(): void
}

/** Actor ids become file names: `/` is `~`, anything else unsafe is refused. */
function fileName(actor: string): string {
  if (actor.includes('~') || !/^[A-Za-z0-9/][A-Za-z0-9._:@/-]{0,127}$/.test(actor) || actor.includes('..')) {
    throw new InvalidArgumentError(`actor id ${JSON.stringify(actor)} is not a safe store name`)
  }
  return `${actor.replaceAll('/', '~')}.log`
}

/** What a log store tells its owner. */
export interface LogStoreOptions extends Partial<LogStoreReport> {
  /** A log was repaired on load (a torn last line dropped): for a warning naming the file. */
  onRepair?(file: string, what: string): void
}

export class LogStore implements Store {
  private readonly logs = new Map<string, ActorLog>()
  private waiters: Array<{ resolve(): void; reject(err: Error): void }> = []
  /** A write or sync failed: nothing put since can be promised durable. */
  private broken: UnavailableError | null = null
  private flushing = false
  private scheduled = false
  /** Writes and syncs done, for tests and metrics. */
  readonly counters = { puts: 0, syncs: 0, compactions: 0, failures: 0, recoveries: 0 }
  /** How long each group commit took, from its first write to its last fdatasync (for `/metrics`). */
  readonly syncLatency = new LatencyHistogram()

  constructor(
    readonly dir: string,
    private readonly options: LogStoreOptions = {},
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  }

  /** The file holding `actor`'s log (loaded or not), for errors that name it. */
  fileOf(actor: string): string {
    return join(this.dir, fileName(actor))
  }

  /** Stores `value` under `key`; `null` or `undefined` deletes it. Durable once {@link sync} resolves. */
  put(actor: string, key: string, value: unknown): void {
    const log = this.open(actor)
    const text = value === undefined || value === null ? undefined : JSON.stringify(value)
    const line = text === undefined ? `{"k":${JSON.stringify(key)}}\n` : `{"k":${JSON.stringify(key)},"v":${text}}\n`
    if (text === undefined) log.live.delete(key)
    else log.live.set(key, line)
    log.buffered.push(line)
    log.bufferedKeys.push(key)
    log.lines++
    this.counters.puts++
    this.schedule()
  }

  get(actor: string, key: string): unknown {
    const log = this.open(actor)
    const at = log.live.get(key)
    if (at === undefined) return undefined
    return typeof at === 'string' ? valueOf(log, key, at) : valueOf(log, key, readRange(log.rfd, offsetOf(at), lengthOf(at)).toString('utf8'))
  }

  keys(actor: string): string[] {
    return [...this.open(actor).live.keys()].sort()
  }

  /** Every live value of `actor` whose key starts with `prefix`, in key order (the log read once). */
  values(actor: string, prefix = ''): unknown[] {
    const log = this.open(actor)
    const keys = [...log.live.keys()].filter((k) => k.startsWith(prefix)).sort()
    if (keys.length === 0) return []
    const data = readRange(log.rfd, 0, log.size)
    return keys.map((k) => valueOf(log, k, lineOf(log.live.get(k)!, data)))
  }

  /** Characters (≈ bytes) of lines held in memory as text (not yet written, or refused by the disk): 0 once all is written. */
  heldBytes(actor: string): number {
    let n = 0
    for (const at of this.open(actor).live.values()) if (typeof at === 'string') n += at.length
    return n
  }

  /**
   * Resolves once every put made before the call is on disk. `alone`: the caller knows nobody else is
   * waiting (a sequential client), so the flush is done here and now ({@link syncNow}), sparing the
   * thread pool's round trip; with others waiting, one flush on the pool serves them all.
   */
  sync(alone = false): Promise<void> {
    if (alone) {
      try {
        if (this.syncNow()) return Promise.resolve()
      } catch (err) {
        return Promise.reject(err as Error)
      }
    } else if (!this.recover()) return Promise.reject(this.broken)
    let pending = false
    for (const log of this.logs.values()) if (log.buffered.length > 0) pending = true
    if (!pending && !this.flushing) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      this.schedule()
    })
  }

  /**
   * Writes and fdatasyncs what is buffered here and now, on this thread: true once every put made
   * before the call is on disk; false when a flush is on the pool or others wait for one (then
   * {@link sync}, which joins them). Throws the store's {@link UnavailableError} when the disk refuses
   * (or refused and the log cannot be rewritten yet). No promise: an answer can go out in the same turn.
   */
  syncNow(): boolean {
    if (!this.recover()) throw this.broken!
    if (this.flushing || this.waiters.length > 0) return false
    const batch = this.takeBuffered()
    const started = performance.now()
    for (const [log, text, lines] of batch) {
      try {
        this.append(log, text, lines)
        fdatasyncSync(log.fd)
      } catch (err) {
        // The logs after this one lost their lines from the buffer too: all are rewritten on recovery.
        for (const [l] of batch) l.damaged = true
        throw this.fail('write', log, err)
      }
    }
    this.counters.syncs++
    this.syncLatency.since(started)
    return true
  }

  /**
   * Writes what is buffered, synchronously (shutdown), and closes the files. A write the disk refuses
   * here is reported, not thrown: what it held was never acknowledged as durable.
   */
  close(): void {
    if (this.recover()) {
      for (const [log, text, lines] of this.takeBuffered()) {
        try {
          this.append(log, text, lines)
          fsyncSync(log.fd)
        } catch (err) {
          this.fail('write', log, err)
        }
      }
    }
    for (const log of this.logs.values()) {
      if (log.fd >= 0) {
        // A clean close leaves the log as lines only: the zeros written ahead are cut off.
        if (!log.damaged && log.allocated > log.size) {
          try {
            ftruncateSync(log.fd, log.size)
          } catch {
            // The zeros stay: loading reads the log to its first zero byte anyway.
          }
        }
        closeSync(log.fd)
      }
      if (log.rfd >= 0) closeSync(log.rfd)
    }
    this.logs.clear()
    const err = this.broken
    for (const w of this.waiters.splice(0)) err === null ? w.resolve() : w.reject(err)
  }

  private open(actor: string): ActorLog {
    let log = this.logs.get(actor)
    if (log !== undefined) return log
    const file = join(this.dir, fileName(actor))
    const live = new Map<string, number | string>()
    let lines = 0
    let rfd = -1
    let data: Buffer = Buffer.alloc(0)
    try {
      rfd = openSync(file, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (rfd >= 0) data = readRange(rfd, 0, -1)
    const allocated = data.length
    // The log ends at its first zero byte: what follows was written ahead (zeros), or, after a power
    // loss, bytes of lines never acknowledged; either way not the log.
    const zero = data.indexOf(0)
    const beyond = zero >= 0 && data.subarray(zero).some((b) => b !== 0)
    if (zero >= 0) data = data.subarray(0, zero)
    const count = countLines(data)
    // Each complete line ends in a newline; bytes after the last one are a torn write.
    let start = 0
    for (let end = data.indexOf(10); end >= 0; start = end + 1, end = data.indexOf(10, start)) {
      const text = data.toString('utf8', start, end)
      let row: unknown
      try {
        row = JSON.parse(text)
      } catch {
        closeQuietly(rfd)
        throw new DataDirError(file, `damaged at line ${lines + 1} of ${count} (not JSON)`)
      }
      // Only a put writes here: {"k": key} or {"k": key, "v": value}, nothing else.
      if (typeof row !== 'object' || row === null || Array.isArray(row) || typeof (row as { k?: unknown }).k !== 'string' || Object.keys(row).some((f) => f !== 'k' && f !== 'v')) {
        closeQuietly(rfd)
        throw new DataDirError(file, `damaged at line ${lines + 1} of ${count} (not a {"k","v"} record)`)
      }
      const { k, v } = row as { k: string; v?: unknown }
      if (v === undefined) live.delete(k)
      else live.set(k, locate(start, end + 1 - start) ?? `${text}\n`)
      lines++
    }
    const torn = start < data.length || beyond
    if (start < data.length) this.options.onRepair?.(file, `dropped a torn last line (${data.length - start} bytes, no newline: a write cut short, never acknowledged)`)
    else if (beyond) this.options.onRepair?.(file, 'dropped bytes after the end of the log (written ahead of a sync that never came, never acknowledged)')
    log = { file, fd: -1, allocated, rfd, size: start, live, lines, buffered: [], bufferedKeys: [], damaged: false }
    this.logs.set(actor, log)
    // A torn tail is dropped by rewriting the log whole; otherwise keep writing at its end.
    if (torn) this.compact(log)
    else {
      log.fd = openSync(file, rfd >= 0 ? 'r+' : 'w+', 0o600)
      if (log.rfd < 0) log.rfd = openSync(file, 'r')
    }
    return log
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }

  /** What is buffered, per log, taken out of the buffers. */
  private takeBuffered(): Array<[ActorLog, string, Batch]> {
    const batch: Array<[ActorLog, string, Batch]> = []
    for (const log of this.logs.values()) {
      if (log.buffered.length === 0) continue
      batch.push([log, log.buffered.join(''), { lines: log.buffered, keys: log.bufferedKeys }])
      log.buffered = []
      log.bufferedKeys = []
    }
    return batch
  }

  /**
   * Appends a batch, then points its keys at their lines in the file: the text held for them is let
   * go. Throws what the write threw; the text stays held then, for the rewrite that mends the log.
   */
  private append(log: ActorLog, text: string, b: Batch): void {
    const bytes = Buffer.from(text)
    if (log.size + bytes.length > log.allocated) preallocate(log, log.size + bytes.length)
    writeOut(log.fd, bytes, log.size)
    let at = log.size
    for (let i = 0; i < b.lines.length; i++) {
      const line = b.lines[i]!
      const length = Buffer.byteLength(line)
      // Only if this line is still the key's last put (a later one may be buffered already).
      if (log.live.get(b.keys[i]!) === line) {
        const where = locate(at, length)
        if (where !== undefined) log.live.set(b.keys[i]!, where)
      }
      at += length
    }
    log.size = at
  }

  /** The disk refused: the store is broken until {@link recover}, and every caller waiting hears it. */
  private fail(what: 'write' | 'rewrite', log: ActorLog, err: unknown): UnavailableError {
    log.damaged = true
    this.counters.failures++
    if (this.broken === null) {
      this.broken = new UnavailableError(`cannot ${what} the store log ${log.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
      this.options.failed?.(this.broken)
    }
    for (const w of this.waiters.splice(0)) w.reject(this.broken)
    return this.broken
  }

  /** Rewrites every damaged log whole (memory holds every value); true once nothing is broken. */
  private recover(): boolean {
    if (this.broken === null) return true
    for (const log of this.logs.values()) {
      if (!log.damaged) continue
      try {
        this.compact(log)
      } catch {
        return false
      }
      log.damaged = false
    }
    this.broken = null
    this.counters.recoveries++
    this.options.recovered?.()
    return true
  }

  private flush(): void {
    if (!this.recover()) return void this.waiters.splice(0).forEach((w) => w.reject(this.broken!))
    const batch = this.takeBuffered()
    const waiters = this.waiters.splice(0)
    if (batch.length === 0) {
      for (const w of waiters) w.resolve()
      return
    }
    this.flushing = true
    const started = performance.now()
    let left = batch.length
    let failed: { log: ActorLog; err: unknown } | null = null
    const done = (err: unknown, log: ActorLog) => {
      if (err && failed === null) failed = { log, err }
      else if (err) log.damaged = true
      if (--left > 0) return
      this.flushing = false
      if (failed !== null) {
        this.waiters.unshift(...waiters)
        return void this.fail('write', failed.log, failed.err)
      }
      this.counters.syncs++
      this.syncLatency.since(started)
      for (const w of waiters) w.resolve()
      for (const [log] of batch) {
        try {
          if (log.lines > 1_000 && log.lines > 2 * log.live.size) this.compact(log)
        } catch (err) {
          return void this.fail('rewrite', log, err)
        }
      }
      if (this.waiters.length > 0 || [...this.logs.values()].some((l) => l.buffered.length > 0)) this.schedule()
    }
    for (const [log, text, lines] of batch) {
      // Into the page cache at once (microseconds); only the flush to disk goes to the thread pool,
      // while the main thread takes the next calls.
      try {
        this.append(log, text, lines)
      } catch (err) {
        done(err, log)
        continue
      }
      fdatasync(log.fd, (err) => done(err, log))
    }
  }

  /**
   * Rewrites the log as one line per live key: lines already written are copied from the file as
   * they are (read through `rfd`, which still holds them after a failed write or an unlink), held
   * ones from memory; written out in chunks, so no second copy of the log is built in memory.
   */
  private compact(log: ActorLog): void {
    const tmp = `${log.file}.tmp-${process.pid}`
    // Written lines are copied in file order through a window of CHUNK_BYTES, held ones after them:
    // a rewrite never holds the log whole (one buffer the size of the log went to the C heap and
    // stayed there). Order does not matter: after a rewrite each key has one line.
    const written: Array<[string, number]> = []
    const held: Array<[string, string]> = []
    for (const [k, at] of log.live) typeof at === 'string' ? held.push([k, at]) : written.push([k, at])
    written.sort((a, b) => a[1] - b[1])
    const window = createWindow(log.rfd)
    const moved: Array<[string, number]> = []
    let size = 0
    const fd = openSync(tmp, 'w', 0o600)
    try {
      let chunk: Buffer[] = []
      let chunkBytes = 0
      const out = () => {
        writeOut(fd, Buffer.concat(chunk, chunkBytes))
        chunk = []
        chunkBytes = 0
      }
      const add = (k: string, line: Buffer) => {
        const where = locate(size, line.length)
        if (where !== undefined) moved.push([k, where])
        chunk.push(line)
        chunkBytes += line.length
        size += line.length
        if (chunkBytes >= CHUNK_BYTES) out()
      }
      // A line is copied out of the window before the window moves (the chunk holds copies).
      for (const [k, at] of written) add(k, Buffer.from(window.slice(offsetOf(at), lengthOf(at))))
      for (const [k, text] of held) add(k, Buffer.from(text))
      if (chunkBytes > 0) out()
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, log.file)
    const dfd = openSync(this.dir, 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
    if (log.fd >= 0) closeQuietly(log.fd)
    if (log.rfd >= 0) closeQuietly(log.rfd)
    // Not left naming a closed file should an open fail (EMFILE): the next rewrite must not close it again.
    log.fd = -1
    log.rfd = -1
    log.rfd = openSync(log.file, 'r')
    log.fd = openSync(log.file, 'r+', 0o600)
    log.allocated = size
    // The new file is in place: every key now points into it, and no text is held.
    for (const [k, where] of moved) log.live.set(k, where)
    log.size = size
    log.lines = log.live.size
    log.buffered = []
    log.bufferedKeys = []
    this.counters.compactions++
  }
}

/** A rewrite writes this much at a time. */
const CHUNK_BYTES = 64 * 1024

/** Lines of one batch and their keys, in put order. */
interface Batch {
  lines: string[]
  keys: string[]
}

/** Reads of `fd` at rising offsets through one buffer of CHUNK_BYTES (a longer line gets its own). */
function createWindow(fd: number): { slice(position: number, length: number): Buffer } {
  const buf = Buffer.allocUnsafe(CHUNK_BYTES)
  let start = 0
  let end = 0
  return {
    slice(position, length) {
      if (length > CHUNK_BYTES) return readRange(fd, position, length)
      if (position < start || position + length > end) {
        start = position
        end = position
        while (end - start < CHUNK_BYTES) {
          const n = readSync(fd, buf, end - start, CHUNK_BYTES - (end - start), end)
          if (n === 0) break
          end += n
        }
      }
      return buf.subarray(position - start, Math.min(position - start + length, end - start))
    },
  }
}

/** `length` bytes of `fd` from `position` (-1: to the end of the file). */
function readRange(fd: number, position: number, length: number): Buffer {
  if (length < 0) length = fstatSync(fd).size - position
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got)
    if (n === 0) break
    got += n
  }
  return got === length ? buf : buf.subarray(0, got)
}

/** The line a location names, out of the log's bytes (or the line held). */
function lineOf(at: number | string, data: Buffer): string {
  return typeof at === 'string' ? at : data.toString('utf8', offsetOf(at), offsetOf(at) + lengthOf(at))
}

/** The value of `key`'s line; a line naming another key means the file changed under the store. */
function valueOf(log: ActorLog, key: string, line: string): unknown {
  let row: { k?: unknown; v?: unknown }
  try {
    row = JSON.parse(line) as { k?: unknown; v?: unknown }
  } catch {
    throw new DataDirError(log.file, 'changed on disk while the store had it open (a line is not JSON)')
  }
  if (row.k !== key) throw new DataDirError(log.file, 'changed on disk while the store had it open (a line moved)')
  return row.v
}

/** Complete lines in a log's bytes, for errors naming a line "of N". */
function countLines(data: Buffer): number {
  let n = 0
  for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) n++
  return n
}

/** All of `bytes` (at `position`, or where the descriptor is), or a throw: a short write (a full disk) must not pass for a durable one. */
function writeOut(fd: number, bytes: Buffer, position?: number): void {
  const n = position === undefined ? writeSync(fd, bytes, 0, bytes.length) : writeSync(fd, bytes, 0, bytes.length, position)
  if (n !== bytes.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' })
}

/** A log's file grows in steps of this many zero bytes, written ahead of its lines. */
export const PREALLOC_BYTES = 4 * 1024 * 1024
const ZEROS = Buffer.alloc(64 * 1024)

/**
 * Zero-fills the file from its end to past `needed`, in whole steps: blocks written now (not a hole
 * a later write would have to allocate), so the fdatasync of a line written into them has no
 * metadata to flush. The sync after this write pays for the growth once.
 */
function preallocate(log: ActorLog, needed: number): void {
  const to = Math.ceil(needed / PREALLOC_BYTES) * PREALLOC_BYTES
  for (let at = log.allocated; at < to; at += ZEROS.length) writeOut(log.fd, ZEROS.subarray(0, Math.min(ZEROS.length, to - at)), at)
  log.allocated = to
}

/** Closes a descriptor a failed write may have left unusable (EBADF, EIO): it is being replaced. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // Nothing to keep from it: the log is rewritten whole from memory.
  }
}
