/**
 * `crux service start|stop|reset|upgrade|ls` (CLI.md, Running services): a node's picket over its
 * PicketService, on the flock's mutual TLS with `--data-dir`'s node key. Start, stop, reset and upgrade
 * are the node's own key's; `ls --all` reads the flock's inventory from the target's catalog, where
 * every node's picket publishes what it runs (its muster, machines/picket/muster.ts).
 *
 * `start` and `upgrade` are answered at once by the node; the command then watches the service until
 * it runs (or fails, or `--wait` runs out), saying on stderr where it stands when that is a terminal.
 */
import type { Command } from 'commander'
import type { PicketClient } from '../../actors/picket/client.js'
import type { ServiceInfo } from '../../protos/gen/crux/v1/picket.js'
import type { PeerTls } from '../../runtime/grpc-tls.js'
import { checkName } from '../../actors/picket/routes.js'
import { Code, CruxError, InvalidArgumentError } from '../../runtime/errors.js'
import { explainCall, hashArg, reach, say, using, type Reach } from './reach.js'

/** How long start and upgrade watch for the service to run, by default, s. */
const WAIT_S = 30
const POLL_MS = 200

type Flags = Reach & { name?: string; wait: number; all?: boolean }

/** A service name, checked as the node checks it (a bad one is a usage error, exit 2). */
const nameArg = checkName
function waitArg(v: string): number {
  const n = Number(v)
  if (!/^\d+(\.\d+)?$/.test(v) || !(n <= 3600)) throw new InvalidArgumentError(`--wait takes seconds from 0 to 3600, got ${JSON.stringify(v)}`)
  return n
}

/**
 * A client of the node at --target as `--data-dir`'s node, or of node `at.node` at `at.address` (pinned
 * to that node's key); failures explained in one line.
 */
async function withPicket<T>(f: Reach, fn: (c: PicketClient) => Promise<T>, at?: { node: string; address: string; tls: PeerTls }): Promise<T> {
  const tls = at?.tls ?? (await import('../../runtime/grpc-tls.js')).loadPeerTls(f.dataDir)
  const { createPicketClient } = await import('../../actors/picket/client.js')
  const address = at?.address ?? f.target
  const client = createPicketClient({ address, tls, ...(at === undefined ? {} : { expect: { node: at.node } }) })
  return using(client, fn, (err) => explainCall({ ...f, target: address }, err, 'picket'))
}

/** The JSON of a service (CLI.md: node, name, hash, api, instance, state, pid, restarts, up; more added). `since`: when its run started, ms since the epoch, as a muster says it (`ls --all`). */
const json = (s: ServiceInfo) => ({ node: s.node, name: s.name, hash: s.hash, api: s.api, instance: s.instance, state: s.state, pid: s.pid === 0 ? null : s.pid, restarts: s.restarts, up: s.up, address: s.address || null, reason: s.reason || null, since: null as number | null })

const line = (s: ServiceInfo) => `${s.name} ${s.state}${s.address === '' ? '' : ` at ${s.address}`}${s.pid === 0 ? '' : ` (pid ${s.pid})`}${s.reason === '' ? '' : `: ${s.reason}`}`

/** Watches `name` until it runs, fails, or `waitS` passes; what it last was. */
async function settle(c: PicketClient, name: string, hash: string, waitS: number, first: ServiceInfo): Promise<ServiceInfo> {
  const until = Date.now() + waitS * 1000
  let s = first
  let said = ''
  for (;;) {
    // An upgrade that did not come up was rolled back: the service runs on, its reason says so.
    const rolledBack = s.reason.startsWith(`upgrade to ${hash} rolled back`)
    const done = (s.state === 'running' && s.hash === hash && s.up) || s.state === 'failed' || s.state === 'stopped' || rolledBack
    if (done || Date.now() >= until) return s
    if (process.stderr.isTTY && line(s) !== said) process.stderr.write(`${(said = line(s))}\n`)
    await new Promise((r) => setTimeout(r, POLL_MS))
    const now = (await c.list()).find((x) => x.name === name)
    if (now === undefined) throw new CruxError(Code.NOT_FOUND, `service ${name} is gone from ${c.address} (reset meanwhile?)`)
    s = now
  }
}

/** After start or upgrade: exit 1 unless it runs the hash asked for. */
function outcome(f: Flags, s: ServiceInfo, hash: string, verb: string): void {
  if (f.wait > 0 && !(s.state === 'running' && s.hash === hash)) {
    const why = s.reason === '' ? '' : `: ${s.reason}`
    if (s.state === 'failed') throw new CruxError(Code.FAILED_PRECONDITION, `service ${s.name} failed${why}`)
    if (s.reason.startsWith(`upgrade to ${hash} rolled back`)) throw new CruxError(Code.FAILED_PRECONDITION, `service ${s.name}: ${s.reason}; it runs ${s.hash} still`)
    throw new CruxError(Code.FAILED_PRECONDITION, `service ${s.name} did not ${verb} within ${f.wait} s: it is ${s.state}${why}`)
  }
  say(f, json(s), `${line(s)}\n`)
}

/** Adds `crux service start|stop|reset|upgrade|ls` to the `service` command (made by strew's registration, or here). */
export function registerPicket(program: Command): void {
  const service = program.commands.find((c) => c.name() === 'service') ?? program.command('service').description("run and register this node's services")
  const waitOpt = ['--wait <S>', 'watch the service until it runs, at most S seconds (0: return once the node took the request)'] as const

  reach(
    service
      .command('start')
      .description("run a bundle (a directory put with `crux pastiche put DIR`, holding a crux-service.json) on the node at --target; the node fetches it from its flock's pastiche if it lacks it, registers the service under its manifest's api and instance, keeps it registered by its heartbeats and restarts it with backoff when it ends")
      .argument('<HASH>', 'the bundle: sha256:<64 hex>, as crux pastiche put printed it', hashArg)
      .option('--name <NAME>', 'what the node calls the service (a lower-case letter, then a-z, 0-9, _, -); default: svc- and the first 12 hex digits of HASH', nameArg)
      .option(...waitOpt, waitArg, WAIT_S),
    'print {"node","name","hash","api","instance","state","pid","restarts","up","address","reason"}',
    '\nExample:\n  crux pastiche put ./examples/echo --target 127.77.0.1:50059 --data-dir /tmp/n1\n  crux service start sha256:… --name echo --target 127.77.0.1:50059 --data-dir /tmp/n1',
  ).action(async (hashP: Promise<string>, f: Flags) => {
    const hash = await hashP
    const name = f.name ?? `svc-${hash.slice(7, 19)}`
    await withPicket(f, async (c) => outcome(f, f.wait === 0 ? await c.start(name, hash) : await settle(c, name, hash, f.wait, await c.start(name, hash)), hash, 'start'))
  })

  reach(
    service
      .command('upgrade')
      .description('move a service to another bundle: the new version starts beside the old one and takes its registration once it is registered and beating; the old one runs on for its grace period, then is asked to quit. A new version that does not come up is rolled back')
      .argument('<NAME>', 'the service', nameArg)
      .argument('<HASH>', 'the new bundle', hashArg)
      .option(...waitOpt, waitArg, WAIT_S),
    'print the service as start does',
    '\nExample:\n  crux service upgrade echo sha256:… --target 127.77.0.1:50059 --data-dir /tmp/n1',
  ).action(async (name: string, hashP: Promise<string>, f: Flags) => {
    const hash = await hashP
    await withPicket(f, async (c) => {
      const first = await c.upgrade(name, hash)
      outcome(f, f.wait === 0 ? first : await settle(c, name, hash, f.wait, first), hash, `run ${hash}`)
    })
  })

  for (const [verb, what] of [
    ['stop', 'ask a service to exit (it is killed if it outlives its manifest\'s stopMs) and keep it stopped; its registration is withdrawn'],
    ['reset', 'stop a service and forget it: its registration, its state and its working directory'],
  ] as const) {
    reach(service.command(verb).description(what).argument('<NAME>', 'the service', nameArg), 'print the service as start does', `\nExample:\n  crux service ${verb} echo --target 127.77.0.1:50059 --data-dir /tmp/n1`).action(
      async (name: string, f: Flags) => {
        await withPicket(f, async (c) => {
          const s = verb === 'stop' ? await c.stop(name) : await c.reset(name)
          // A reset service whose runs had all ended is forgotten at once: nothing is left to show.
          if (s === null) say(f, { name, state: 'forgotten' }, `${name} forgotten\n`)
          else say(f, json(s), `${line(s)}\n`)
        })
      },
    )
  }

  reach(
    service
      .command('ls')
      .description("the services the node at --target runs, or with --all the flock's inventory: every node's muster, read from the target's catalog")
      .option('--all', "the flock's inventory, as each node publishes it through the steward (a node running more than 31 services is asked for the rest)"),
    'print {"services":[{"node","name","hash","api","instance","state","pid","restarts","up","address","reason","since"}]} (with --all, "unreachable":[{"node","address","error"}] too: nodes asked directly that did not answer)',
    '\nExample:\n  crux service ls --all --target 127.77.0.1:50059 --data-dir /tmp/n1',
  ).action(async (f: Flags) => {
    const { services, unreachable } = f.all === true ? await inventory(f) : { services: (await withPicket(f, (c) => c.list())).map(json), unreachable: [] }
    const rows = services.map((s) => `${f.all === true ? `${s.node}  ` : ''}${s.name.padEnd(16)} ${s.state.padEnd(9)} ${`${s.api}/${s.instance}`.padEnd(24)} pid ${String(s.pid ?? '-').padEnd(7)} restarts ${s.restarts}  ${s.address ?? ''}  ${s.hash.slice(0, 19)}`)
    const bad = unreachable.map((u) => `${u.node} at ${u.address}: ${u.error}`)
    say(f, { services, ...(f.all === true ? { unreachable } : {}) }, [...(rows.length === 0 ? ['no services'] : rows), ...bad].join('\n') + '\n')
  })
}

type Row = ReturnType<typeof json>
type Unreachable = { node: string; address: string; error: string }

/**
 * The flock's inventory, read from the target's catalog (actors/picket/inventory.ts); a node whose
 * muster is partial is asked for its list directly.
 */
async function inventory(f: Flags): Promise<{ services: Row[]; unreachable: Unreachable[] }> {
  const tls = (await import('../../runtime/grpc-tls.js')).loadPeerTls(f.dataDir)
  const { createReeveClient } = await import('../../actors/strew/client.js')
  const { inventoryOf } = await import('../../actors/picket/inventory.js')
  const reeve = createReeveClient({ address: f.target, tls, timeoutMs: 10_000 })
  const { endpoints } = await using(reeve, (c) => c.catalog({}), (err) => explainCall(f, err, 'reeve'))
  const { services: mustered, partial } = inventoryOf(endpoints)
  const services: Row[] = mustered
  const unreachable: Unreachable[] = []
  await Promise.all(
    partial.map(async ({ node, address }) => {
      try {
        services.push(...(await withPicket(f, (c) => c.list(), { node, address, tls })).map(json))
      } catch (err) {
        unreachable.push({ node, address, error: (err as Error).message })
      }
    }),
  )
  services.sort((a, b) => a.node.localeCompare(b.node) || a.name.localeCompare(b.name))
  return { services, unreachable }
}
