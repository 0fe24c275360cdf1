/**
 * Running services (issue 17): 5 real `crux fulcrum` processes (deploy Node options, heartbeat 200 ms,
 * one flock on `--ip`.1–5), the bundles made from examples/echo (one per API: a node runs an API once).
 * - `start_present_ms`: `crux service start` (the PicketService Start call) on node 1, which holds the
 *   bundle, until the service answers an HTTP call through `connect` (actors/strew/connect.ts) on
 *   node 2 — its catalog names it, and the address answers.
 * - `start_fetched_ms`: the same on node 3 with a bundle only node 1 holds (fetched through pastiche first).
 * - `restart_ms`: the service on node 1 killed with SIGKILL, until it answers again through `connect`
 *   on node 2 (a new process at a new address: backoff 250 ms, spawn, register, the catalog's push).
 * - `per_service_rss_mb`, `per_service_cpu_ms_per_s`: what node 1's fulcrum adds per running service
 *   (RSS and CPU over 10 s with `--per-node` services against none), and `child_rss_mb` each service's
 *   own process (the echo example: an idle Node).
 * - `hundred_s`: `--per-node` × 5 services (100 by default) started across the 5 fulcrums at once,
 *   until every one answers through `connect` on node 2; `hundred_start_p50_ms`/`_max_ms` each one's.
 *
 *   npm run bench -- services [--ip 127.79.30] [--per-node 20]
 */
import type { ChildProcess } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPasticheClient, type PasticheClient } from '../actors/pastiche/client.js'
import { packTar } from '../actors/pastiche/tar.js'
import { createPicketClient, type PicketClient } from '../actors/picket/client.js'
import { createReeveClient, type ReeveClient } from '../actors/strew/client.js'
import { pick } from '../machines/strew/selector.js'
import { loadPeerTls } from '../runtime/grpc-tls.js'
import { generateSecret } from '../runtime/secret.js'
import { flag, stringFlag } from './flags.js'
import { r1, ready, sleep, startFulcrum, stopAll } from './lib/pastiche-fleet.js'

const ECHO = fileURLToPath(new URL('../../examples/echo', import.meta.url))
const NODES = 5

/** POSTs to host:port; resolves true when it answered what was sent. */
const answers = (address: string): Promise<boolean> =>
  new Promise((resolve) => {
    const at = address.lastIndexOf(':')
    const req = request({ host: address.slice(0, at), port: Number(address.slice(at + 1)), method: 'POST', timeout: 1000 }, (res) => {
      let s = ''
      res.on('data', (c: Buffer) => (s += c.toString()))
      res.on('end', () => resolve(s === 'ping'))
      res.on('error', () => resolve(false))
    })
    req.on('error', () => resolve(false))
    req.on('timeout', () => req.destroy())
    req.end('ping')
  })

/** ms from `t0` until `api`'s endpoint in `reeve`'s catalog (other than `not`) answers, polling every 10 ms. */
async function answered(reeve: ReeveClient, api: string, t0: number, not = '', boundMs = 60_000): Promise<number> {
  for (;;) {
    const e = pick((await reeve.catalog({ api })).endpoints, { api })
    if (e !== undefined && e.address !== not && (await answers(e.address))) return performance.now() - t0
    if (performance.now() - t0 > boundMs) throw new Error(`${api} did not answer within ${boundMs} ms`)
    await sleep(10)
  }
}

const ticks = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).reduce((s, x) => s + Number(x), 0)
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

/** RSS and CPU (ms per s) of process `pid` over `s` seconds. */
async function idleCost(pid: number, s: number): Promise<{ rss: number; cpu: number }> {
  const c0 = ticks(pid)
  await sleep(s * 1000)
  return { rss: rssMb(pid), cpu: ((ticks(pid) - c0) * 10) / s }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const ip = stringFlag(args, '--ip', '127.79.30')
  const perNode = flag(args, '--per-node', 20)
  const dir = mkdtempSync(join(tmpdir(), 'crux-bench-services-'))
  const secret = join(dir, 'flock.secret')
  writeFileSync(secret, generateSecret() + '\n', { mode: 0o600 })
  const procs: ChildProcess[] = []
  const closers: Array<{ close(): void }> = []
  try {
    for (let n = 1; n <= NODES; n++) procs.push(startFulcrum(ip, n, secret, join(dir, `n${n}`)))
    const grpc = (n: number) => `${ip}.${n}:50059`
    const tls = (n: number) => loadPeerTls(join(dir, `n${n}`))
    const stores: PasticheClient[] = []
    for (let n = 1; n <= NODES; n++) stores.push(await ready(() => createPasticheClient({ address: grpc(n), tls: tls(n) })))
    const pickets = Array.from({ length: NODES }, (_, i) => createPicketClient({ address: grpc(i + 1), tls: tls(i + 1) }))
    const reeve = createReeveClient({ address: grpc(2), tls: tls(2), timeoutMs: 5000 })
    closers.push(...stores, ...pickets, reeve)
    // Every node's pastiche in node 2's catalog: the flock and its catalog stand.
    for (const t0 = Date.now(); (await reeve.catalog({ api: 'Pastiche1' })).endpoints.length < NODES; await sleep(100)) if (Date.now() - t0 > 60_000) throw new Error('the flock did not form')

    /** A bundle of the echo example serving `api`, put into node 1's store. */
    const bundle = async (api: string): Promise<string> => {
      const to = join(dir, 'bundles', api)
      cpSync(ECHO, to, { recursive: true })
      writeFileSync(join(to, 'crux-service.json'), JSON.stringify({ api, instance: api.toLowerCase(), entry: 'service.mjs', ttlMs: 3000 }))
      return (await stores[0]!.put((await packTar(to)) as AsyncIterable<Uint8Array>)).hash
    }

    const present = await bundle('Present1')
    let t0 = performance.now()
    const first = await pickets[0]!.start('present', present)
    const startPresent = await answered(reeve, 'Present1', t0)
    const fetched = await bundle('Fetched1')
    t0 = performance.now()
    await pickets[2]!.start('fetched', fetched)
    const startFetched = await answered(reeve, 'Fetched1', t0)

    // A crash: from the kill to an answer at the new address.
    const before = (await pickets[0]!.list()).find((s) => s.name === 'present')!
    t0 = performance.now()
    process.kill(before.pid, 'SIGKILL')
    const restart = await answered(reeve, 'Present1', t0, before.address)
    const childRss = rssMb((await pickets[0]!.list()).find((s) => s.name === 'present')!.pid)
    await pickets[0]!.reset('present')
    await pickets[2]!.reset('fetched')

    // What the fulcrum adds per running service: node 1 idle with none, then with perNode.
    const fulcrumPid = procs[0]!.pid!
    await sleep(2000)
    const idle = await idleCost(fulcrumPid, 10)
    const apis = Array.from({ length: perNode }, (_, k) => `Bench${k + 1}`)
    const hashes = await Promise.all(apis.map((a) => bundle(a)))
    // Every node runs every API once: 5 × perNode services, started at once (the bundles are on node 1).
    t0 = performance.now()
    await Promise.all(pickets.flatMap((p, n) => hashes.map((h, k) => p.start(`b${k + 1}`, h).then(() => n))))
    const each: number[] = []
    await Promise.all(
      apis.map(async (api) => {
        const nodes = new Set<string>()
        for (;;) {
          const up = (await reeve.catalog({ api })).endpoints.filter((e) => e.state === 'up')
          for (const e of up) if (!nodes.has(e.address) && (await answers(e.address))) (nodes.add(e.address), each.push(performance.now() - t0))
          if (nodes.size === NODES) return
          if (performance.now() - t0 > 120_000) throw new Error(`${api}: ${nodes.size} of ${NODES} answer after 120 s`)
          await sleep(20)
        }
      }),
    )
    const hundred = (performance.now() - t0) / 1000
    await sleep(2000)
    const busy = await idleCost(fulcrumPid, 10)
    each.sort((a, b) => a - b)
    return {
      bench: 'services',
      nodes: NODES,
      start_present_ms: Math.round(startPresent),
      start_fetched_ms: Math.round(startFetched),
      first_answer_state: first.state,
      restart_ms: Math.round(restart),
      child_rss_mb: r1(childRss),
      per_service_rss_mb: r1((busy.rss - idle.rss) / perNode),
      per_service_cpu_ms_per_s: Math.round(((busy.cpu - idle.cpu) / perNode) * 100) / 100,
      fulcrum_rss_mb: { idle: r1(idle.rss), with_services: r1(busy.rss) },
      fulcrum_cpu_ms_per_s: { idle: r1(idle.cpu), with_services: r1(busy.cpu) },
      services_at_once: NODES * perNode,
      hundred_s: r1(hundred),
      hundred_start_p50_ms: Math.round(each[each.length >> 1]!),
      hundred_start_max_ms: Math.round(each[each.length - 1]!),
      load_avg: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    }
  } finally {
    for (const c of closers) c.close()
    await stopAll(procs, 30_000).catch(() => procs.forEach((p) => p.kill('SIGKILL')))
    rmSync(dir, { recursive: true, force: true })
  }
}
