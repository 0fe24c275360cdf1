/**
 * The strew layer measured the way ../shared/peers/etcd-bench.sh measures etcd (lib/etcd-bench.mjs):
 * one real `crux fulcrum` (a flock of one: leader, steward and reeve in one process, as etcd is one
 * member) on 127.77.90.1 (`--ip` moves it), driven over gRPC from this process by the reeve client,
 * every call over the flock's mutual TLS.
 *
 * - put: a service registration (RegisterService), answered once it is in the reeve's log on disk
 *   (one fdatasync per group of calls), as etcd answers a put once its WAL is synced. `--keys`
 *   sequential, then `--keys` more with `--conc` in flight.
 * - get: a lookup of one registration by its NodeID in the node's catalog (GetCatalog), sequential
 *   and concurrent, once every put has reached the catalog through the steward (`catalog_converge_s`).
 * - lease: `--leases` registrations each kept by its own heartbeats (TTL `--ttl`), `--conc` in flight;
 *   kept alive for `--keepalive-s` by one heartbeat call per registration every TTL/3, then left to
 *   lapse; a catalog watch records when each is seen down. Overshoot: seen down − (last heartbeat
 *   answered + TTL), as etcd-bench computes it from delete events.
 *
 * - memory: the fulcrum's RSS is read from /proc every 50 ms; `<phase>_rss_mb_max` is its highest
 *   reading during a phase, `<phase>_heap_mb` V8's used / total heap (its /metrics) and
 *   `<phase>_malloc_mb` the C library's main heap at the phase's end; `idle_rss_mb` the RSS
 *   `--idle-s` seconds after the last phase (what the process gives back; V8's memory reducer
 *   starts some 10–40 s after the load ends).
 *
 *   npm run bench -- strew [--keys 10000] [--conc 64] [--leases 1000] [--ttl 5] [--keepalive-s 10] [--hb 1000]
 *                          [--ip 127.77.90.1] [--idle-s 45] [--node-flags "--max-semi-space-size=1 …"] [--no-malloc-env]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createReeveClient, heartbeatUuid, type ReeveClient } from '../actors/strew/client.js'
import { loadPeerTls } from '../runtime/grpc-tls.js'
import { generateSecret } from '../runtime/secret.js'
import { flag, stringFlag } from './flags.js'
import { pool, quantile, r2, timedPhase } from './lib/pool.js'
import { deployEnvironment } from './lib/deploy-env.js'
import { procCpuS, statusKb } from './lib/proc.js'

/**
 * The fulcrum starts with the environment of the deploy files (bench/lib/deploy-env.ts): a 1 MB
 * young generation and the C heap's mmap threshold fixed (docs/OPERATING.md, "Sizing", says why). With Node's defaults the fulcrum of this
 * benchmark peaked 300–330 MB.
 */
const DEPLOY = deployEnvironment()
const crux = fileURLToPath(new URL('../bin/crux.bundle.mjs', import.meta.url))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const now = () => performance.now()

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const KEYS = flag(args, '--keys', 10_000)
  const CONC = flag(args, '--conc', 64)
  const LEASES = flag(args, '--leases', 1_000)
  const TTL = flag(args, '--ttl', 5)
  const KEEPALIVE_S = flag(args, '--keepalive-s', 2 * TTL)
  const HB = flag(args, '--hb', 1_000)
  const IP = stringFlag(args, '--ip', '127.77.90.1')
  const IDLE_S = flag(args, '--idle-s', 45)
  const nodeFlags = args.includes('--node-flags') ? stringFlag(args, '--node-flags', '').split(' ').filter((f) => f !== '') : DEPLOY.nodeFlags
  const env = args.includes('--no-malloc-env') ? process.env : { ...process.env, ...DEPLOY.env }
  const out: Record<string, unknown> = { keys: KEYS, conc: CONC, leases: LEASES, ttl_s: TTL, hb_ms: HB }
  const log = (s: string) => process.stderr.write(`[strew-bench] ${s}\n`)
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-bench-'))
  const secretFile = join(dir, 'flock.secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const dataDir = join(dir, 'n1')
  // Started as an operator starts it: `crux fulcrum` with the Node options and environment of the
  // deploy files (unless --node-flags, --no-malloc-env), not the driver's flags.
  const child = spawn(process.execPath, [...nodeFlags, crux, 'fulcrum', '--metrics', `${IP}:23124`, '--listen', `${IP}:23123`, '--probe', `${IP}:23123`, '--secret-file', secretFile, '--data-dir', dataDir, '--heartbeat', String(HB), '--grpc', `${IP}:50059`, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'], env })
  let client: ReeveClient | undefined
  const mem = memoryWatch(child.pid!, `http://${IP}:23124/metrics`)
  try {
    const t0 = now()
    for (let i = 0; ; i++) {
      try {
        client ??= createReeveClient({ address: `${IP}:50059`, tls: loadPeerTls(dataDir), timeoutMs: 30_000 })
        if ((await client.ping()).steward !== '') break
      } catch {
        // not up yet
      }
      if (i > 300) throw new Error('the fulcrum did not serve a registered reeve within 30 s')
      await sleep(100)
    }
    const c = client!
    out.start_s = r2((now() - t0) / 1000)
    const phase = async (name: string, n: number, conc: number, fn: (i: number) => Promise<unknown>) => {
      await timedPhase(name, n, conc, fn, out, log)
      await mem.phase(name, out, log)
    }
    const key = (p: string, i: number) => `${p}${String(i).padStart(6, '0')}`
    const seqIds: string[] = []
    const concIds: string[] = []
    await phase('put_seq', KEYS, 1, async (i) => (seqIds[i] = await c.register({ service: key('S', i), api: 'Bench1', address: '127.0.0.1:9000' })))
    await phase('put_conc', KEYS, CONC, async (i) => (concIds[i] = await c.register({ service: key('C', i), api: 'Bench1', address: '127.0.0.1:9000' })))
    const tc = now()
    while ((await c.catalog({ api: 'Bench1' })).endpoints.length < 2 * KEYS) {
      if (now() - tc > 60_000) throw new Error('the catalog did not reach every registration within 60 s')
      await sleep(20)
    }
    out.catalog_converge_s = r2((now() - tc) / 1000)
    await mem.phase('catalog_converge', out, log)
    const get = async (id: string) => {
      const r = await c.catalog({ endpoint: id })
      if (r.endpoints.length !== 1) throw new Error(`lookup of ${id} found ${r.endpoints.length}`)
    }
    await phase('get_seq', KEYS, 1, (i) => get(seqIds[i]!))
    await phase('get_conc', KEYS, CONC, (i) => get(concIds[i]!))
    {
      const t = now()
      const all = await c.catalog({ api: 'Bench1' })
      out.range_all_ms = r2(now() - t)
      if (all.endpoints.length !== 2 * KEYS) throw new Error(`range returned ${all.endpoints.length}`)
    }
    await phase('del_conc', 2 * KEYS, CONC, (i) => c.deregister(i < KEYS ? seqIds[i]! : concIds[i - KEYS]!))

    // ---- leases: registrations kept by heartbeats ----
    const down = new Map<string, number>()
    let watchFailed: Error | null = null
    const cancel = c.watch({ api: 'Lease1' }, (m) => {
      const t = now()
      for (const e of m.endpoints) if (e.state === 'down' && !down.has(e.nodeId)) down.set(e.nodeId, t)
    }, (err) => void (watchFailed = err))
    const ttlMs = TTL * 1000
    const ids: string[] = []
    const lastAlive = new Array<number>(LEASES).fill(0)
    const tReg = now()
    await pool(LEASES, CONC, async (i) => {
      ids[i] = await c.register({ service: key('L', i), api: 'Lease1', address: '127.0.0.1:9000', ttlMs })
      lastAlive[i] = now()
    })
    const regS = (now() - tReg) / 1000
    out.lease_register_ops = Math.round(LEASES / regS)
    log(`registered ${LEASES} with a ${TTL} s TTL in ${regS.toFixed(2)} s`)
    await mem.phase('lease_register', out, log)
    const tKa = now()
    const rounds: number[] = []
    for (;;) {
      const r0 = now()
      await pool(LEASES, CONC, async (i) => {
        await c.heartbeat([{ uuid: heartbeatUuid({ service: key('L', i), api: 'Lease1' }), ttlMs }])
        lastAlive[i] = now()
      })
      rounds.push(now() - r0)
      if ((now() - tKa) / 1000 >= KEEPALIVE_S) break
      await sleep(Math.max(0, ttlMs / 3 - (now() - r0)))
    }
    out.keepalive_round_ms = r2(quantile(rounds, 0.5))
    out.keepalive_rounds = rounds.length
    await mem.phase('keepalive', out, log)
    const tStop = now()
    const upNow = (await c.catalog({ api: 'Lease1' })).endpoints.filter((e) => e.state === 'up').length
    out.alive_after_keepalive = `${upNow}/${LEASES}`
    if (down.size > 0) log(`WARNING: ${down.size} went down while kept alive`)
    const deadline = tStop + (TTL * 4 + 30) * 1000
    while (down.size < LEASES && now() < deadline && watchFailed === null) await sleep(20)
    cancel()
    if (down.size < LEASES) {
      out.lease_expire_last_s = 'NA'
      out.lease_unexpired = LEASES - down.size
    } else {
      const since = [...down.values()].map((t) => (t - tStop) / 1000)
      out.lease_expire_first_s = r2(Math.min(...since))
      out.lease_expire_last_s = r2(Math.max(...since))
      const over = ids.map((id, i) => (down.get(id)! - lastAlive[i]!) / 1000 - TTL)
      out.lease_overshoot_p50_s = r2(quantile(over, 0.5))
      out.lease_overshoot_max_s = r2(Math.max(...over))
    }
    await mem.phase('lease_expire', out, log)
    out.crux_rss_mb_peak = r2(statusKb(child.pid!, 'VmHWM') / 1024)
    await sleep(IDLE_S * 1000)
    await mem.phase('idle', out, log)
    out.idle_rss_mb = r2(statusKb(child.pid!, 'VmRSS') / 1024)
    out.crux_cpu_s = r2(procCpuS(child.pid!))
    const cu = process.cpuUsage()
    out.client_cpu_s = r2((cu.user + cu.system) / 1e6)
    return out
  } finally {
    mem.stop()
    client?.close()
    child.kill('SIGTERM')
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A prom-client gauge's value in a /metrics text (the sum over its labels); NaN when absent. */
function metric(text: string, name: string, labels = ''): number {
  let sum = NaN
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + (labels === '' ? '' : `{${labels}`))) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

/** The resident kB of `pid`'s mappings named `name` (`[heap]`: the C library's main malloc heap). */
function smapsRssKb(pid: number, name: string): number {
  let kb = 0
  let inside = false
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inside = line.trimEnd().endsWith(` ${name}`)
    else if (inside && line.startsWith('Rss:')) kb += Number(/\d+/.exec(line)![0])
  }
  return kb
}

/**
 * Watches the fulcrum's memory: the highest RSS since the last phase (from /proc, every 50 ms: a
 * peak between two phases' ends would otherwise go unseen), and V8's heap at each phase's end.
 */
function memoryWatch(pid: number, metricsUrl: string) {
  let max = 0
  const timer = setInterval(() => {
    try {
      max = Math.max(max, statusKb(pid, 'VmRSS'))
    } catch {
      // the process has exited
    }
  }, 50)
  return {
    async phase(name: string, out: Record<string, unknown>, log: (s: string) => void): Promise<void> {
      max = Math.max(max, statusKb(pid, 'VmRSS'))
      out[`${name}_rss_mb_max`] = r2(max / 1024)
      max = 0
      try {
        const text = await (await fetch(metricsUrl)).text()
        const mb = (x: number) => r2(x / 2 ** 20)
        const used = mb(metric(text, 'nodejs_heap_size_used_bytes'))
        const total = mb(metric(text, 'nodejs_heap_size_total_bytes'))
        const young = mb(metric(text, 'nodejs_heap_space_size_total_bytes', 'space="new"'))
        const external = mb(metric(text, 'nodejs_external_memory_bytes'))
        const brk = r2(smapsRssKb(pid, '[heap]') / 1024)
        out[`${name}_heap_mb`] = `${used}/${total}`
        out[`${name}_malloc_mb`] = brk
        log(`  ${name}: rss max ${out[`${name}_rss_mb_max`]} MB, now ${r2(statusKb(pid, 'VmRSS') / 1024)}: V8 heap used ${used} of ${total} MB (new space ${young}), external ${external} MB, malloc's main heap ${brk} MB`)
      } catch (err) {
        log(`  ${name}: rss max ${out[`${name}_rss_mb_max`]} MB, /metrics unreadable: ${err instanceof Error ? err.message : String(err)}`)
      }
    },
    stop: () => clearInterval(timer),
  }
}
