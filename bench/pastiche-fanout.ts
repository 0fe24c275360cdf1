/**
 * One blob to many fulcrums at once, against the same number of copies one after another.
 *
 * `--nodes` + 1 real `crux fulcrum` processes (deploy Node options, heartbeat 200 ms, one flock probing
 * `--ip`.0/28): A on `--ip`.1 holds the blob (`--mib` MiB, default 1024 or PASTICHE_FANOUT_MIB, put
 * into A's store), B1… on `--ip`.2… receive it. The run starts once every node lets every other in.
 * - *sequential*: each Bi in turn pulls the whole blob from A with the Fetch call (`crux pastiche
 *   fetch`); `sequential_s` is the sum, `seq_copy_s` each copy's. Then gc on every Bi, and each must
 *   list nothing; then every node's catalog must name A alone as holding the blob (the Bi announced
 *   their copies: `catalog_settle_s` until the withdrawals reached every node), so the fan-out starts
 *   from A alone.
 * - *at once*: Want (with the size) on every Bi at the same instant; each node's pastiche machine finds
 *   holders by asking its peers and splits the blob among them, and a node that completes holds it
 *   for the others to ask. `at_once_s` runs until every Bi lists the blob held (each polled with Ls
 *   every 150 ms, so a node's time is late by up to that), `at_once_node_s` each node's; every Bi is
 *   then checked with Has. `peers_min` is the fewest peers a Want said its node knew.
 * `ratio` = sequential_s / at_once_s (above 1: the fan-out won); `aggregate_mib_s` = nodes × mib /
 * at_once_s. Per phase: peak RSS (VmHWM, reset before each phase) of A and the largest over the Bi;
 * CPU seconds of all fulcrums (`_cpu_s`), of this process (`_bench_cpu_s`) and of the whole machine
 * (`_machine_cpu_s`: the rest is other work sharing the cores). `idle_cpu_s_per_s`: what the idle
 * flock takes (CPU seconds per second over 3 s before the put); `load_avg` the machine's at the end.
 * `--trace`: every Bi also writes its journal, read at the end for where its machine's ranges came from
 * (`sources`: MiB from A and from the other Bi, ranges and how they ended, nodes served by A alone);
 * journaling costs the nodes some work, so the timed figures of a traced run are a little pessimistic.
 *
 *   npm run bench -- pastiche-fanout [--mib 1024] [--nodes 10] [--ip 127.79.10] [--trace]
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPasticheClient, type PasticheClient } from '../actors/pastiche/client.js'
import { createReeveClient, type ReeveClient } from '../actors/strew/client.js'
import { loadPeerTls } from '../runtime/grpc-tls.js'
import { generateSecret } from '../runtime/secret.js'
import { flag, stringFlag } from './flags.js'
import { blobChunks, machineBusyS, MiB, r1, ready, sleep, startFulcrum, stopAll, untilMember } from './lib/pastiche-fleet.js'
import { untilCatalogHolders } from './lib/pastiche-catalog.js'
import { summarizeSources } from './lib/pastiche-sources.js'
import { procCpuS, statusKb } from './lib/proc.js'

const log = (s: string) => process.stderr.write(`[pastiche-fanout] ${s}\n`)
/** The longest a phase's transfers may take before the run fails. */
const TRANSFER_BOUND_MS = 20 * 60_000
const POLL_MS = 150
const IDLE_MS = 3_000
const r2 = (n: number) => Math.round(n * 100) / 100
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return { min: r2(s[0]!), median: r2(s[Math.floor((s.length - 1) / 2)]!), max: r2(s[s.length - 1]!) }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const MIB = flag(args, '--mib', Number(process.env.PASTICHE_FANOUT_MIB ?? 1024))
  const NODES = flag(args, '--nodes', 10)
  const IP = stringFlag(args, '--ip', '127.79.10')
  const TRACE = args.includes('--trace')
  // A /28 leaves out its network and broadcast addresses: hosts .1–.14, A and at most 13 receivers.
  if (NODES > 13) throw new Error('--nodes must be 1–13 (A and the receivers share one /28)')
  const dir = mkdtempSync(join(tmpdir(), 'crux-pastiche-fanout-'))
  const children: ChildProcess[] = []
  const clients: PasticheClient[] = []
  const reeveClients: ReeveClient[] = []
  const name = (n: number) => (n === 1 ? 'A' : `B${n - 1}`)
  // A fulcrum that exits before the end fails the run at once, whatever it is waiting for.
  let stopping = false
  let died: (err: Error) => void = () => undefined
  const death = new Promise<never>((_, reject) => (died = reject))
  const measure = async (): Promise<Record<string, unknown>> => {
    const secretFile = join(dir, 'flock.secret')
    writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
    const addr = (n: number) => `${IP}.${n}:50059`
    const dataDir = (n: number) => join(dir, `n${n}`)
    const trace = (n: number) => join(dir, `n${n}.ndjson`)
    for (let n = 1; n <= NODES + 1; n++) {
      const child = startFulcrum(IP, n, secretFile, dataDir(n), `${IP}.0/28`, TRACE && n > 1 ? ['--trace', trace(n)] : [])
      child.once('exit', (code, signal) => stopping || died(new Error(`${name(n)} (${addr(n)}) exited (${code ?? signal}) during the run`)))
      children.push(child)
    }
    const [a, ...bs] = children as [ChildProcess, ...ChildProcess[]]
    const failed = (what: string) => (err: unknown) => Promise.reject(new Error(`${what} within 30 s (${err instanceof Error ? err.message : String(err)})`))
    for (let n = 1; n <= NODES + 1; n++) clients.push(await ready(() => createPasticheClient({ address: addr(n), tls: loadPeerTls(dataDir(n)), timeoutMs: 30_000 })).catch(failed(`${name(n)} (${addr(n)}) did not serve`)))
    const [ca, ...cbs] = clients as [PasticheClient, ...PasticheClient[]]
    // Every node lets every other in (each is in every member list): the flock has them all.
    const t = performance.now()
    await Promise.all(clients.map((c, i) => Promise.all(clients.map((_, j) => (i === j ? undefined : untilMember(c, addr(j + 1)).catch(failed(`${name(j + 1)} did not let ${name(i + 1)} in`)))))))
    log(`${NODES + 1} fulcrums in one flock after ${Math.round(performance.now() - t)} ms more; putting ${MIB} MiB into A`)
    // What the idle flock costs (heartbeats, membership): part of every phase's CPU.
    const idle0 = children.reduce((s, p) => s + procCpuS(p.pid!), 0)
    await sleep(IDLE_MS)
    const idleCpu = (children.reduce((s, p) => s + procCpuS(p.pid!), 0) - idle0) / (IDLE_MS / 1000)
    const h = createHash('sha256')
    const put = await ca.put(blobChunks(MIB, h), { bytes: MIB * MiB })
    const hash = `sha256:${h.digest('hex')}`
    if (put.hash !== hash || put.bytes !== MIB * MiB) throw new Error(`A stored ${put.hash} (${put.bytes} bytes), ${hash} expected`)
    const out: Record<string, unknown> = { mib: MIB, nodes: NODES, idle_cpu_s_per_s: r2(idleCpu), a_put_hwm_mb: r1(statusKb(a.pid!, 'VmHWM') / 1024) }
    const phase = () => {
      for (const p of children) writeFileSync(`/proc/${p.pid}/clear_refs`, '5') // resets VmHWM
      const cpu0 = children.reduce((s, p) => s + procCpuS(p.pid!), 0)
      const busy0 = machineBusyS()
      const own0 = process.cpuUsage()
      return (name: string) => {
        out[`${name}_machine_cpu_s`] = r1(machineBusyS() - busy0)
        const own = process.cpuUsage(own0)
        out[`${name}_bench_cpu_s`] = r1((own.user + own.system) / 1e6)
        out[`${name}_a_hwm_mb`] = r1(statusKb(a.pid!, 'VmHWM') / 1024)
        out[`${name}_b_hwm_mb_max`] = r1(Math.max(...bs.map((p) => statusKb(p.pid!, 'VmHWM'))) / 1024)
        out[`${name}_cpu_s`] = r1(children.reduce((s, p) => s + procCpuS(p.pid!), 0) - cpu0)
      }
    }
    let end = phase()
    const copies: number[] = []
    for (const [i, c] of cbs.entries()) {
      const t0 = performance.now()
      const r = await c.fetch(hash, addr(1), TRANSFER_BOUND_MS)
      copies.push((performance.now() - t0) / 1000)
      if (r.bytes !== MIB * MiB || r.existed) throw new Error(`B${i + 1}'s fetch answered ${JSON.stringify(r)}`)
    }
    end('seq')
    const sequential = copies.reduce((s, x) => s + x, 0)
    log(`sequential: ${NODES} copies in ${r1(sequential)} s`)
    for (const [i, c] of cbs.entries()) {
      await c.gc()
      const left = (await c.ls()).blobs
      if (left.length > 0) throw new Error(`B${i + 1} still lists ${JSON.stringify(left)} after gc`)
    }
    // The Bi announced their copies in the catalog; a machine that still saw one there would split
    // the blob among holders that are gone. The fan-out starts once every catalog names A alone.
    const reeves = children.map((_, i) => createReeveClient({ address: addr(i + 1), tls: loadPeerTls(dataDir(i + 1)), timeoutMs: 10_000 }))
    reeveClients.push(...reeves)
    out.catalog_settle_s = r2(await untilCatalogHolders(reeves, children.map((_, i) => name(i + 1)), hash, MIB * MiB, [addr(1)], 30_000))
    end = phase()
    const t0 = performance.now()
    const wants = await Promise.all(cbs.map((c) => c.want(hash, MIB * MiB)))
    const done: Array<number | undefined> = cbs.map(() => undefined)
    while (done.includes(undefined)) {
      if (performance.now() - t0 > TRANSFER_BOUND_MS) throw new Error(`${done.flatMap((d, i) => (d === undefined ? [`B${i + 1}`] : [])).join(', ')} did not hold the blob within ${TRANSFER_BOUND_MS / 1000} s of the want`)
      await sleep(POLL_MS)
      await Promise.all(
        cbs.map(async (c, i) => {
          if (done[i] !== undefined) return
          const held = (await c.ls()).blobs.some((b) => b.hash === hash && b.held)
          if (held) done[i] = (performance.now() - t0) / 1000
        }),
      )
    }
    const atOnce = Math.max(...(done as number[]))
    end('at_once')
    for (const [i, c] of cbs.entries()) {
      const has = await c.has(hash)
      if (!has.held || has.bytes !== MIB * MiB) throw new Error(`B${i + 1} lists the blob but Has answers ${JSON.stringify(has)}`)
    }
    log(`at once: ${NODES} nodes in ${r1(atOnce)} s`)
    Object.assign(out, {
      sequential_s: r2(sequential),
      at_once_s: r2(atOnce),
      ratio: r2(sequential / atOnce),
      at_once_node_s: spread(done as number[]),
      seq_copy_s: spread(copies),
      seq_per_copy_mib_s: r1((MIB * NODES) / sequential),
      aggregate_mib_s: r1((MIB * NODES) / atOnce),
      peers_min: Math.min(...wants.map((w) => w.peers)),
      load_avg: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    })
    if (TRACE) {
      for (const c of [...clients, ...reeveClients]) c.close()
      clients.length = reeveClients.length = 0
      // A graceful stop flushes each journal; then read where every Bi's ranges came from.
      stopping = true
      await stopAll(bs, 15_000)
      out.sources = await summarizeSources(bs.map((_, i) => trace(i + 2)), addr(1))
    }
    return out
  }
  try {
    const running = measure()
    running.catch(() => undefined) // once a fulcrum died, what the run was doing fails too: not news
    return await Promise.race([running, death])
  } finally {
    stopping = true
    for (const c of [...clients, ...reeveClients]) c.close()
    for (const c of children) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}
