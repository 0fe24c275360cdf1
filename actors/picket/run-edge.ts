/**
 * A node's run edge (issue 17): the effectful side of the picket machine. It takes the machine's
 * messages (machines/picket/types.ts: `prepare`, `spawn`, `quit`, `kill`, `forget`) and answers into
 * its mailbox (`bundle.ready`, `bundle.failed`, `run.spawned`, `run.listening`, `run.alive`,
 * `run.exited`), as the pastiche transfer edge does for its machine: the journal holds what the
 * machine was told, and what to do about it is the machine's policy, not this edge's.
 *
 * Layout under `<data-dir>/picket`: `bundles/<hex>` (unpacked bundles, bundles.ts) and
 * `work/<name>` (each service's working directory, 0700, kept across its runs until `forget`).
 *
 * The edge never throws into its caller: every failure (a bundle that cannot be had, a process that
 * cannot start) becomes an event. Every `spawn` is answered by exactly one `run.exited`, however it
 * ends, unless the edge is closed first.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { HostEvent } from '../../machines/effects.js'
import { SERVICE_NAME } from '../../machines/picket/context.js'
import type { PicketEvent, PicketMessage, SpawnMsg } from '../../machines/picket/types.js'
import type { BlobStore } from '../pastiche/store.js'
import { bootstrapFile } from './bootstrap.js'
import { openBundles, type Bundles } from './bundles.js'
import { messageBucket } from './child-messages.js'
import { findSetpriv, startRun, type RunHandle } from './child.js'

export interface RunEdgeLog {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
}

export interface RunEdgeComponents {
  store: BlobStore
  /** Asks pastiche to fetch a blob this node lacks. */
  want(hash: string): void
  /**
   * The endpoint a client on this node would connect to for `api` (the greatest up instance its
   * catalog serves), for a service's `confab.lookup`; absent: every lookup answers null.
   */
  lookup?(api: string): { address: string; instance: string; nodeId: string } | null
  /** Withdraws a want whose blob did not come. */
  unwant?(hash: string): void
  /** Whether no node can hold a blob, as far as this node knows (bundles.ts): a bundle nobody holds fails fast. */
  absent?(hash: string): boolean
  /** Puts an answer into the picket machine's mailbox. */
  deliver(ev: HostEvent): void
  /** Where the edge's warnings and the services' output lines go (`service output`, with name, run, stream, line). */
  log?: RunEdgeLog
}

export interface RunEdgeInit {
  /** `<data-dir>/picket`. */
  dir: string
  /** How long `prepare` waits for a blob pastiche is fetching, ms. */
  fetchMs: number
  /** The host the node is reached at, given to services as `confab.host` (default 127.0.0.1). */
  host?: string
  /** The longest {@link RunEdge.closeAll} lets a service quit before it kills it (each has its manifest's stopMs), ms (default 5000). */
  closeMs?: number
  /** The bootstrap file (default: beside this module, bootstrap.ts). */
  bootstrap?: string
  /** Have the kernel kill a child whose fulcrum died, where setpriv exists (default true). */
  deathSignal?: boolean
}

/** What the edge saw of the services' channels. */
export interface RunEdgeCounters {
  /** Messages dropped as malformed or unknown. */
  bad: number
  /** Messages dropped over the rate bound. */
  flooded: number
  /** Output lines not logged, over {@link LOG_LINES_PER_SECOND}. */
  unlogged: number
}

/** Output lines of one run logged in a burst, and per second after it: a chatty service cannot flood the fulcrum's log. */
export const LOG_LINES_BURST = 200
export const LOG_LINES_PER_SECOND = 100

export interface RunEdge {
  /** The router's handler of the machine's run port. */
  take(msg: PicketMessage): void
  /** Asks every run to quit, kills each still alive after its stopMs (at most `closeMs`); resolves when all have exited. Later messages are ignored. */
  closeAll(): Promise<void>
  /** The OS pid of each live run (null for a worker), by run number. */
  runs(): Map<number, number | null>
  readonly counters: RunEdgeCounters
}


type Live = {
  name: string
  handle: RunHandle | null
  pid: number | null
  quit: boolean
  kill: boolean
  stopMs: number
  /** Answers `run.exited` (once): a kill before the process is up is answered at once. */
  answer(code: number | null, signal: string | null, error?: string): void
  /** Settles once the run is over and nothing of it is still being set up. */
  exited: Promise<void>
}

export function createRunEdge(components: RunEdgeComponents, init: RunEdgeInit): RunEdge {
  const { log } = components
  const counters: RunEdgeCounters = { bad: 0, flooded: 0, unlogged: 0 }
  const live = new Map<number, Live>()
  // Absolute: a child's permission flags are read in its own working directory.
  const root = resolve(init.dir)
  const workDir = join(root, 'work')
  let closed = false
  let finished = false
  const deliver = (ev: PicketEvent): void => {
    if (finished) return
    try {
      components.deliver(ev as HostEvent)
    } catch (err) {
      log?.warn('picket run edge: delivery failed', { type: ev.type, error: (err as Error).message })
    }
  }
  const bundles: Promise<Bundles> = openBundles({ store: components.store, dir: join(root, 'bundles'), want: (h) => components.want(h), fetchMs: init.fetchMs, ...(components.absent === undefined ? {} : { absent: components.absent }), ...(components.unwant === undefined ? {} : { unwant: components.unwant }) })
  bundles.catch(() => undefined)

  const prepare = (run: number, hash: string): void => {
    bundles
      .then((b) => b.prepare(hash))
      .then(
        ({ manifest }) => deliver({ type: 'bundle.ready', run, hash, manifest }),
        (err: Error) => deliver({ type: 'bundle.failed', run, hash, reason: err.message }),
      )
  }

  const spawn = (m: SpawnMsg): void => {
    if (live.has(m.run)) return log?.warn('picket run edge: run spawned twice', { run: m.run, name: m.name })
    let settle!: () => void
    let answered = false
    const answer = (code: number | null, signal: string | null, error?: string) => {
      if (answered) return
      answered = true
      deliver({ type: 'run.exited', run: m.run, code, signal, ...(error === undefined ? {} : { error }) })
    }
    const entry: Live = { name: m.name, handle: null, pid: null, quit: false, kill: false, stopMs: m.manifest.stopMs, answer, exited: new Promise((r) => (settle = r)) }
    live.set(m.run, entry)
    const exited = (code: number | null, signal: string | null, error?: string) => {
      answer(code, signal, error)
      live.delete(m.run)
      settle()
    }
    void (async () => {
      let bundleDir: string
      let dir: string
      let bootstrap: string
      try {
        if (!SERVICE_NAME.test(m.name)) throw new Error(`service name ${JSON.stringify(m.name).slice(0, 80)} cannot name a working directory`)
        bootstrap = init.bootstrap ?? bootstrapFile()
        bundleDir = (await (await bundles).prepare(m.hash)).dir
        // Killed meanwhile: no directory is made, no process started.
        if (entry.kill) return exited(null, 'SIGKILL')
        dir = join(workDir, m.name)
        await mkdir(workDir, { recursive: true, mode: 0o700 })
        await mkdir(dir, { recursive: true, mode: 0o700 })
      } catch (err) {
        return exited(null, null, (err as Error).message)
      }
      if (entry.kill) return exited(null, 'SIGKILL')
      const lines = messageBucket(LOG_LINES_BURST, LOG_LINES_PER_SECOND)
      entry.handle = startRun(
        { run: m.run, name: m.name, bundleDir, workDir: dir, manifest: m.manifest, bootstrap, setpriv: init.deathSignal === false ? null : findSetpriv(), ...(init.host === undefined ? {} : { host: init.host }) },
        {
          spawned(pid) {
            entry.pid = pid
            deliver({ type: 'run.spawned', run: m.run, pid })
          },
          message(msg) {
            if (msg.t === 'alive') deliver({ type: 'run.alive', run: m.run })
            else if (msg.t === 'listening') deliver({ type: 'run.listening', run: m.run, address: msg.address })
            // A read of the node's catalog, answered here: it changes nothing, so it needs no step.
            else entry.handle?.answer({ t: 'lookup', id: msg.id, endpoint: components.lookup?.(msg.api) ?? null })
          },
          dropped(why) {
            const first = counters.bad + counters.flooded === 0
            counters[why === 'bad' ? 'bad' : 'flooded']++
            if (first) log?.warn('picket: a service sent a message that was dropped', { name: m.name, run: m.run, why })
          },
          log(stream, line) {
            if (lines.take(performance.now())) return log?.info('service output', { name: m.name, run: m.run, stream, line })
            if (counters.unlogged++ === 0) log?.warn('picket: a service writes more than is logged; lines are dropped', { name: m.name, run: m.run })
          },
          exited,
        },
      )
      if (entry.quit) entry.handle.quit()
    })()
  }

  /** Ends a run now; one still being set up (its bundle still coming) is answered at once and never started. */
  const kill = (l: Live | undefined): void => {
    if (l === undefined) return
    l.kill = true
    if (l.handle === null) l.answer(null, 'SIGKILL')
    else l.handle.kill()
  }

  const forget = (name: string): void => {
    if (!SERVICE_NAME.test(name)) return
    // A run of it still alive (not expected) is waited for: its directory goes once it has exited.
    const alive = [...live.values()].filter((l) => l.name === name).map((l) => l.exited)
    void Promise.all(alive)
      .then(() => rm(join(workDir, name), { recursive: true, force: true }))
      .catch((err: Error) => log?.warn('picket: cannot remove a working directory', { name, error: err.message }))
  }

  return {
    counters,
    runs: () => new Map([...live].filter(([, l]) => l.handle !== null).map(([run, l]) => [run, l.pid])),
    take(msg) {
      if (closed) return
      try {
        switch (msg.type) {
          case 'prepare':
            return prepare(msg.run, msg.hash)
          case 'spawn':
            return spawn(msg)
          case 'quit': {
            const l = live.get(msg.run)
            if (l === undefined) return
            l.quit = true
            return l.handle?.quit()
          }
          case 'kill':
            return kill(live.get(msg.run))
          case 'forget':
            return forget(msg.name)
        }
      } catch (err) {
        log?.warn('picket run edge: message failed', { type: (msg as { type?: unknown }).type, error: (err as Error).message })
      }
    },
    async closeAll() {
      closed = true
      void bundles.then((b) => b.close(), () => undefined)
      const bound = init.closeMs ?? 5000
      // Each run has its own stopMs to exit after quit, and is killed after it; the edge waits no longer than closeMs.
      await Promise.all(
        [...live.values()].map((l) => {
          l.quit = true
          l.handle?.quit()
          const timer = setTimeout(() => kill(l), Math.min(l.stopMs, bound))
          return l.exited.then(() => clearTimeout(timer))
        }),
      )
      finished = true
    },
  }
}
