/**
 * What the picket edge tests share: fixture bundles put into a real blob store, a run edge on a
 * temporary data dir, and the events it delivered, waited for by predicate.
 */
import type { ExecutionContext } from 'ava'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Manifest, PicketEvent } from '../../../machines/picket/types.js'
import { createBlobStore, type BlobStore } from '../../../actors/pastiche/store.js'
import { packTar } from '../../../actors/pastiche/tar.js'
import { createRunEdge, type RunEdge, type RunEdgeComponents, type RunEdgeInit } from '../../../actors/picket/run-edge.js'
import { readManifest } from '../../../actors/picket/manifest.js'

/** The fixture bundles' sources (plain .mjs and JSON, not compiled: the repository's test/fixtures/picket). */
export const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/picket/', import.meta.url))

export function tmp(t: ExecutionContext, prefix = 'crux-picket-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/** Packs directory `dir` into `store`, as `crux pastiche put DIR` does; its hash. */
export async function putDir(store: BlobStore, dir: string): Promise<string> {
  return (await store.write(null, await packTar(dir))).hash
}

export const fixtureManifest = (name: string): Promise<Manifest> => readManifest(join(FIXTURES, name))

export interface Harness {
  data: string
  store: BlobStore
  edge: RunEdge
  events: PicketEvent[]
  wanted: string[]
  logs: { name: string; run: number; stream: string; line: string }[]
  /** The first event (from `from` on) `pred` takes, within `ms`. */
  waitFor<E extends PicketEvent>(pred: (e: PicketEvent) => e is E, ms?: number): Promise<E>
  waitFor(pred: (e: PicketEvent) => boolean, ms?: number): Promise<PicketEvent>
}

/** A run edge on a fresh data dir; `lookup` answers the services' `confab.lookup` (default: every lookup null). */
export async function harness(t: ExecutionContext, init: Partial<RunEdgeInit> = {}, prefix?: string, lookup?: RunEdgeComponents['lookup']): Promise<Harness> {
  const data = tmp(t, prefix)
  const store = await createBlobStore({ dir: join(data, 'pastiche'), limitBytes: 64 << 20 })
  const events: PicketEvent[] = []
  const wanted: string[] = []
  const logs: Harness['logs'] = []
  const waiters = new Set<() => void>()
  const edge = createRunEdge(
    {
      store,
      want: (h) => wanted.push(h),
      ...(lookup === undefined ? {} : { lookup }),
      deliver: (ev) => {
        events.push(ev as PicketEvent)
        for (const w of [...waiters]) w()
      },
      log: {
        info: (msg, f) => msg === 'service output' && logs.push(f as Harness['logs'][number]),
        warn: () => undefined,
      },
    },
    { dir: join(data, 'picket'), fetchMs: 2000, closeMs: 1000, ...init },
  )
  t.teardown(() => edge.closeAll())
  const waitFor = (pred: (e: PicketEvent) => boolean, ms = 5000): Promise<PicketEvent> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const e = events.find(pred)
        if (e === undefined) return
        waiters.delete(check)
        clearTimeout(timer)
        resolve(e)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no such event within ${ms} ms; events: ${JSON.stringify(events).slice(0, 2000)}`))
      }, ms)
      waiters.add(check)
      check()
    })
  return { data, store, edge, events, wanted, logs, waitFor: waitFor as Harness['waitFor'] }
}

export const isType =
  <T extends PicketEvent['type']>(type: T, run?: number) =>
  (e: PicketEvent): e is Extract<PicketEvent, { type: T }> =>
    e.type === type && (run === undefined || (e as { run?: number }).run === run)

/**
 * Whether process `pid` is running. A zombie is not: a service whose fulcrum died is reparented, and
 * its new parent (PID 1 of a container, say) may reap it late; it exists until then, running nothing.
 */
export function alivePid(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return existsSync('/proc/self') ? false : true
  }
}

/** Whether `pred` holds within `ms` (polled). */
export async function until(pred: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (pred()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return pred()
}
