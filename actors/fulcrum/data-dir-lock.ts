/**
 * One owner per data dir (docs/RUNTIME.md "The data dir"). Two fulcrums on one data dir take the same
 * node id: the flock is renamed, leadership moves to the duplicate, and it recovers only after one
 * dies. So a fulcrum locks its data dir before it reads or writes anything else in it.
 *
 * The lock is the file `DIR/lock`, holding its owner: pid, host, boot id and the process's start time
 * (/proc/<pid>/stat) and a random nonce. It is made whole in a private file and linked into place:
 * link(2) fails if the name exists, so of two simultaneous starts exactly one wins, and no reader ever
 * sees a half-written lock. A lock whose owner is gone (kill -9, a crash, a reboot) is stale: its pid
 * is not alive, or is alive but started at another time (the pid was reused), or the boot differs.
 * Taking over a stale lock goes through a breaker file named after that lock's nonce, made with the
 * same link(2): only its one holder may remove that lock, and only after reading it again.
 */
import { linkSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { InvalidArgumentError, UnavailableError } from '../../runtime/errors.js'
import { makeDir } from '../../runtime/make-dir.js'

/** Who holds a lock. */
export interface LockOwner {
  pid: number
  host: string
  /** /proc/sys/kernel/random/boot_id, '' where there is none. */
  boot: string
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot), '' where there is none. */
  start: string
  nonce: string
}

/** A held lock. */
export interface DataDirLock {
  readonly file: string
  readonly owner: LockOwner
  /** Removes the lock if it is still this one. Idempotent. */
  release(): void
}

/** What the operating system says about processes; replaced in tests. */
export interface ProcessProbe {
  /** Whether `pid` is a running process. */
  alive(pid: number): boolean
  /** Start time of `pid` ('' when unknown). */
  startOf(pid: number): string
  boot(): string
  host(): string
  pid(): number
}

const readOr = (file: string, fallback: string): string => {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return fallback
  }
}

/** The running system, through /proc where there is one. */
export const systemProbe: ProcessProbe = {
  alive(pid) {
    try {
      process.kill(pid, 0)
      return true
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' // alive, owned by another user
    }
  },
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  startOf: (pid) => readOr(`/proc/${pid}/stat`, '').split(')').pop()!.trim().split(' ')[19] ?? '',
  boot: () => readOr('/proc/sys/kernel/random/boot_id', '').trim(),
  host: () => hostname(),
  pid: () => process.pid,
}

/** Why `owner` (read from a lock) no longer holds it, or null when it may still. */
export function staleBecause(owner: LockOwner, sys: ProcessProbe): string | null {
  if (owner.host !== sys.host()) return null // another host's process: nothing here can tell
  if (owner.boot !== '' && sys.boot() !== '' && owner.boot !== sys.boot()) return 'the host rebooted since'
  if (!sys.alive(owner.pid)) return `pid ${owner.pid} is not running`
  const now = sys.startOf(owner.pid)
  if (owner.start !== '' && now !== '' && now !== owner.start) return `pid ${owner.pid} is now another process`
  return null
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>
    // The nonce names breaker files and the pid is signalled: anything else is not a lock of ours.
    if (!Number.isSafeInteger(o.pid) || o.pid! <= 0 || typeof o.host !== 'string' || typeof o.nonce !== 'string' || !/^[0-9a-f]{1,64}$/.test(o.nonce)) return null
    return { pid: o.pid!, host: o.host, boot: typeof o.boot === 'string' ? o.boot : '', start: typeof o.start === 'string' ? o.start : '', nonce: o.nonce }
  } catch {
    return null
  }
}

const code = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? 'error'

/** Options of {@link lockDataDir}. */
export interface LockOptions {
  /** Told when a stale lock was taken over, and why it was stale. */
  onStale?: (previous: LockOwner, why: string) => void
  probe?: ProcessProbe
}

/**
 * Makes `dir` if needed and locks it. Throws {@link UnavailableError} `data dir DIR is in use by pid N`
 * when a live process holds it, or when the lock cannot be written there (a failure, exit 1), and
 * {@link InvalidArgumentError} when the dir cannot be made (a wrong path, exit 2).
 */
export function lockDataDir(dir: string, options: LockOptions = {}): DataDirLock {
  const sys = options.probe ?? systemProbe
  const unusable = (err: unknown) => new InvalidArgumentError(`cannot use data dir ${dir} (${code(err)})`)
  try {
    makeDir(dir)
  } catch (err) {
    throw unusable(err)
  }
  const file = join(dir, 'lock')
  const pid = sys.pid()
  const owner: LockOwner = { pid, host: sys.host(), boot: sys.boot(), start: sys.startOf(pid), nonce: Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('hex') }
  // Written whole under a name of our own, then linked into place: the lock is never seen half-written.
  const mine = join(dir, `lock.${owner.nonce}.new`)
  try {
    writeFileSync(mine, JSON.stringify(owner) + '\n', { flag: 'wx', mode: 0o600 })
  } catch (err) {
    throw new UnavailableError(`cannot lock data dir ${dir} (${code(err)})`)
  }
  try {
    // A few rounds: a lock can vanish between our link and our read (its owner stopping), or a takeover race be lost.
    for (let round = 0; round < 20; round++) {
      if (tryLink(mine, file)) return held(file, owner)
      const text = readOr(file, '')
      const other = parseOwner(text)
      if (other === null) {
        // Absent again (released meanwhile), or not a lock we can read: never overwrite what we cannot read.
        if (text === '' && !existsNow(file)) continue
        throw new UnavailableError(`data dir ${dir} holds a lock file ${file} that is not crux's; remove it if no fulcrum uses this dir`)
      }
      const why = staleBecause(other, sys)
      if (why === null) throw new UnavailableError(`data dir ${dir} is in use by pid ${other.pid}${other.host === owner.host ? '' : ` on host ${other.host} (remove ${file} if that process is gone)`}`)
      if (breakStale(file, other, mine, sys)) options.onStale?.(other, why)
      else pause(5 * (round + 1)) // another start is taking it over: let it finish, then read its lock
    }
    throw new UnavailableError(`data dir ${dir}: could not take its lock (other fulcrums keep starting on it)`)
  } finally {
    rmSync(mine, { force: true })
  }
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to)
    return true
  } catch (err) {
    if (code(err) === 'EEXIST') return false
    throw new UnavailableError(`cannot lock data dir ${dirname(to)} (${code(err)})`)
  }
}

/** Blocks for `ms`: start-up is synchronous here, and only a lost takeover race waits. */
const pause = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

const existsNow = (file: string): boolean => {
  try {
    statSync(file)
    return true
  } catch {
    return false
  }
}

/**
 * Removes `file`, held by the stale `stale`, if we are the one allowed to: the holder of its breaker
 * file. The file is read again under the breaker, as a faster taker may already have replaced it.
 * Returns whether it was removed. The breaker goes once done: a late taker of the same breaker then
 * reads another lock. A breaker left by a taker that died on the way is broken the same way.
 */
function breakStale(file: string, stale: LockOwner, mine: string, sys: ProcessProbe, depth = 0): boolean {
  const breaker = `${file}.${stale.nonce}.break`
  if (!tryLink(mine, breaker)) {
    // The breaker is a link of its taker's own lock file: it names the taker.
    const taker = parseOwner(readOr(breaker, ''))
    if (taker !== null && depth < 3 && staleBecause(taker, sys) !== null) breakStale(breaker, taker, mine, sys, depth + 1)
    return false
  }
  try {
    if (parseOwner(readOr(file, ''))?.nonce !== stale.nonce) return false
    unlinkSync(file)
    return true
  } finally {
    rmSync(breaker, { force: true })
  }
}

/** Locks held by this process, released however it ends short of kill -9 (an error, process.exit). */
const heldHere = new Set<() => void>()
let onExit: (() => void) | undefined

function held(file: string, owner: LockOwner): DataDirLock {
  let released = false
  const release = () => {
    if (released) return
    released = true
    heldHere.delete(release)
    // Only our own: after a takeover race lost to a faster process, the file is someone else's.
    if (parseOwner(readOr(file, ''))?.nonce === owner.nonce) rmSync(file, { force: true })
  }
  heldHere.add(release)
  if (onExit === undefined) process.on('exit', (onExit = () => [...heldHere].forEach((r) => r())))
  return { file, owner, release }
}
