/**
 * The strew layer on real fulcrum processes (issue 7): three nodes on loopback, each serving gRPC;
 * registrations reach every node's catalog, the steward moves with the leader and is rebuilt by the
 * reeves, heartbeats lapse into DOWN on the heartbeater's time, health follows, and a node's
 * registrations survive a restart and a kill -9.
 *
 * Every wait is for a condition, bounded by a generous hang guard: how soon things happen is measured
 * by `npm run bench -- strew-spread` (over many samples, on purpose), not asserted here, where the
 * machine's load decides the figure as much as the code does.
 */
import test from 'ava'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { protoPath as healthProto } from 'grpc-health-check'
import { createReeveClient, type ReeveClient } from '../../actors/strew/client.js'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadPeerTls } from '../../runtime/grpc-tls.js'
import { FulcrumPool, until, type RunningFulcrum } from '../fixtures/fulcrums.js'

const HB = 500
const grpcOf = (f: RunningFulcrum) => f.addr.replace(/:\d+$/, ':50059')

/** A pool of `n` fulcrums on `net`.1…n with gRPC, agreed on one flock, and a reeve client for each. */
async function flock(t: import('ava').ExecutionContext, net: string, n: number) {
  const pool = new FulcrumPool(t)
  const addrs = Array.from({ length: n }, (_, i) => `${net}.${i + 1}:23123`)
  const fs = addrs.map((a) => pool.start(a, `${net}.0/29`, ['--heartbeat', String(HB)]))
  const clients: ReeveClient[] = []
  t.teardown(() => clients.forEach((c) => c.close()))
  const client = (f: RunningFulcrum) => {
    const c = createReeveClient({ address: grpcOf(f), tls: loadPeerTls(f.dataDir), timeoutMs: 5_000 })
    clients.push(c)
    return c
  }
  /** Every node's reeve follows the same steward. */
  const oneSteward = async (live: RunningFulcrum[]) => {
    const pings = await Promise.all(live.map((f) => client(f).ping().catch(() => null)))
    return pings.every((p) => p !== null && p.steward !== '' && p.steward === pings[0]!.steward && p.term === pings[0]!.term) ? pings[0]!.steward : null
  }
  let steward: string | null = null
  await until(() => fs.every((f) => f.view()?.members === n), 30_000, `${n} fulcrums agreeing`)
  await untilAsync(async () => (steward = await oneSteward(fs)) !== null, 30_000, 'a common steward')
  return { pool, fs, client, oneSteward, steward: steward! }
}

/** Polls an async condition every 25 ms until it holds; `boundMs` is a hang guard, not a figure. */
async function untilAsync(cond: () => Promise<boolean>, boundMs: number, what: string): Promise<number> {
  const end = Date.now() + boundMs
  for (;;) {
    if (await cond().catch(() => false)) return Date.now()
    if (Date.now() > end) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** How long a wait may take before the test gives up: a hang guard for a loaded machine, never a figure. */
const BOUND = 20_000

const has = async (c: ReeveClient, nodeId: string, state = 'up') => (await c.catalog()).endpoints.some((e) => e.nodeId === nodeId && e.state === state)

test.serial('a registration is visible in every node’s catalog', async (t) => {
  const w = await flock(t, '127.77.82', 3)
  const id = await w.client(w.fs[1]!).register({ service: 'Web', api: 'Http1', address: '127.0.0.1:8080' })
  // How soon (well within 2 HB) is strew-spread's visible_* figure.
  await untilAsync(async () => (await Promise.all(w.fs.map((f) => has(w.client(f), id)))).every(Boolean), BOUND, 'the registration everywhere')
  t.deepEqual((await w.client(w.fs[2]!).catalog({ endpoint: id })).endpoints.map((e) => e.address), ['127.0.0.1:8080'])
})

test.serial('the leader killed: a new steward with the catalog intact, every reeve re-sent to it', async (t) => {
  const w = await flock(t, '127.77.83', 3)
  const leader = w.fs.find((f) => grpcOf(f) === w.steward)!
  const others = w.fs.filter((f) => f !== leader)
  const ids = await Promise.all(others.map((f, i) => w.client(f).register({ service: 'Db', api: 'Sql1', instance: `db${i}`, address: `127.0.0.${i + 1}:5432` })))
  await untilAsync(async () => (await Promise.all(others.map((f) => Promise.all(ids.map((id) => has(w.client(f), id)))))).flat().every(Boolean), BOUND, 'both registrations everywhere')
  leader.child.kill('SIGKILL')
  // How long the hand-over takes is strew-spread's handover_* figures.
  await untilAsync(async () => {
    const s = await w.oneSteward(others)
    return s !== null && s !== w.steward
  }, BOUND, 'a new steward followed by both survivors')
  // The new steward was rebuilt from the reeves' full re-sends: both survivors' services, up.
  await untilAsync(async () => (await Promise.all(others.map((f) => Promise.all(ids.map((id) => has(w.client(f), id)))))).flat().every(Boolean), BOUND, 'the catalog rebuilt')
  const cat = await w.client(others[0]!).catalog({ api: 'Sql1' })
  t.deepEqual(cat.endpoints.map((e) => e.instance).sort(), ['db0', 'db1'])
})

test.serial('a member killed: its services leave every live catalog within 1 HB of the flock dropping it; the others stay', async (t) => {
  const w = await flock(t, '127.77.86', 3)
  const leader = w.fs.find((f) => grpcOf(f) === w.steward)!
  const [victim, other] = w.fs.filter((f) => f !== leader) as [RunningFulcrum, RunningFulcrum]
  const dead = await w.client(victim).register({ service: 'Doomed', api: 'Api1', address: '127.0.0.1:7001' })
  const kept = await w.client(other).register({ service: 'Kept', api: 'Api1', address: '127.0.0.1:7002' })
  const live = [leader, other]
  await untilAsync(async () => (await Promise.all(live.map(async (f) => (await has(w.client(f), dead)) && (await has(w.client(f), kept))))).every(Boolean), BOUND, 'both registrations everywhere')
  const killedAt = Date.now()
  victim.child.kill('SIGKILL')
  // The flock's own detection: the leader's member list drops the node (its log line's time).
  await until(() => leader.view()?.members === 2, BOUND, 'the leader dropping the killed member')
  const droppedAt = Number(leader.lines.findLast((l) => l.msg === 'flock' && l.members === 2)!.time)
  const goneAt = await untilAsync(async () => (await Promise.all(live.map(async (f) => !(await has(w.client(f), dead, 'up')) && !(await has(w.client(f), dead, 'down'))))).every(Boolean), BOUND, 'the dead node\'s service gone from every live catalog')
  t.log(`killed → dropped by the flock ${droppedAt - killedAt} ms, dropped → gone from every live catalog ${goneAt - droppedAt} ms (HB ${HB} ms)`)
  // The polling here adds up to 25 ms plus one catalog read per node; the log line is written after the step.
  t.true(goneAt - droppedAt <= HB + 150, `gone ${goneAt - droppedAt} ms after the flock dropped the node; allowed 1 HB (${HB} ms) and the polling`)
  for (const f of live) t.true(await has(w.client(f), kept), `${f.addr} still lists the live member's service`)
})

test.serial('the leader killed: its services leave every other node’s catalog within 1 HB of that node’s flock dropping it, before any new steward', async (t) => {
  const w = await flock(t, '127.78.1', 3)
  const leader = w.fs.find((f) => grpcOf(f) === w.steward)!
  const leaderId = leader.view()!.leader
  const live = w.fs.filter((f) => f !== leader)
  const dead = await w.client(leader).register({ service: 'Doomed', api: 'Api1', address: '127.0.0.1:7101' })
  const kept = await w.client(live[0]!).register({ service: 'Kept', api: 'Api1', address: '127.0.0.1:7102' })
  await untilAsync(async () => (await Promise.all(live.map(async (f) => (await has(w.client(f), dead)) && (await has(w.client(f), kept))))).every(Boolean), BOUND, 'both registrations everywhere')
  const killedAt = Date.now()
  leader.child.kill('SIGKILL')
  // Each survivor's own flock drops the dead leader (a new leader, and a member list without it): its log line's time.
  const dropped = (f: RunningFulcrum) => f.lines.find((l) => l.msg === 'flock' && Number(l.time) >= killedAt && l.leader !== leaderId && l.members === 2)
  await until(() => live.every((f) => dropped(f) !== undefined), BOUND, 'both survivors’ flocks dropping the dead leader')
  const droppedAt = Math.max(...live.map((f) => Number(dropped(f)!.time)))
  const goneAt = await untilAsync(async () => (await Promise.all(live.map(async (f) => !(await has(w.client(f), dead, 'up')) && !(await has(w.client(f), dead, 'down'))))).every(Boolean), BOUND, 'the dead leader’s service gone from every live catalog')
  t.log(`killed → dropped by both survivors’ flocks ${droppedAt - killedAt} ms, dropped → gone from every live catalog ${goneAt - droppedAt} ms (HB ${HB} ms)`)
  // The polling here adds up to 25 ms plus one catalog read per node; the log line is written after the step.
  t.true(goneAt - droppedAt <= HB + 150, `gone ${goneAt - droppedAt} ms after the flocks dropped the node; allowed 1 HB (${HB} ms) and the polling`)
  for (const f of live) t.true(await has(w.client(f), kept), `${f.addr} still lists the live member's service`)
})

test.serial('heartbeats keep a service up past its TTL; once they stop it is down, not before the TTL, on every node, and grpc.health.v1 says NOT_SERVING', async (t) => {
  const w = await flock(t, '127.77.84', 2)
  const f = w.fs[0]!
  const c = w.client(f)
  const ttlMs = 1_500
  const healthPkg = grpc.loadPackageDefinition(loadSync(healthProto, { enums: String })) as any
  const health = new healthPkg.grpc.health.v1.Health(grpcOf(f), grpc.credentials.createInsecure())
  t.teardown(() => health.close())
  const check = (service: string) => new Promise<string>((resolve, reject) => health.Check({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))))
  const registered = Date.now()
  const id = await c.register({ service: 'Clock', api: 'Ntp1', address: '127.0.0.1:123', ttlMs })
  t.is(await check(id), 'SERVING')
  // Kept alive by heartbeats for twice the TTL: never seen down, and seen up (once the catalog has
  // it). Each beat goes as soon as the last was answered and the catalog read: no sleep paces them,
  // whose lateness on a loaded machine could let the TTL run out and fail the test for the machine's
  // sake.
  const stateOf = async () => (await c.catalog()).endpoints.find((e) => e.nodeId === id)?.state
  let lastSent = registered
  let seenUp = false
  while (Date.now() - registered < 2 * ttlMs || !seenUp) {
    if (Date.now() - registered > BOUND) return t.fail('never up in the catalog')
    lastSent = Date.now()
    await c.heartbeat([{ uuid: 'Clock/Ntp1', ttlMs }])
    const state = await stateOf()
    if (state === 'down') return t.fail(`down ${Date.now() - registered} ms after registering, though kept by heartbeats`)
    seenUp ||= state === 'up'
  }
  const down = await untilAsync(() => has(c, id, 'down'), BOUND, 'the service marked down')
  // The hold runs from the last heartbeat's arrival, after lastSent, so it cannot be down sooner (HB
  // of slack for the clocks). Down exactly at the TTL is test/machines/heartbeater-machine.test.ts on
  // the virtual clock; how soon after it here is strew-spread's down_overshoot_* figure.
  t.true(down - lastSent >= ttlMs - HB, `down ${down - lastSent} ms after the last heartbeat was sent, before its ${ttlMs} ms TTL`)
  t.is(await check(id), 'NOT_SERVING')
  await untilAsync(() => has(w.client(w.fs[1]!), id, 'down'), BOUND, 'the other node seeing it down')
})

test.serial('registrations survive a restart and a kill -9', async (t) => {
  const w = await flock(t, '127.77.85', 2)
  const f = w.fs[1]!
  const c = w.client(f)
  const ids = await Promise.all(['A', 'B', 'C'].map((x) => c.register({ service: `Svc${x}`, api: 'Api1', address: '127.0.0.1:9000' })))
  // kill -9 in the middle of a burst of registrations: some answered, the rest being written.
  let answered = 0
  const burst = Array.from({ length: 2000 }, (_, i) =>
    c.register({ service: `Burst${i}`, api: 'Api1', address: '127.0.0.1:9001' }).then(
      () => {
        // Killed the moment the 50th answer is read: the rest are still being written.
        if (++answered === 50) f.child.kill('SIGKILL')
        return i
      },
      () => -1,
    ),
  )
  const acked = (await Promise.all(burst)).filter((i) => i >= 0)
  await f.exited
  // As if the kill had come between the heartbeater's log and the reeve's in one flush: the
  // heartbeater keeps a service the reeve never registered. The restarted node lets go of it.
  const ghost = `${ids[0]!.split('/').slice(0, 4).join('/')}/Ghost/Api1`
  orphanKeep(f.dataDir, { uuid: 'ghost-beat', nodeId: ghost, holdMs: 3_000 })
  const again = w.pool.start(f.addr, '127.77.85.0/29', ['--heartbeat', String(HB)], f.addr)
  t.is(again.dataDir, f.dataDir)
  const c2 = w.client(again)
  await untilAsync(async () => {
    const local = (await c2.catalog()).endpoints.map((e) => e.nodeId)
    return ids.every((id) => local.includes(id))
  }, 20_000, 'the restarted node’s registrations back in its catalog')
  t.log(`${acked.length} of 2000 registrations acknowledged before the kill -9`)
  t.true(acked.length < 2000, 'the kill came while registrations were still being written')
  const local = new Set((await c2.catalog()).endpoints.map((e) => e.nodeId))
  const prefix = ids[0]!.split('/').slice(0, 4).join('/')
  t.true(acked.every((i) => local.has(`${prefix}/Burst${i}/Api1`)), `every acknowledged registration survived (${acked.length} acknowledged before the kill)`)
  t.true(again.lines.some((l) => l.uuid === 'ghost-beat' && /dropped a heartbeat-kept service/.test(String(l.msg))), 'the orphaned heartbeat keep was dropped at start')
  t.false(local.has(ghost))
})

/** Writes a heartbeat keep into a stopped node's heartbeater log, where its lines end (before the zeros written ahead). */
function orphanKeep(dataDir: string, kept: { uuid: string; nodeId: string; holdMs: number }): void {
  const dir = join(dataDir, 'strew')
  const name = readdirSync(dir).find((f) => f.endsWith('~reeve.log'))!.replace('~reeve.log', '~heartbeater.log')
  const file = join(dir, name)
  const line = Buffer.from(`{"k":${JSON.stringify(`beat/${kept.uuid}`)},"v":${JSON.stringify(kept)}}\n`)
  const old = existsSync(file) ? readFileSync(file) : Buffer.alloc(0)
  const end = old.indexOf(0)
  writeFileSync(file, Buffer.concat([old.subarray(0, end < 0 ? old.length : end), line]))
}
