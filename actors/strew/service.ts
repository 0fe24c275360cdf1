/**
 * The service contract (seed 001): a service is a function `fn(quit, alive, confab)`. `quit` says
 * when to stop, independent of any protocol message; `alive` is where heartbeats go, one for each
 * service point the function serves (a heartbeat is the registration kept fresh); `confab` is the
 * network side, which most services ignore. {@link runService} does the plumbing with the node's
 * reeve: register every point, beat them all on `alive()`, deregister them all at the end.
 */
import { Code, CruxError, InvalidArgumentError } from '../../runtime/errors.js'
import { heartbeatUuid, type ReeveClient } from './client.js'

/** One service point: what clients find in the catalog and dial. */
export interface ServicePointSpec {
  /** Service name (an upper-case letter, then letters, digits, `_`): the NodeID's fourth field. */
  service: string
  /** The API served (same form, e.g. `Galumph2`); selectors name it. */
  api: string
  /** The instance (e.g. `galumph2_3`): the greatest matching one wins. Default: the node id. */
  instance?: string
  /** Where clients dial (host:port). */
  address: string
}

/** What a service sees of the network: its reeve, and the NodeIDs its points got. */
export interface Confab {
  reeve(): Promise<{ nodeId: string; steward: string; term: number }>
  readonly nodeIds: readonly string[]
}

/**
 * A service. Must return soon after `quit` aborts. Must call `alive()` more often than every
 * `ttlMs`, or its points go down (a point is up for `ttlMs` after each beat, down after). `alive()`
 * rejects with a CruxError when the reeve refuses; after `quit` it does nothing.
 */
export type ServiceFn = (quit: AbortSignal, alive: () => Promise<void>, confab: Confab) => Promise<void>

export interface RunServiceInit {
  points: ServicePointSpec[]
  /** How long each heartbeat (and the registration itself) holds, ms. */
  ttlMs: number
  fn: ServiceFn
  /** Aborting it is the same as the handle's stop() (without waiting). */
  signal?: AbortSignal
}

/** A running service. */
export interface ServiceHandle {
  /** The points' NodeIDs, in the order given. */
  readonly nodeIds: readonly string[]
  /** Settles once fn has returned and every point is deregistered; rejects with fn's or the reeve's error. */
  readonly done: Promise<void>
  /** Aborts `quit`, deregisters every point and waits for `done` (its error too). */
  stop(): Promise<void>
}

/** A reeve failure, named by what was being done; the reeve's status code is kept. */
function failure(what: string, err: unknown): CruxError {
  const e = CruxError.from(err, Code.UNAVAILABLE)
  return new CruxError(e.code, `${what}: ${e.message}`, { cause: err })
}

/**
 * Registers every point (each holding `ttlMs`), then runs `fn`. Resolves once all are registered;
 * rejects (having deregistered the ones that were) when one cannot be. When fn returns, throws, or
 * the service is stopped, every point is deregistered.
 */
export async function runService(components: { reeve: ReeveClient }, init: RunServiceInit): Promise<ServiceHandle> {
  const { reeve } = components
  if (!(init.ttlMs > 0)) throw new InvalidArgumentError(`ttlMs must be positive, got ${init.ttlMs}`)
  if (init.points.length === 0) throw new InvalidArgumentError('a service needs at least one point')
  // A point's NodeID (and heartbeat uuid) is SERVICE/API on this node: two alike would be one registration.
  const names = init.points.map(heartbeatUuid)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup !== undefined) throw new InvalidArgumentError(`two service points are both ${dup}; a node serves each SERVICE/API once`)
  if (init.signal?.aborted) throw new CruxError(Code.CANCELLED, 'service start cancelled')

  const nodeIds: string[] = []
  const deregisterAll = async (): Promise<CruxError[]> => {
    const errs: CruxError[] = []
    await Promise.all(
      nodeIds.map((id) =>
        // Already gone (the reeve lost it) is what deregistering wants.
        reeve.deregister(id).catch((err: unknown) => {
          if (CruxError.from(err).code !== Code.NOT_FOUND) errs.push(failure(`cannot deregister ${id}`, err))
        }),
      ),
    )
    return errs
  }
  try {
    for (const [i, p] of init.points.entries()) {
      const reg = { service: p.service, api: p.api, address: p.address, ttlMs: init.ttlMs, uuid: names[i]!, ...(p.instance === undefined ? {} : { instance: p.instance }) }
      nodeIds.push(await reeve.register(reg).catch((err) => Promise.reject(failure(`cannot register ${names[i]} at ${p.address}`, err))))
    }
  } catch (err) {
    await deregisterAll()
    throw err
  }

  const quit = new AbortController()
  const onAbort = () => quit.abort()
  init.signal?.addEventListener('abort', onAbort, { once: true })
  if (init.signal?.aborted) quit.abort() // aborted while registering: fn starts already told to quit
  /** Beats in flight: deregistration waits for them, so a late beat cannot race the deregister. */
  let beating: Promise<void> = Promise.resolve()
  const beats = names.map((uuid) => ({ uuid, ttlMs: init.ttlMs }))
  const alive = (): Promise<void> => {
    if (quit.signal.aborted) return Promise.resolve()
    const p = reeve.heartbeat(beats).catch((err) => Promise.reject(failure(`heartbeat of ${names.join(', ')}`, err)))
    beating = Promise.all([beating, p.catch(() => undefined)]).then(() => undefined)
    return p
  }
  const confab: Confab = { reeve: () => reeve.ping(), nodeIds }
  const quitted = new Promise<void>((resolve) => quit.signal.addEventListener('abort', () => resolve(), { once: true }))
  const ran = Promise.resolve()
    .then(() => init.fn(quit.signal, alive, confab))
    .then(
      () => null,
      (err: unknown) => CruxError.from(err),
    )

  const done = (async () => {
    // Deregister as soon as fn returns or quit aborts, whichever is first; then wait for the other.
    await Promise.race([ran, quitted])
    quit.abort()
    init.signal?.removeEventListener('abort', onAbort)
    await beating
    const errs = await deregisterAll()
    const fnErr = await ran
    const all = fnErr === null ? errs : [fnErr, ...errs]
    if (all.length > 0) throw all.length === 1 ? all[0]! : new CruxError(all[0]!.code, all[0]!.message, { cause: all[0], details: { more: all.slice(1).map((e) => e.message) } })
  })()
  done.catch(() => undefined) // the caller reads it from done or stop(); never an unhandled rejection
  return {
    nodeIds,
    done,
    stop() {
      quit.abort()
      return done
    },
  }
}
