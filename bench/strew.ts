/**
 * The strew layer measured the way ../shared/peers/etcd-bench.sh measures etcd (lib/etcd-bench.mjs):
 * one real `crux fulcrum` (a flock of one: leader, steward and reeve in one process, as etcd is one
 * member) on 127.77.90.1, driven over gRPC from this process by the reeve client, every call over the flock's mutual TLS.
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
 *   npm run bench -- strew [--keys 10000] [--conc 64] [--leases 1000] [--ttl 5] [--keepalive-s 10] [--hb 1000]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createReeveClient, heartbeatUuid, type ReeveClient } from '../actors/strew/client.js'
import { loadPeerTls } from '../runtime/grpc-tls.js'
import { generateSecret } from '../runtime/secret.js'
import { flag } from './flags.js'
import { procCpuS, statusKb } from './lib/proc.js'

const IP = '127.77.90.1'
const crux = fileURLToPath(new URL('../bin/crux.bundle.mjs', import.meta.url))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const now = () => performance.now()

/** Runs fn(i) for i in [0, n) with at most `conc` in flight; per-op latencies in ms. */
async function pool(n: number, conc: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat = new Array<number>(n)
  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= n) return
      const t = now()
      await fn(i)
      lat[i] = now() - t
    }
  }
  await Promise.all(Array.from({ length: Math.min(conc, n) }, worker))
  return lat
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
const r2 = (x: number) => Math.round(x * 100) / 100


export async function run(args: string[]): Promise<Record<string, unknown>> {
  const KEYS = flag(args, '--keys', 10_000)
  const CONC = flag(args, '--conc', 64)
  const LEASES = flag(args, '--leases', 1_000)
  const TTL = flag(args, '--ttl', 5)
  const KEEPALIVE_S = flag(args, '--keepalive-s', 2 * TTL)
  const HB = flag(args, '--hb', 1_000)
  const out: Record<string, unknown> = { keys: KEYS, conc: CONC, leases: LEASES, ttl_s: TTL, hb_ms: HB }
  const log = (s: string) => process.stderr.write(`[strew-bench] ${s}\n`)
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-bench-'))
  const secretFile = join(dir, 'flock.secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const dataDir = join(dir, 'n1')
  // Started as an operator starts it: `crux fulcrum`, Node's default flags.
  const child = spawn(process.execPath, [crux, 'fulcrum', '--listen', `${IP}:23123`, '--probe', `${IP}:23123`, '--secret-file', secretFile, '--data-dir', dataDir, '--heartbeat', String(HB), '--grpc', `${IP}:50059`, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] })
  let client: ReeveClient | undefined
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
      const t = now()
      const lat = await pool(n, conc, fn)
      const s = (now() - t) / 1000
      out[`${name}_ops`] = Math.round(n / s)
      out[`${name}_p50_ms`] = r2(quantile(lat, 0.5))
      out[`${name}_p99_ms`] = r2(quantile(lat, 0.99))
      log(`${name}: ${n} in ${s.toFixed(2)} s = ${Math.round(n / s)}/s, p50 ${quantile(lat, 0.5).toFixed(2)} ms, p99 ${quantile(lat, 0.99).toFixed(2)} ms`)
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
    out.crux_rss_mb_peak = r2(statusKb(child.pid!, 'VmHWM') / 1024)
    out.crux_cpu_s = r2(procCpuS(child.pid!))
    const cu = process.cpuUsage()
    out.client_cpu_s = r2((cu.user + cu.system) / 1e6)
    return out
  } finally {
    client?.close()
    child.kill('SIGTERM')
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
    rmSync(dir, { recursive: true, force: true })
  }
}
