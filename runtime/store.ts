/**
 * Where `persist` effects land. A store maps (actor, key) to a JSON value. The file store writes each
 * value atomically — temp file, fsync, rename, fsync of the directory — so a crash at any instant
 * leaves either the old value or the new one, never a torn file; that is what lets a restarted node
 * trust its checkpoint.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DataDirError, InvalidArgumentError } from './errors.js'
import type { PersistPort } from './host.js'
import { LatencyHistogram } from './latency.js'

/** A persist port that can also read back what it holds. */
export interface Store extends PersistPort {
  get(actor: string, key: string): unknown
  /** Every key stored for `actor`, sorted. */
  keys(actor: string): string[]
}

/** In memory: tests and the simulator. Values are JSON-cloned, as a file store would. */
export class MemoryStore implements Store {
  private readonly data = new Map<string, Map<string, string>>()

  put(actor: string, key: string, value: unknown): void {
    let m = this.data.get(actor)
    if (m === undefined) this.data.set(actor, (m = new Map()))
    m.set(key, JSON.stringify(value ?? null))
  }

  get(actor: string, key: string): unknown {
    const v = this.data.get(actor)?.get(key)
    return v === undefined ? undefined : JSON.parse(v)
  }

  keys(actor: string): string[] {
    return [...(this.data.get(actor)?.keys() ?? [])].sort()
  }
}

/** Keys and actor ids become file names; refuse anything that could escape the directory. */
function safeName(kind: string, s: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@~-]{0,127}$/.test(s) || s.includes('..')) {
    throw new InvalidArgumentError(`${kind} ${JSON.stringify(s)} is not a safe store name (letters, digits, . _ : @ ~ -; at most 128)`)
  }
  return s
}

/** One directory per actor (`/` in ids becomes `~`), one `<key>.json` per key. */
export class FileStore implements Store {
  private seq = 0
  /** How long each put took to be durable: write, fsync, rename, fsync of the directory (for `/metrics`). */
  readonly putLatency = new LatencyHistogram()

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  }

  put(actor: string, key: string, value: unknown): void {
    const started = performance.now()
    const dir = this.actorDir(actor)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const file = join(dir, `${safeName('key', key)}.json`)
    const tmp = `${file}.tmp-${process.pid}-${this.seq++}`
    const fd = openSync(tmp, 'w', 0o600)
    try {
      writeSync(fd, JSON.stringify(value ?? null) + '\n')
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
    const dfd = openSync(dir, 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
    this.putLatency.since(started)
  }

  /** The file holding `actor`'s `key` (present or not), for errors that name it. */
  fileOf(actor: string, key: string): string {
    return join(this.actorDir(actor), `${safeName('key', key)}.json`)
  }

  get(actor: string, key: string): unknown {
    const file = this.fileOf(actor, key)
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      return JSON.parse(text)
    } catch {
      // Values are written whole (temp file, rename): a crash cannot cut one short, so this is damage.
      throw new DataDirError(file, 'not valid JSON')
    }
  }

  keys(actor: string): string[] {
    try {
      return readdirSync(this.actorDir(actor))
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
        .sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }

  private actorDir(actor: string): string {
    // `~` stands for `/` on disk, so an id containing `~` itself would alias another actor's directory.
    if (actor.includes('~')) throw new InvalidArgumentError(`actor id ${JSON.stringify(actor)} may not contain "~"`)
    return join(this.dir, safeName('actor id', actor.replaceAll('/', '~')))
  }
}
