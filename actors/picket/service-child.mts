/**
 * The bootstrap of a service run by picket (issue 17): the first module of its child process (or of
 * its worker thread), which imports the bundle's entry and calls its default export
 *
 *     export default async function (quit: AbortSignal, alive: () => Promise<void>, confab: ServiceConfab)
 *
 * `quit` aborts when the node asks the service to stop; `alive()` is a heartbeat (call it more often
 * than every `confab.ttlMs`, or the service is taken for hung and killed); `confab.listening(address)`
 * says where it serves (host:port), which is what picket registers with the reeve;
 * `confab.require(name)` loads one of the modules of crux's installation its manifest lists. When the
 * function returns the service exits 0; when it throws, its error goes to stderr and it exits 1.
 *
 * It imports nothing but Node's own modules: a child process runs under Node's permission model and
 * may read only this file, its bundle and its working directory (and the packages of the modules its
 * manifest lists, which `confab.require` loads by the paths the node resolved), so the bootstrap
 * cannot lean on the rest of crux. It is emitted twice with one name —
 * dist/actors/picket/service-child.mjs by tsc and dist/bin/service-child.mjs beside the bundle
 * (bin/bundle.ts) — so `./service-child.mjs` beside whichever module spawns it is always there
 * (actors/picket/bootstrap.ts).
 *
 * The channel to the node: a child process talks over fd 3 (a socket pair), one JSON object a line
 * (`{"t":"alive"}`, `{"t":"listening","address":…}`, `{"t":"lookup","id":…,"api":…}` out; `{"t":"quit"}` and
 * `{"t":"lookup","id":…,"endpoint":…|null}` in); a worker thread over its
 * parent port with the same objects. When fd 3 closes — the fulcrum stopped, or was killed with
 * SIGKILL — the child exits at once: a service never outlives its node.
 */
import { createRequire } from 'node:module'
import { Socket } from 'node:net'
import { pathToFileURL } from 'node:url'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'

/** What a service is told of its node; the third argument of its function. */
export interface ServiceConfab {
  /** The service's name on its node (what `crux service start --name` gave). */
  readonly name: string
  /** The manifest's `args` (also in `process.argv`, after the entry). */
  readonly args: readonly string[]
  /** Its own working directory (the process's cwd; a worker thread shares the fulcrum's cwd, so it uses this). */
  readonly dir: string
  /** How long one `alive()` keeps it registered, ms. */
  readonly ttlMs: number
  /** The host its node is reached at: listen there (port 0 is fine) so that other nodes can call it. */
  readonly host: string
  /** Says where the service serves (host:port): it is registered there. Call it once it listens. */
  listening(address: string): void
  /**
   * The endpoint of `api` a client on this node would connect to now (the greatest up instance in
   * the node's catalog), or null when none is up. Ask again after a failed call: that is how a
   * service follows another one that moved (restarted, upgraded, on another node).
   */
  lookup(api: string): Promise<LookedUp | null>
  /**
   * Loads a module of crux's own installation that the manifest's `modules` lists (`@grpc/grpc-js`,
   * `@grpc/proto-loader`), as `require` would; any other name throws. A confined child may read
   * those packages and what they depend on, nothing else outside its bundle.
   */
  require(name: string): unknown
}

/** What the node passes the bootstrap: argv[2] as JSON in a child process, workerData in a worker. */
interface Boot {
  entry: string
  name: string
  args: string[]
  dir: string
  ttlMs: number
  host?: string
  /** Each module the manifest lists → the file that loads it (resolved by the node from its own installation). */
  modules?: Record<string, string>
}

const MAX_LINE = 1024

/** What a lookup answers: the endpoint a client on this node would connect to, or null. */
export interface LookedUp {
  address: string
  instance: string
  nodeId: string
}

/** Lookups waiting for the node's answer, by id. */
const lookups = new Map<number, (e: LookedUp | null) => void>()
let nextLookup = 0

/** A message from the node: quit, or a lookup's answer. */
function fromNode(m: unknown): void {
  if (typeof m !== 'object' || m === null) return
  const o = m as { t?: unknown; id?: unknown; endpoint?: unknown }
  if (o.t === 'quit') quit.abort()
  if (o.t === 'lookup' && typeof o.id === 'number') {
    const done = lookups.get(o.id)
    lookups.delete(o.id)
    done?.((o.endpoint ?? null) as LookedUp | null)
  }
}

function parsed(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    return null
  }
}

const boot: Boot = isMainThread ? (JSON.parse(process.argv[2] ?? '{}') as Boot) : (workerData as Boot)
const quit = new AbortController()
let send: (m: object) => void

if (isMainThread) {
  const chan = new Socket({ fd: 3, readable: true, writable: true })
  // The node gone (its end of the pair closed, however it ended): exit now, mid-work or not.
  const gone = (): never => process.exit(1)
  chan.on('end', gone)
  chan.on('close', gone)
  chan.on('error', gone)
  let buf = ''
  chan.setEncoding('utf8')
  chan.on('data', (s: string) => {
    buf += s
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.length <= MAX_LINE) fromNode(parsed(line))
    }
    if (buf.length > MAX_LINE) buf = ''
  })
  send = (m) => void chan.write(`${JSON.stringify(m)}\n`)
} else {
  parentPort!.on('message', fromNode)
  send = (m) => parentPort!.postMessage(m)
}
// The service sees itself as the program it is: argv[1] its entry, then its args.
process.argv = [process.argv[0]!, boot.entry, ...boot.args]

const alive = (): Promise<void> => {
  if (!quit.signal.aborted) send({ t: 'alive' })
  return Promise.resolve()
}
const confab: ServiceConfab = {
  name: boot.name,
  args: boot.args,
  dir: boot.dir,
  ttlMs: boot.ttlMs,
  host: boot.host ?? '127.0.0.1',
  listening(address: string) {
    if (typeof address !== 'string') throw new TypeError('confab.listening(address): address must be a host:port string')
    send({ t: 'listening', address })
  },
  lookup(api: string) {
    if (typeof api !== 'string' || !/^[A-Z][A-Za-z0-9_]{0,63}$/.test(api)) return Promise.reject(new TypeError('confab.lookup(api): api is an upper-case letter, then letters, digits, _'))
    const id = nextLookup++
    return new Promise<LookedUp | null>((resolve) => {
      lookups.set(id, resolve)
      send({ t: 'lookup', id, api })
    })
  },
  require(name: string) {
    const modules = boot.modules ?? {}
    if (typeof name !== 'string' || !Object.hasOwn(modules, name)) {
      const listed = Object.keys(modules)
      throw new Error(`confab.require(${JSON.stringify(name)}): not in the manifest's "modules" (${listed.length === 0 ? 'it lists none' : `it lists ${listed.join(', ')}`})`)
    }
    const file = modules[name]!
    return createRequire(file)(file)
  },
}

/**
 * Exits once what the service wrote is out: a write to a full pipe is queued, and process.exit would
 * drop it. A node that stopped reading does not hold the exit for more than a second.
 */
const exit = async (code: number): Promise<never> => {
  const flushed = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => s.write('', () => resolve()))
  await Promise.race([Promise.all([flushed(process.stdout), flushed(process.stderr)]), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
  process.exit(code)
}

try {
  const mod = (await import(pathToFileURL(boot.entry).href)) as { default?: unknown }
  if (typeof mod.default !== 'function') throw new TypeError(`${boot.entry} has no default export function (quit, alive, confab)`)
  await (mod.default as (q: AbortSignal, a: () => Promise<void>, c: ServiceConfab) => unknown)(quit.signal, alive, confab)
  await exit(0)
} catch (err) {
  process.stderr.write(`service ${boot.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  await exit(1)
}
