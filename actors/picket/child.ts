/**
 * One run of a service: a child process (the default kind) or a worker thread, started on the
 * bootstrap (service-child.mts) and watched until it ends.
 *
 * A child process is confined: its environment is the manifest's `env` and PATH only (nothing of the
 * fulcrum's: no secret travels by environment); it runs in its own working directory; Node's
 * permission model lets it read only its bundle, the bootstrap, its working directory and the
 * package directories of the modules its manifest names (modules.ts: crux's own grpc-js and
 * proto-loader and what they depend on), and write only its working directory (so not `node.key` nor
 * the flock secret in the data dir), and start no process and no worker. Where the system has
 * `setpriv`, the kernel also kills it when the fulcrum dies (PR_SET_PDEATHSIG): the bootstrap exits
 * when its channel closes, but a service stuck in a busy loop would not notice.
 *
 * A worker thread protects much less: it is inside the fulcrum's process, so the permission model
 * does not apply to it — it can read every file the fulcrum can, `node.key` too; only its
 * `process.env` is its own (the manifest's) and its heap is bounded by `memoryMb`. A worker is for
 * trusted code that wants to start fast and share nothing but the process.
 *
 * Both kinds speak the same small protocol (child-messages.ts); what a run says is checked, rate
 * bounded, and handed to hooks; its stdout and stderr are handed on as bounded lines.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Manifest } from '../../machines/picket/types.js'
import { childLine, childMessage, messageBucket, type ChildMessage } from './child-messages.js'
import { splitLines } from './lines.js'
import { resolveModules } from './modules.js'

/** Longest log line handed on, characters (the rest of a longer line is dropped). */
export const MAX_LOG_LINE = 2000
/** Longest channel message taken, characters. */
const MAX_MESSAGE = 1024

export interface SpawnInit {
  run: number
  name: string
  /** The unpacked bundle. */
  bundleDir: string
  /** The service's working directory (made by the caller). */
  workDir: string
  manifest: Manifest
  /** The bootstrap file (bootstrap.ts). */
  bootstrap: string
  /** setpriv's path, to have the kernel kill the child when the fulcrum dies (null: not used). */
  setpriv: string | null
  /** The host the node is reached at: where a service should listen (its `confab.host`). */
  host?: string
}

/** What a run reports; called at most once each for `spawned` and `exited`, `exited` last. */
export interface RunHooks {
  spawned(pid: number | null): void
  message(m: ChildMessage): void
  /** A message dropped: malformed, unknown, or over the rate bound. */
  dropped(why: 'bad' | 'flood'): void
  log(stream: 'stdout' | 'stderr', line: string): void
  exited(code: number | null, signal: string | null, error?: string): void
}

/** A running service, either kind. */
export interface RunHandle {
  readonly kind: Manifest['kind']
  /** Asks it to exit (aborts its `quit`). */
  quit(): void
  /** Ends it now: SIGKILL, or a worker terminated. */
  kill(): void
  /** Sends it an answer (a lookup's), one object. */
  answer(m: object): void
}

let setprivFound: string | null | undefined

/**
 * setpriv where the system has it (util-linux, Linux only) and it can set the death signal here (a
 * container may refuse the prctl), else null. Tried once per process, by running `node --version`.
 */
export function findSetpriv(): string | null {
  if (setprivFound !== undefined) return setprivFound
  const path = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p))
  try {
    if (path !== undefined) execFileSync(path, ['--pdeathsig', 'KILL', process.execPath, '--version'], { stdio: 'ignore', timeout: 5000 })
    setprivFound = path ?? null
  } catch {
    setprivFound = null
  }
  return setprivFound
}

/**
 * Node's flags confining a child to its bundle, the bootstrap and its working directory, plus the
 * package directories `moduleDirs` of the modules its manifest names (read only).
 */
export function permissionFlags(init: Pick<SpawnInit, 'bundleDir' | 'workDir' | 'bootstrap' | 'manifest'>, moduleDirs: readonly string[] = []): string[] {
  const flags = [
    '--experimental-permission',
    `--allow-fs-read=${join(init.bundleDir, '*')}`,
    `--allow-fs-read=${init.bootstrap}`,
    `--allow-fs-read=${join(init.workDir, '*')}`,
    ...moduleDirs.map((d) => `--allow-fs-read=${join(d, '*')}`),
    `--allow-fs-write=${join(init.workDir, '*')}`,
    '--no-warnings',
  ]
  if (init.manifest.memoryMb !== null) flags.push(`--max-old-space-size=${init.manifest.memoryMb}`)
  return flags
}

/** Starts run `init.run`; every outcome, a failure to start included, reaches `hooks`. */
export function startRun(init: SpawnInit, hooks: RunHooks): RunHandle {
  const bucket = messageBucket()
  const take = (m: ChildMessage | null): void => {
    if (m === null) return hooks.dropped('bad')
    if (!bucket.take(performance.now())) return hooks.dropped('flood')
    hooks.message(m)
  }
  let modules: ReturnType<typeof resolveModules>
  try {
    modules = resolveModules(init.manifest.modules ?? [])
  } catch (err) {
    queueMicrotask(() => hooks.exited(null, null, (err as Error).message))
    return { kind: init.manifest.kind, quit: () => undefined, kill: () => undefined, answer: () => undefined }
  }
  const boot = { entry: join(init.bundleDir, init.manifest.entry), name: init.name, args: init.manifest.args, dir: init.workDir, ttlMs: init.manifest.ttlMs, host: init.host ?? '127.0.0.1', modules: modules.entries }
  return init.manifest.kind === 'worker' ? startWorker(init, boot, hooks, take) : startProcess(init, boot, modules.dirs, hooks, take)
}

/** What the bootstrap is given (service-child.mts `Boot`): `modules` maps each name the manifest lists to the file `confab.require` loads. */
type Boot = { entry: string; name: string; args: string[]; dir: string; ttlMs: number; host: string; modules: Record<string, string> }

function pipeLogs(stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr', hooks: RunHooks): void {
  if (stream === null) return
  const lines = splitLines(MAX_LOG_LINE, (line, cut) => hooks.log(name, cut ? `${line}…` : line))
  stream.setEncoding('utf8')
  stream.on('data', (s: string) => lines.push(s))
  stream.on('end', () => lines.end())
  stream.on('error', () => undefined)
}

function startProcess(init: SpawnInit, boot: Boot, moduleDirs: readonly string[], hooks: RunHooks, take: (m: ChildMessage | null) => void): RunHandle {
  let ended = false
  const end = (code: number | null, signal: string | null, error?: string) => {
    if (ended) return
    ended = true
    hooks.exited(code, signal, error)
  }
  // A comma separates paths in --allow-fs-read: a path holding one would widen or break the grant.
  const paths = [init.bundleDir, init.workDir, init.bootstrap, ...moduleDirs]
  if (paths.some((p) => p.includes(','))) {
    queueMicrotask(() => end(null, null, `cannot confine a service under a path with a comma: ${paths.find((p) => p.includes(','))}`))
    return { kind: 'process', quit: () => undefined, kill: () => undefined, answer: () => undefined }
  }
  const node = [...permissionFlags(init, moduleDirs), init.bootstrap, JSON.stringify(boot)]
  const [cmd, args] = init.setpriv === null ? [process.execPath, node] : [init.setpriv, ['--pdeathsig', 'KILL', process.execPath, ...node]]
  let child: ChildProcess
  try {
    child = spawn(cmd, args, {
      cwd: init.workDir,
      env: { ...init.manifest.env, PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      // Its own process group: a terminal's ^C to the fulcrum is the fulcrum's to pass on (as quit).
      detached: true,
    })
  } catch (err) {
    queueMicrotask(() => end(null, null, (err as Error).message))
    return { kind: 'process', quit: () => undefined, kill: () => undefined, answer: () => undefined }
  }
  child.on('error', (err) => {
    if (child.pid === undefined) end(null, null, err.message)
  })
  child.on('close', (code, signal) => end(code, signal))
  if (child.pid !== undefined) queueMicrotask(() => hooks.spawned(child.pid!))
  pipeLogs(child.stdout, 'stdout', hooks)
  pipeLogs(child.stderr, 'stderr', hooks)
  const chan = child.stdio[3] as NodeJS.ReadWriteStream | null
  if (chan !== null) {
    const lines = splitLines(MAX_MESSAGE, (line, cut) => take(cut ? null : childLine(line)))
    chan.setEncoding('utf8')
    chan.on('data', (s: string) => lines.push(s))
    chan.on('error', () => undefined)
  }
  return {
    kind: 'process',
    quit() {
      if (!ended && chan !== null) chan.write('{"t":"quit"}\n')
    },
    kill() {
      if (!ended) child.kill('SIGKILL')
    },
    answer(m) {
      if (!ended && chan !== null) chan.write(`${JSON.stringify(m)}\n`)
    },
  }
}

function startWorker(init: SpawnInit, boot: Boot, hooks: RunHooks, take: (m: ChildMessage | null) => void): RunHandle {
  let ended = false
  let killed = false
  const end = (code: number | null, signal: string | null, error?: string) => {
    if (ended) return
    ended = true
    hooks.exited(code, signal, error)
  }
  let worker: Worker
  try {
    worker = new Worker(init.bootstrap, {
      workerData: boot,
      argv: init.manifest.args,
      env: { ...init.manifest.env },
      stdout: true,
      stderr: true,
      execArgv: [],
      ...(init.manifest.memoryMb === null ? {} : { resourceLimits: { maxOldGenerationSizeMb: init.manifest.memoryMb } }),
    })
  } catch (err) {
    queueMicrotask(() => end(null, null, (err as Error).message))
    return { kind: 'worker', quit: () => undefined, kill: () => undefined, answer: () => undefined }
  }
  worker.on('online', () => hooks.spawned(null))
  worker.on('message', (m: unknown) => take(childMessage(m)))
  worker.on('messageerror', () => take(null))
  // An uncaught error ends the worker with code 1; its stack goes where a child's stderr would.
  worker.on('error', (err) => hooks.log('stderr', `service ${init.name} failed: ${err.message}`.slice(0, MAX_LOG_LINE)))
  worker.on('exit', (code) => (killed ? end(null, 'SIGKILL') : end(code, null)))
  pipeLogs(worker.stdout, 'stdout', hooks)
  pipeLogs(worker.stderr, 'stderr', hooks)
  return {
    kind: 'worker',
    quit() {
      if (!ended) worker.postMessage({ t: 'quit' })
    },
    kill() {
      if (ended) return
      // Said as for a child process: the machine hears a kill the same way for either kind.
      killed = true
      void worker.terminate()
    },
    answer(m) {
      if (!ended) worker.postMessage(m)
    },
  }
}
