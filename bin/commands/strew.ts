/**
 * `crux service register|heartbeat|deregister` and `crux registry ls|get|watch` (CLI.md, Services and
 * the registry): a node's services and its view of the catalog, through the node's own reeve. The
 * reeve accepts only calls from its node's key, over the flock's mutual TLS, so every command reads
 * `--data-dir`'s node.key and the certificates its fulcrum wrote beside it (and never makes a key: a
 * new key would speak for no node).
 */
import type { Command } from 'commander'
import { reach, say, using, type Reach } from './reach.js'
import type { ReeveClient } from '../../actors/strew/client.js'
import { defaultService, goodId, nodeOfNodeId } from '../../machines/strew/ids.js'
import type { CatalogEndpoint } from '../../machines/steward/types.js'
import { Code, CruxError, InvalidArgumentError, isRemoteError, NotFoundError, UnavailableError } from '../../runtime/errors.js'
import { duration, formatDuration, target } from '../flags.js'

/** Per call: a reeve answers in milliseconds, so 5 s without one means nobody is there. */
const DEADLINE_MS = 5_000

interface ServiceFlags extends Reach {
  api: string
  service?: string
  instance?: string
  addr: string
  ttl?: number
  tag?: string[]
}

const apiName = (flag: string) => (v: string): string => {
  if (v === '' || v === 'self' || !goodId(v)) throw new InvalidArgumentError(`${flag} must be an upper-case letter then up to 63 letters, digits or '_' (like Http1), got ${JSON.stringify(v)}`)
  return v
}
const instanceName = (flag: string, wildcard: boolean) => (v: string): string => {
  if (!(wildcard ? /^[A-Za-z0-9._*-]{1,64}$/ : /^[A-Za-z0-9._-]{1,64}$/).test(v)) throw new InvalidArgumentError(`${flag} must be 1–64 of letters, digits, '.', '_', '-'${wildcard ? " and '*' (any run)" : ''}, got ${JSON.stringify(v)}`)
  return v
}
/** `--ttl S`: seconds as CLI.md fixes them (decimals allowed), or a duration such as 500ms; 1 ms to a year. */
const ttl = duration('--ttl', { bare: 's', min: 1, max: 31_536_000_000 })


/** A catalog entry as CLI.md's JSON gives it (`node_id` and `horde` beyond the contract's fields). */
const row = (e: CatalogEndpoint) => ({ api: e.api, instance: e.instance, addr: e.address, node: nodeOfNodeId(e.nodeId), up: e.state === 'up', node_id: e.nodeId, horde: e.horde, tags: e.tags ?? [] })
const ordered = (es: readonly CatalogEndpoint[]): CatalogEndpoint[] => [...es].sort((a, b) => (a.api < b.api ? -1 : a.api > b.api ? 1 : a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : a.nodeId < b.nodeId ? -1 : 1))

function table(es: readonly CatalogEndpoint[]): string {
  const cells = [['NODE-ID', 'API', 'INSTANCE', 'ADDR', 'STATE'], ...ordered(es).map((e) => [e.nodeId, e.api, e.instance, e.address, e.state])]
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n').join('')
}

/** A failed call as one line that names the target and says what to do about it. */
function explain(f: Reach, err: unknown): unknown {
  // The reeve's answers carry its address; our own errors are already fit to print.
  if (!isRemoteError(err, f.target)) return err
  const why = err.message.replace(/\s+/g, ' ')
  const tls = err.details?.tls
  // The server holds another key than the data dir's: that node's reeve would refuse its calls anyway.
  if (tls === 'pin') return new CruxError(Code.PERMISSION_DENIED, `the reeve at ${f.target} refused the call: ${f.dataDir} holds another node's key (use the data dir of the fulcrum serving ${f.target})`)
  if (tls !== undefined) return new CruxError(err.code, why.slice('reeve '.length))
  switch (err.code) {
    case Code.UNAVAILABLE:
      return new CruxError(err.code, `no reeve answers at ${f.target}${/ECONNREFUSED/.test(why) ? ': connection refused' : ''} (is a fulcrum serving gRPC there? see crux fulcrum --grpc)`)
    case Code.DEADLINE_EXCEEDED:
      return new CruxError(err.code, `no answer from the reeve at ${f.target} within ${DEADLINE_MS / 1000} s`)
    case Code.PERMISSION_DENIED:
      return new CruxError(err.code, `the reeve at ${f.target} refused the call: ${f.dataDir} holds another node's key (use the data dir of the fulcrum serving ${f.target})`)
    case Code.UNAUTHENTICATED:
      return new CruxError(err.code, `the reeve at ${f.target} refused the call: ${f.dataDir}'s key is not the one its whitelist gives the caller`)
    default:
      return new CruxError(err.code, why)
  }
}

/** Runs `fn` with a client of the reeve at `--target` signing as `--data-dir`'s node, and always closes it (so the process can exit). */
async function withReeve<T>(f: Reach, fn: (c: ReeveClient) => Promise<T>): Promise<T> {
  const { loadPeerTls } = await import('../../runtime/grpc-tls.js')
  const tls = loadPeerTls(f.dataDir)
  const { createReeveClient } = await import('../../actors/strew/client.js')
  return using(createReeveClient({ address: f.target, tls, timeoutMs: DEADLINE_MS }), fn, (err) => explain(f, err))
}



const serviceOpt = '--service <NAME>'
const serviceHelp = 'the service the API belongs to (NodeID /bloc/horde/node/SERVICE/API); default: the API without trailing digits and _ (Http1 → Http)'

/** Registers `crux service` and `crux registry`. */
export function registerStrew(program: Command): void {
  const service = program
    .command('service')
    .description("run services from bundles (start, stop, reset, upgrade, ls), or register ones run elsewhere with this node's reeve, keep them up, take them down")
    .addHelpText('after', '\nExample:\n  crux service register --target 127.77.0.1:50059 --data-dir /tmp/n1 --api Http1 --addr 127.77.0.1:8080')

  reachAs(
    service
      .command('register')
      .description('register a service of the node at --target: the catalog lists it for the flock until it is deregistered (or, with --ttl, until its heartbeats stop)')
      .requiredOption('--api <NAME>', 'the API served, an upper-case letter then letters, digits, _ (Http1)', apiName('--api'))
      .option('--instance <ID>', 'the instance name clients select by (the greatest matching one wins); default: the node id', instanceName('--instance', false))
      .option(serviceOpt, serviceHelp, apiName('--service'))
      .requiredOption('--addr <HOST:PORT>', 'where clients reach the service', target('--addr'))
      .option('--ttl <S>', 'keep it up by heartbeats, each holding S seconds (decimals allowed; or a duration such as 500ms, 2m): it goes down S seconds after this command unless `crux service heartbeat` renews it; default: up until deregistered', ttl)
      .option('--tag <TAG>', 'a label the catalog shows with the endpoint (repeat for more: at most 64, each 1–256 characters)', (v: string, all: string[] = []) => [...all, v]),
    'print {"node_id","api","instance","addr","ttl_s","tags"} (ttl_s null without --ttl)',
    '\nExample:\n  crux service register --target 127.77.0.1:50059 --data-dir /tmp/n1 --api Http1 --instance web-a --addr 127.77.0.1:8080',
  ).action((f: ServiceFlags) =>
    withReeve(f, async (c) => {
      const nodeId = await c.register({ service: f.service ?? defaultService(f.api), api: f.api, address: f.addr, ...(f.instance === undefined ? {} : { instance: f.instance }), ...(f.ttl === undefined ? {} : { ttlMs: f.ttl }), ...(f.tag === undefined ? {} : { tags: f.tag }) })
      const instance = f.instance ?? nodeOfNodeId(nodeId) // the reeve's default
      say(f, { node_id: nodeId, api: f.api, instance, addr: f.addr, ttl_s: f.ttl === undefined ? null : f.ttl / 1000, tags: f.tag ?? [] }, `${nodeId}\n`)
    }),
  )

  reachAs(
    service
      .command('heartbeat')
      .description('renew a registration made with --ttl: it stays up for S more seconds')
      .requiredOption('--api <NAME>', 'the API registered', apiName('--api'))
      .option(serviceOpt, serviceHelp, apiName('--service'))
      .requiredOption('--ttl <S>', 'how long this heartbeat holds: seconds (decimals allowed), or a duration such as 500ms, 2m', ttl),
    'print {"node_id","uuid","ttl_s"}',
    '\nExample:\n  crux service heartbeat --target 127.77.0.1:50059 --data-dir /tmp/n1 --api Http1 --ttl 10',
  ).action((f: ServiceFlags & { ttl: number }) =>
    withReeve(f, async (c) => {
      const svc = f.service ?? defaultService(f.api)
      const { heartbeatUuid } = await import('../../actors/strew/client.js')
      const uuid = heartbeatUuid({ service: svc, api: f.api })
      try {
        await c.heartbeat([{ uuid, ttlMs: f.ttl }])
      } catch (err) {
        if (err instanceof NotFoundError) throw new NotFoundError(`the reeve at ${f.target} keeps no ${uuid} by heartbeats (register it with --ttl first)`)
        throw err
      }
      const nodeId = await c.nodeIdOf({ service: svc, api: f.api })
      say(f, { node_id: nodeId, uuid, ttl_s: f.ttl / 1000 }, `${nodeId} up for ${formatDuration(f.ttl)}\n`)
    }),
  )

  reachAs(
    service
      .command('deregister')
      .description("remove a registration of the node at --target: found by API (and instance) among the node's own endpoints in its catalog, or named exactly with --service")
      .requiredOption('--api <NAME>', 'the API registered', apiName('--api'))
      .option('--instance <ID>', 'the instance, when the node registered the API more than once', instanceName('--instance', false))
      .option(serviceOpt, 'the service the API belongs to: names the NodeID without looking at the catalog', apiName('--service')),
    'print {"node_id"}',
    '\nExample:\n  crux service deregister --target 127.77.0.1:50059 --data-dir /tmp/n1 --api Http1',
  ).action((f: ServiceFlags) =>
    withReeve(f, async (c) => {
      // The NodeID a service of this API gets on this reeve (the client composes it as register does).
      const compose = (svc: string) => c.nodeIdOf({ service: svc, api: f.api })
      let nodeId: string
      if (f.service !== undefined) nodeId = await compose(f.service)
      else {
        const node = nodeOfNodeId(await compose(defaultService(f.api)))
        const { endpoints } = await c.catalog({ api: f.api })
        const mine = endpoints.filter((e) => nodeOfNodeId(e.nodeId) === node && (f.instance === undefined || e.instance === f.instance))
        if (mine.length > 1) throw new InvalidArgumentError(`the node has ${mine.length} registrations of ${f.api} (${mine.map((e) => e.instance).join(', ')}): name one with --instance or --service`)
        if (mine.length === 0 && f.instance !== undefined) throw new NotFoundError(`no ${f.api} instance ${f.instance} of node ${node} in the catalog at ${f.target}`)
        // None listed yet: the catalog comes back from the steward a moment after a registration,
        // so try the NodeID `register` gives by default; the reeve says if it has none.
        nodeId = mine[0]?.nodeId ?? (await compose(defaultService(f.api)))
      }
      try {
        await c.deregister(nodeId)
      } catch (err) {
        if (err instanceof NotFoundError) throw new NotFoundError(`${nodeId} is not registered with the reeve at ${f.target}`)
        throw err
      }
      say(f, { node_id: nodeId }, `deregistered ${nodeId}\n`)
    }),
  )

  const registry = program
    .command('registry')
    .description('the catalog of services as one node sees it, through its reeve')
    .addHelpText('after', '\nExample:\n  crux registry ls --target 127.77.0.1:50059 --data-dir /tmp/n1')

  reachAs(
    registry
      .command('ls')
      .description('list the catalog as the node at --target sees it: NODE-ID, API, INSTANCE, ADDR, STATE')
      .option('--api <NAME>', 'only this API', apiName('--api'))
      .option('--as <NODE_ID>', "only what this service may see: its horde and service pick the steward's rules (fulcrum --rules)"),
    'print {"services":[{"api","instance","addr","node","up","node_id","horde"}],"version"}',
    '\nExample:\n  crux registry ls --target 127.77.0.1:50059 --data-dir /tmp/n1 --json',
  ).action((f: Reach & { api?: string; as?: string }) =>
    withReeve(f, async (c) => {
      const { endpoints, version } = await c.catalog({ ...(f.api === undefined ? {} : { api: f.api }), ...(f.as === undefined ? {} : { nodeId: f.as }) })
      say(f, { services: ordered(endpoints).map(row), version }, endpoints.length === 0 ? `no services (catalog version ${version})\n` : table(endpoints))
    }),
  )

  reachAs(
    registry
      .command('get')
      .description('the instance a client of the node at --target would connect to: among the up ones of the API matching --instance, the greatest')
      .requiredOption('--api <NAME>', 'the API wanted', apiName('--api'))
      .option('--as <NODE_ID>', "choose among what this service may see (the steward's rules)")
      .option('--instance <SELECTOR>', "instance pattern, '*' matching any run of characters", instanceName('--instance', true), '*'),
    'print the chosen service as in registry ls --json, with "version"',
    "\nExample:\n  crux registry get --target 127.77.0.1:50059 --data-dir /tmp/n1 --api Http1 --instance 'web-*'",
  ).action((f: Reach & { api: string; instance: string; as?: string }) =>
    withReeve(f, async (c) => {
      const { pick } = await import('../../machines/strew/selector.js')
      const { endpoints, version } = await c.catalog({ api: f.api, ...(f.as === undefined ? {} : { nodeId: f.as }) })
      const e = pick(endpoints, { api: f.api, instance: f.instance })
      if (e === undefined) throw new NotFoundError(`no up instance of ${f.api} matches${f.instance === '*' ? '' : ` ${f.instance}`}`)
      say(f, { ...row(e), version }, `${e.address}  ${e.instance}  ${e.nodeId}\n`)
    }),
  )

  reachAs(
    registry
      .command('watch')
      .description('follow the catalog as the node at --target sees it: first all of it, then each change, until SIGINT or SIGTERM (exit 0); a failure of the reeve ends it with exit 1')
      .option('--api <NAME>', 'only this API', apiName('--api')),
    'print NDJSON: one {"endpoints":[…as registry ls --json],"removed":[NodeID…],"full","version"} per message',
    '\nExample:\n  crux registry watch --target 127.77.0.1:50059 --data-dir /tmp/n1 --api Http1 --json',
  ).action((f: Reach & { api?: string }) =>
    withReeve(f, async (c) => {
      // A stream has no deadline: a ping first finds out, within one, that the reeve is there.
      await c.ping()
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
        }
        const stop = () => {
          done()
          cancel()
          resolve()
        }
        const cancel = c.watch(
          f.api === undefined ? {} : { api: f.api },
          (m) => {
            const es = ordered(m.endpoints)
            // Whole catalogs as a header and indented entries; changes one line each, prefixed by version.
            const line = (e: CatalogEndpoint) => `${e.state.padEnd(4)} ${e.nodeId}  ${e.api}  ${e.instance}  ${e.address}\n`
            const text = m.full ? `v${m.version} whole catalog: ${es.length} services\n` + es.map((e) => `  ${line(e)}`).join('') : es.map((e) => `v${m.version} ${line(e)}`).join('') + m.removed.map((id) => `v${m.version} gone ${id}\n`).join('')
            say(f, { endpoints: es.map(row), removed: m.removed, full: m.full, version: m.version }, text)
          },
          (err) => {
            done()
            // The watch runs until we stop it: the reeve ending it is a failure too.
            reject(err ?? new UnavailableError(`the reeve at ${f.target} ended the watch`))
          },
        )
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
    }),
  )
}

/** The shared flags, the reeve's own node only. */
function reachAs(cmd: Command, json: string, example: string): Command {
  return reach(cmd, json, example, ', as the reeve takes calls from its own node only')
}
