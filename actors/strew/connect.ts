/**
 * Client connect by selector (seed 001): "takes a selector structure and a time duration t; every t
 * seconds it rescans the service database for a better fit for your selector and connects to that".
 * This is the loop around the pure rule in machines/strew/selector.ts: read the catalog, pick, dial;
 * a failed dial marks that NodeID failed and picks again; every `rescanMs` it looks for a better
 * (greater) instance and moves there. Failed marks last one rescan period, so a recovered instance
 * is tried again.
 */
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { parseSelector, pick, type Selector } from '../../machines/strew/selector.js'
import { RealClock, type Clock, type TimerHandle } from '../../runtime/clock.js'
import { Code, CruxError, InvalidArgumentError, UnavailableError } from '../../runtime/errors.js'
import type { ReeveClient } from './client.js'

export interface ConnectComponents {
  /** The endpoints (up and down) of an API: {@link catalogOf} a reeve client, or a fake in tests. */
  catalog(api: string): Promise<CatalogEndpoint[]>
  /** Rescan timers and failed-mark expiry. Default: the real clock. */
  clock?: Clock
}

export interface ConnectInit<T> {
  /** `API`, `API/INSTANCE-PATTERN`, or a parsed selector. */
  selector: string | Selector
  /** Opens a connection to an endpoint; a rejection marks the endpoint failed. `signal` aborts on close. */
  dial(endpoint: CatalogEndpoint, signal: AbortSignal): Promise<T>
  /** Closes a connection that was replaced or that the Connection's close() ends. */
  close?(conn: T, endpoint: CatalogEndpoint): void | Promise<void>
  /** How often to rescan for a better instance, and how long a failed mark lasts (ms). Default 10 000. */
  rescanMs?: number
  /** After a switch: the new connection is already `conn`, the old one is about to be closed. */
  onSwitch?(from: CatalogEndpoint, to: CatalogEndpoint): void
  /** A background rescan or close hook failed (the current connection stays). */
  onError?(err: CruxError): void
}

/** A connection that follows the best instance for its selector. */
export interface Connection<T> {
  /** The endpoint connected to now (changes on a switch). */
  readonly endpoint: CatalogEndpoint
  /** The connection now (changes on a switch). */
  readonly conn: T
  /** The current connection is broken: marks its NodeID failed and moves to the next best; rejects with UnavailableError when none is left (rescans go on). */
  markFailed(): Promise<void>
  /** Rescans now (as the timer does); resolves when done. */
  rescan(): Promise<void>
  /** Stops rescanning, aborts dials in flight and closes the connection. */
  close(): Promise<void>
}

/** The catalog function of a reeve client: what its node's horde may see of `api`. */
export const catalogOf = (reeve: Pick<ReeveClient, 'catalog'>) => async (api: string) => (await reeve.catalog({ api })).endpoints

/**
 * Connects to the best up instance for `init.selector` and keeps moving to a better one. Rejects
 * with UnavailableError (`no up instance of API matches SELECTOR`) when every match failed to dial.
 */
export async function connect<T>(components: ConnectComponents, init: ConnectInit<T>): Promise<Connection<T>> {
  const clock = components.clock ?? new RealClock()
  const selector = typeof init.selector === 'string' ? parseSelector(init.selector) : init.selector
  const shown = typeof init.selector === 'string' ? init.selector : `${selector.api}/${selector.instance ?? '*'}`
  const rescanMs = init.rescanMs ?? 10_000
  if (!(rescanMs > 0 && Number.isFinite(rescanMs))) throw new InvalidArgumentError(`rescanMs must be a positive number of ms, got ${rescanMs}`)
  /** NodeID → clock time its failed mark lapses. */
  const failed = new Map<string, number>()
  const abort = new AbortController()
  const report = (err: unknown) => init.onError?.(CruxError.from(err, Code.UNAVAILABLE))
  const mark = (nodeId: string) => failed.set(nodeId, clock.now() + rescanMs)
  const excluded = (tried: Set<string>) => {
    for (const [id, until] of failed) if (until <= clock.now()) failed.delete(id)
    return new Set([...failed.keys(), ...tried])
  }
  const catalog = async () => {
    try {
      return await components.catalog(selector.api)
    } catch (err) {
      const e = CruxError.from(err, Code.UNAVAILABLE)
      throw new CruxError(e.code, `cannot read the catalog for ${selector.api}: ${e.message}`, { cause: err })
    }
  }

  type Live = { endpoint: CatalogEndpoint; conn: T }
  /** The best endpoint dialed, or null when a working `current` is still the best. Each failure re-reads the catalog. */
  const best = async (current: Live | null): Promise<Live | null> => {
    const tried = new Set<string>() // within one round, so slow dials cannot outlive their marks and loop
    let lastErr: unknown
    for (;;) {
      const e = pick(await catalog(), selector, excluded(tried))
      if (e === undefined) throw new UnavailableError(`no up instance of ${selector.api} matches ${shown}`, { details: { selector: shown, tried: [...tried] }, ...(lastErr === undefined ? {} : { cause: lastErr }) })
      if (current !== null && e.nodeId === current.endpoint.nodeId && e.address === current.endpoint.address) return null
      tried.add(e.nodeId)
      try {
        return { endpoint: e, conn: await init.dial(e, abort.signal) }
      } catch (err) {
        mark(e.nodeId)
        lastErr = err
      }
    }
  }
  const closeConn = async (l: Live) => {
    try {
      await init.close?.(l.conn, l.endpoint)
    } catch (err) {
      report(err)
    }
  }

  let live = (await best(null))!
  /** markFailed said the live connection is broken: redial even the same endpoint once its mark lapses. */
  let broken = false
  let closed = false
  let timer: TimerHandle | undefined
  // Scans run one at a time: a markFailed during a timed rescan waits for it.
  let chain: Promise<unknown> = Promise.resolve()
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const p = chain.then(fn)
    chain = p.catch(() => undefined)
    return p
  }
  const scan = () =>
    serial(async () => {
      if (closed) return
      const next = await best(broken ? null : live)
      if (next === null) return
      if (closed) return void (await closeConn(next)) // closed while dialing
      const old = live
      live = next
      broken = false
      init.onSwitch?.(old.endpoint, next.endpoint)
      await closeConn(old)
    })
  const arm = () => {
    if (!closed) timer = clock.schedule(rescanMs, () => void scan().catch(report).finally(arm))
  }
  arm()

  return {
    get endpoint() {
      return live.endpoint
    },
    get conn() {
      return live.conn
    },
    markFailed() {
      mark(live.endpoint.nodeId)
      broken = true
      return scan()
    },
    rescan: scan,
    async close() {
      if (closed) return
      closed = true
      if (timer !== undefined) clock.cancel(timer)
      abort.abort()
      await chain
      await closeConn(live)
    },
  }
}
