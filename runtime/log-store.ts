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
 * A failed write (EMFILE, ENOSPC, EIO) fails every sync waiting on it, and the store stays failed
 * until a rewrite of each log it hit succeeds: tried again at the next put or sync. Never appended to
 * after a failure, a log cannot hold a torn line in its middle, which loading would call damage.
 */
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DataDirError, InvalidArgumentError, UnavailableError } from './errors.js'
import { LatencyHistogram } from './latency.js'
import type { Store } from './store.js'

interface ActorLog {
  file: string
  fd: number
  values: Map<string, string>
  lines: number
  /** Lines put but not yet written. */
  buffered: string[]
  /** A write to it failed, perhaps halfway through a line: only a rewrite whole may follow. */
  damaged: boolean
}

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
    if (text === undefined) log.values.delete(key)
    else log.values.set(key, text)
    log.buffered.push(text === undefined ? `{"k":${JSON.stringify(key)}}\n` : `{"k":${JSON.stringify(key)},"v":${text}}\n`)
    log.lines++
    this.counters.puts++
    this.schedule()
  }

  get(actor: string, key: string): unknown {
    const v = this.open(actor).values.get(key)
    return v === undefined ? undefined : JSON.parse(v)
  }

  keys(actor: string): string[] {
    return [...this.open(actor).values.keys()].sort()
  }

  /** Every live value of `actor` whose key starts with `prefix`, in key order. */
  values(actor: string, prefix = ''): unknown[] {
    const log = this.open(actor)
    return [...log.values.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((k) => JSON.parse(log.values.get(k)!))
  }

  /**
   * Resolves once every put made before the call is on disk. `alone`: the caller knows nobody else is
   * waiting (a sequential client), so the flush is done here and now, sparing the thread pool's round
   * trip; with others waiting, one flush on the pool serves them all.
   */
  sync(alone = false): Promise<void> {
    if (!this.recover()) return Promise.reject(this.broken)
    if (alone && !this.flushing && this.waiters.length === 0) {
      const batch = this.takeBuffered()
      const started = performance.now()
      for (const [log, text] of batch) {
        try {
          writeOut(log.fd, text)
          fdatasyncSync(log.fd)
        } catch (err) {
          // The logs after this one lost their lines from the buffer too: all are rewritten on recovery.
          for (const [l] of batch) l.damaged = true
          return Promise.reject(this.fail('write', log, err))
        }
      }
      this.counters.syncs++
      this.syncLatency.since(started)
      return Promise.resolve()
    }
    let pending = false
    for (const log of this.logs.values()) if (log.buffered.length > 0) pending = true
    if (!pending && !this.flushing) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      this.schedule()
    })
  }

  /**
   * Writes what is buffered, synchronously (shutdown), and closes the files. A write the disk refuses
   * here is reported, not thrown: what it held was never acknowledged as durable.
   */
  close(): void {
    if (this.recover()) {
      for (const [log, text] of this.takeBuffered()) {
        try {
          writeOut(log.fd, text)
          fsyncSync(log.fd)
        } catch (err) {
          this.fail('write', log, err)
        }
      }
    }
    for (const log of this.logs.values()) {
      if (log.fd >= 0) closeSync(log.fd)
    }
    this.logs.clear()
    const err = this.broken
    for (const w of this.waiters.splice(0)) err === null ? w.resolve() : w.reject(err)
  }

  private open(actor: string): ActorLog {
    let log = this.logs.get(actor)
    if (log !== undefined) return log
    const file = join(this.dir, fileName(actor))
    const values = new Map<string, string>()
    let lines = 0
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const rows = text.split('\n')
    // The last element is '' after a complete final line; anything else there is a torn write.
    for (let i = 0; i < rows.length - 1; i++) {
      let row: unknown
      try {
        row = JSON.parse(rows[i]!)
      } catch {
        throw new DataDirError(file, `damaged at line ${i + 1} of ${rows.length - 1} (not JSON)`)
      }
      // Only a put writes here: {"k": key} or {"k": key, "v": value}, nothing else.
      if (typeof row !== 'object' || row === null || Array.isArray(row) || typeof (row as { k?: unknown }).k !== 'string' || Object.keys(row).some((f) => f !== 'k' && f !== 'v')) {
        throw new DataDirError(file, `damaged at line ${i + 1} of ${rows.length - 1} (not a {"k","v"} record)`)
      }
      const { k, v } = row as { k: string; v?: unknown }
      if (v === undefined) values.delete(k)
      else values.set(k, JSON.stringify(v))
      lines++
    }
    const tail = rows[rows.length - 1]!
    const torn = tail !== ''
    if (torn) this.options.onRepair?.(file, `dropped a torn last line (${Buffer.byteLength(tail)} bytes, no newline: a write cut short, never acknowledged)`)
    log = { file, fd: -1, values, lines, buffered: [], damaged: false }
    this.logs.set(actor, log)
    // A torn tail is dropped by rewriting the log whole; otherwise keep appending to it.
    if (torn) this.compact(log)
    else log.fd = openSync(file, 'a', 0o600)
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
  private takeBuffered(): Array<[ActorLog, string]> {
    const batch: Array<[ActorLog, string]> = []
    for (const log of this.logs.values()) {
      if (log.buffered.length === 0) continue
      batch.push([log, log.buffered.join('')])
      log.buffered = []
    }
    return batch
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
          if (log.lines > 1_000 && log.lines > 2 * log.values.size) this.compact(log)
        } catch (err) {
          return void this.fail('rewrite', log, err)
        }
      }
      if (this.waiters.length > 0 || [...this.logs.values()].some((l) => l.buffered.length > 0)) this.schedule()
    }
    for (const [log, text] of batch) {
      // Into the page cache at once (microseconds); only the flush to disk goes to the thread pool,
      // while the main thread takes the next calls.
      try {
        writeOut(log.fd, text)
      } catch (err) {
        done(err, log)
        continue
      }
      fdatasync(log.fd, (err) => done(err, log))
    }
  }

  /** Rewrites the log as one line per live key. */
  private compact(log: ActorLog): void {
    const tmp = `${log.file}.tmp-${process.pid}`
    const fd = openSync(tmp, 'w', 0o600)
    try {
      let text = ''
      for (const [k, v] of log.values) text += `{"k":${JSON.stringify(k)},"v":${v}}\n`
      writeSync(fd, text)
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
    // Not left naming a closed file should the open fail (EMFILE): the next rewrite must not close it again.
    log.fd = -1
    log.fd = openSync(log.file, 'a', 0o600)
    log.lines = log.values.size
    log.buffered = []
    this.counters.compactions++
  }
}

/** All of `text`, or a throw: a short write (a full disk) must not pass for a durable one. */
function writeOut(fd: number, text: string): void {
  if (writeSync(fd, text) !== Buffer.byteLength(text)) throw Object.assign(new Error('short write'), { code: 'ENOSPC' })
}

/** Closes a descriptor a failed write may have left unusable (EBADF, EIO): it is being replaced. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // Nothing to keep from it: the log is rewritten whole from memory.
  }
}
