/**
 * The strew layer across a flock of real fulcrums: the figures test/integration/fulcrum-strew.test.ts
 * used to assert against the wall clock (a registration everywhere within 2 HB; down within TTL ± 1 HB)
 * or log (the hand-over after the leader dies). A test's wall clock measures the machine and whatever
 * else runs on it; here the figures are measured on purpose, each over many samples.
 *
 * `--nodes` fulcrums on 127.77.92.1…, gRPC on port 50059 of each, `--hb` ms heartbeats; every catalog
 * is polled every 5 ms, so each figure is late by up to that much.
 * - visible_p50_ms / visible_max_ms (and _hb): from the RegisterService call on a member until every
 *   node's catalog shows the registration up; `--regs` registrations, one at a time, spread over the
 *   members;
 * - down_overshoot_p50_ms / down_overshoot_max_ms: `--leases` registrations with a `--ttl-ms` TTL, one
 *   heartbeat each and then none: from the last heartbeat's sending + TTL until every node's catalog
 *   shows it down (negative would mean down before its TTL ran out: a bug, so the run fails);
 * - handover_steward_ms: the leader killed with SIGKILL, until every survivor's reeve follows one new
 *   steward; handover_catalog_ms: until every survivor's catalog holds every registration the
 *   survivors made, up (the reeves re-sent them to the new steward).
 *
 *   npm run bench -- strew-spread [--nodes 3] [--hb 500] [--regs 40] [--leases 20] [--ttl-ms 1500]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agreedOn, spawnFulcrum, waitFor, type FulcrumProcess } from '../actors/local/flock.js'
import { createReeveClient, heartbeatUuid, type ReeveClient } from '../actors/strew/client.js'
import { loadPeerTls } from '../runtime/grpc-tls.js'
import { generateSecret } from '../runtime/secret.js'
import { flag } from './flags.js'

const NET = '127.77.92'
const POLL_MS = 5
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!

/** Polls an async condition every POLL_MS until it holds (the time it did) or `boundMs` passes. */
async function until(cond: () => Promise<boolean>, boundMs: number, what: string): Promise<number> {
  const end = performance.now() + boundMs
  for (;;) {
    if (await cond().catch(() => false)) return performance.now()
    if (performance.now() > end) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`)
    await sleep(POLL_MS)
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = flag(args, '--nodes', 3)
  const hb = flag(args, '--hb', 500)
  const regs = flag(args, '--regs', 40)
  const leases = flag(args, '--leases', 20)
  const ttlMs = flag(args, '--ttl-ms', 1_500)
  if (n < 3 || n > 6) throw new Error('--nodes must be 3–6 (one /29 on loopback)')
  const dir = mkdtempSync(join(tmpdir(), 'crux-strew-spread-'))
  const secretFile = join(dir, 'flock.secret')
  writeFileSync(secretFile, generateSecret() + '\n', { mode: 0o600 })
  const fs: FulcrumProcess[] = []
  const clients = new Map<FulcrumProcess, ReeveClient>()
  try {
    // Log level info: the agreement wait reads where each node stands from its `flock` log lines.
    for (let i = 1; i <= n; i++) fs.push(spawnFulcrum(`${NET}.${i}:23123`, join(dir, `n${i}`), ['--probe', `${NET}.0/29`, '--secret-file', secretFile, '--heartbeat', String(hb), '--log-level', 'info']))
    await waitFor(() => agreedOn(fs, n), 60_000, `${n} fulcrums agreeing`)
    const grpcOf = (f: FulcrumProcess) => f.addr.replace(/:\d+$/, ':50059')
    const client = (f: FulcrumProcess): ReeveClient => {
      let c = clients.get(f)
      if (c === undefined) clients.set(f, (c = createReeveClient({ address: grpcOf(f), tls: loadPeerTls(f.dataDir), timeoutMs: 5_000 })))
      return c
    }
    /** The steward every one of `live` follows, or null while they differ. */
    const oneSteward = async (live: FulcrumProcess[]) => {
      const pings = await Promise.all(live.map((f) => client(f).ping()))
      return pings.every((p) => p.steward !== '' && p.steward === pings[0]!.steward && p.term === pings[0]!.term) ? pings[0]!.steward : null
    }
    /** True when every node in `live` lists every id in `ids` in `state`. */
    const everywhere = async (live: FulcrumProcess[], ids: string[], state: string) => {
      const cats = await Promise.all(live.map((f) => client(f).catalog()))
      return cats.every((c) => ids.every((id) => c.endpoints.some((e) => e.nodeId === id && e.state === state)))
    }
    let steward: string | null = null
    await until(async () => (steward = await oneSteward(fs)) !== null, 60_000, 'one steward followed by every reeve')
    const leader = fs.find((f) => grpcOf(f) === steward)!
    const members = fs.filter((f) => f !== leader)

    // ---- a registration reaching every catalog ----
    const visible: number[] = []
    const ids: string[] = []
    for (let i = 0; i < regs; i++) {
      const t0 = performance.now()
      const id = await client(members[i % members.length]!).register({ service: 'Spread', api: 'Api1', instance: `spread${i}`, address: `127.0.0.1:${9000 + i}` })
      ids.push(id)
      visible.push((await until(() => everywhere(fs, [id], 'up'), 10_000, `${id} everywhere`)) - t0)
    }

    // ---- heartbeats stop: down everywhere ----
    const m = members[0]!
    const leaseIds = await Promise.all(Array.from({ length: leases }, (_, i) => client(m).register({ service: `Lease${i}`, api: 'Lease1', address: '127.0.0.1:9100', ttlMs })))
    await until(() => everywhere(fs, leaseIds, 'up'), 10_000, 'every lease up everywhere')
    const sentAt = new Array<number>(leases)
    await Promise.all(
      leaseIds.map((_, i) => {
        sentAt[i] = performance.now()
        return client(m).heartbeat([{ uuid: heartbeatUuid({ service: `Lease${i}`, api: 'Lease1' }), ttlMs }])
      }),
    )
    const downAt: Array<number | undefined> = new Array(leases).fill(undefined) // dense: every() skips holes
    await until(async () => {
      const cats = await Promise.all(fs.map((f) => client(f).catalog({ api: 'Lease1' })))
      const t = performance.now()
      leaseIds.forEach((id, i) => {
        if (downAt[i] === undefined && cats.every((c) => c.endpoints.some((e) => e.nodeId === id && e.state === 'down'))) downAt[i] = t
      })
      return downAt.every((x) => x !== undefined)
    }, 10 * ttlMs + 30_000, 'every lease down everywhere')
    const overshoot = leaseIds.map((_, i) => downAt[i]! - (sentAt[i]! + ttlMs))
    if (Math.min(...overshoot) < -hb) throw new Error(`a lease went down ${-Math.min(...overshoot).toFixed(0)} ms before its TTL ran out`)

    // ---- the leader killed: a new steward, the catalog rebuilt ----
    leader.child.kill('SIGKILL')
    const killed = performance.now()
    await leader.exited
    const followed = await until(async () => {
      const s = await oneSteward(members)
      return s !== null && s !== steward
    }, 60_000, 'a new steward followed by every survivor')
    const rebuilt = await until(() => everywhere(members, ids, 'up'), 60_000, 'the catalog rebuilt')

    const r0 = (x: number) => Math.round(x)
    return {
      nodes: n,
      hb_ms: hb,
      regs,
      visible_p50_ms: r0(quantile(visible, 0.5)),
      visible_max_ms: r0(Math.max(...visible)),
      visible_p50_hb: +(quantile(visible, 0.5) / hb).toFixed(2),
      visible_max_hb: +(Math.max(...visible) / hb).toFixed(2),
      leases,
      ttl_ms: ttlMs,
      down_overshoot_p50_ms: r0(quantile(overshoot, 0.5)),
      down_overshoot_max_ms: r0(Math.max(...overshoot)),
      handover_steward_ms: r0(followed - killed),
      handover_catalog_ms: r0(rebuilt - killed),
    }
  } finally {
    for (const c of clients.values()) c.close()
    for (const f of fs) if (f.child.exitCode === null && f.child.signalCode === null) f.child.kill('SIGKILL')
    await Promise.all(fs.map((f) => f.exited))
    rmSync(dir, { recursive: true, force: true })
  }
}
