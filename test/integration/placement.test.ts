/**
 * Placement in five real fulcrums (issue 18): a khan program handed to a node that does not lead
 * reaches the proctor on the leader; the services run where it says (the database on a labelled node,
 * the web tier elsewhere, started only after the database is ready); an instance reset by hand is put
 * back; a node running an instance is
 * killed and the instance runs elsewhere within the flock's detection plus two proctor periods; then
 * the leader itself is killed, and the new leader's proctor, from its dean's copy of the program,
 * keeps the placement whole. Addresses 127.79.80.x.
 */
import test, { type ExecutionContext } from 'ava'
import { cpSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agreed, crux, FulcrumPool, until, type RunningFulcrum } from '../fixtures/fulcrums.js'
import { replayJournal, readLines } from '../../runtime/replayer.js'
import { productMachines } from '../../machines/index.js'

const FIXTURES = new URL('../../../test/fixtures/picket/', import.meta.url).pathname
const HB = 500
/** The proctor's period (actors/placement/placement.ts): 2 HB. */
const PERIOD = 2 * HB
const grpcOf = (f: RunningFulcrum) => f.addr.replace(/:\d+$/, ':50059')
const idOf = (f: RunningFulcrum) => f.lines.find((l) => typeof l.node === 'string')!.node as string

type Row = { node: string; name: string; hash: string; state: string; up: boolean; since: number | null }
type Placed = { service: string; wanted: number; up: number; held: string; instances: Array<{ node: string; name: string; state: string; up: boolean }> }
type Ls = { proctor: string; version: number; ok: boolean; nodes: string[]; services: Placed[]; explain: string[] }

async function cli(t: ExecutionContext, f: RunningFulcrum, ...args: string[]): Promise<any> {
  const r = await crux(...args, '--target', grpcOf(f), '--data-dir', f.dataDir, '--json')
  if (r.status !== 0) t.fail(`crux ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** The command's JSON, or false while it fails (a flock changing leaders names a dead one for a moment). */
async function tryCli(f: RunningFulcrum, ...args: string[]): Promise<any> {
  const r = await crux(...args, '--target', grpcOf(f), '--data-dir', f.dataDir, '--json')
  return r.status === 0 ? JSON.parse(r.stdout) : false
}

async function eventually<T>(check: () => Promise<T | false>, ms: number, what: string): Promise<T> {
  const t0 = Date.now()
  for (;;) {
    const v = await check()
    if (v !== false) return v
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A copy of the echo fixture registering as `api`/`instance`. */
function bundle(dir: string, name: string, api: string): string {
  const to = join(dir, name)
  cpSync(join(FIXTURES, 'echo'), to, { recursive: true })
  writeFileSync(join(to, 'crux-service.json'), JSON.stringify({ api, instance: `${name}_1`, entry: 'service.mjs', env: { ECHO_HOST: '127.79.80.10' }, ttlMs: 600 }))
  return to
}

/** When the last of `fs` said an instance named `prefix…` runs (picket's `service running` line) after `since`. */
function runningSince(fs: RunningFulcrum[], prefix: string, since: number): number {
  const times = fs.flatMap((f) => f.lines.filter((l) => l.msg === 'service running' && String(l.name).startsWith(prefix) && Number(l.time) > since).map((l) => Number(l.time)))
  if (times.length === 0) throw new Error(`no ${prefix}… instance said it runs after ${since}`)
  return Math.max(...times)
}

/** Every running, up instance of `service` in the flock's inventory, by node. */
const upOn = (rows: Row[], service: string) => rows.filter((r) => r.name.startsWith(`${service}-`) && r.state === 'running' && r.up).map((r) => r.node).sort()

test('a program applied through any node runs where it says, in start order; a killed member\'s and then the killed leader\'s instances run elsewhere within detection plus two periods', async (t) => {
  t.timeout(150_000)
  const pool = new FulcrumPool(t)
  const traceOf = (i: number) => join(pool.dir, `n${i}.ndjson`)
  const fs = [1, 2, 3, 4, 5].map((i) => pool.start(`127.79.80.${i}:23123`, '127.79.80.0/29', ['--heartbeat', String(HB), ...(i <= 2 ? ['--label', 'ssd'] : []), '--trace', traceOf(i)])) as RunningFulcrum[]
  await until(() => agreed(fs, 5), 30_000, 'one flock of 5')
  const leaderId = fs[0]!.view()!.leader
  const leader = fs.find((f) => idOf(f) === leaderId)!
  const other = fs.find((f) => f !== leader)!
  // Every node's muster in the leader's catalog.
  await eventually(async () => (await cli(t, leader, 'registry', 'ls', '--api', 'Picket1')).services.length === 5 || false, 20_000, 'five musters')

  const db = (await cli(t, other, 'pastiche', 'put', bundle(pool.dir, 'db', 'Db1'))).hash as string
  const web = (await cli(t, other, 'pastiche', 'put', bundle(pool.dir, 'web', 'Web1'))).hash as string
  const program = join(pool.dir, 'shop.khan')
  writeFileSync(program, 'db := pickh(db, 1, label(ssd))\npick(web, 2, !db)\nstart web after db.ready\n')

  // Applied through a node that does not lead: the CLI is sent on to the leader.
  const applied = await cli(t, other, 'placement', 'apply', program, '--bundle', `db=${db}`, '--bundle', `web=${web}`)
  t.like(applied, { version: 1, services: ['db', 'web'], proctor: grpcOf(leader) })

  const placed = await eventually(async () => {
    const ls = (await cli(t, other, 'placement', 'ls')) as Ls
    const s = Object.fromEntries(ls.services.map((x) => [x.service, x]))
    return s.db?.up === 1 && s.web?.up === 2 ? ls : false
  }, 60_000, 'db and two web instances up')
  t.true(placed.ok)
  const inv = (await cli(t, other, 'service', 'ls', '--all')).services as Row[]
  const dbNode = upOn(inv, 'db')
  const webNodes = upOn(inv, 'web')
  t.is(dbNode.length, 1)
  t.true([idOf(fs[0]!), idOf(fs[1]!)].includes(dbNode[0]!), 'the database on a node labelled ssd')
  t.is(webNodes.length, 2)
  t.false(webNodes.includes(dbNode[0]!), 'no web instance beside the database')
  t.is(new Set(webNodes).size, 2, 'spread one per node')
  // Start order: every web instance was spawned after the database's.
  const dbSince = inv.find((r) => r.name === 'db-1')!.since!
  for (const r of inv.filter((x) => x.name.startsWith('web-'))) t.true(r.since! > dbSince, `${r.node} ${r.name} spawned ${r.since! - dbSince} ms after db-1`)

  // An instance reset by hand is put back: its dean sees picket no longer has it.
  const handNode = fs.find((f) => idOf(f) === webNodes[0])!
  const resetAt = Date.now()
  await cli(t, handNode, 'service', 'reset', 'web-1')
  await eventually(async () => {
    const rows = (await cli(t, other, 'service', 'ls', '--all')).services as Row[]
    const back = rows.find((r) => r.node === idOf(handNode) && r.name === 'web-1')
    return back !== undefined && back.up && back.since! > resetAt ? true : false
  }, 20_000, 'web-1 reset by hand running again on its node')

  // A member running a web instance is killed: not the leader, not the database's node, and if it
  // can be, not the other node labelled ssd (the database may have to move there when the leader dies).
  const candidates = fs.filter((f) => f !== leader && webNodes.includes(idOf(f)) && idOf(f) !== dbNode[0])
  const victim = candidates.find((f) => !fs.slice(0, 2).includes(f)) ?? candidates[0]!
  const live = fs.filter((f) => f !== victim)
  const killedAt = Date.now()
  victim.child.kill('SIGKILL')
  await until(() => leader.view()?.members === 4, 20_000, 'the leader dropping the killed member')
  const droppedAt = Number(leader.lines.findLast((l) => l.msg === 'flock' && l.members === 4)!.time)
  await eventually(async () => {
    const rows = (await cli(t, leader, 'service', 'ls', '--all')).services as Row[]
    const up = upOn(rows, 'web')
    return up.length === 2 && !up.includes(idOf(victim)) ? true : false
  }, 30_000, 'two web instances up again, none on the dead node')
  // Timed by the fulcrums' own log lines: the leader's flock dropping the node, picket saying the new instance runs.
  const movedAt = runningSince(live, 'web-', killedAt)
  t.log(`member killed → dropped by the flock ${droppedAt - killedAt} ms; dropped → its web instance running elsewhere ${movedAt - droppedAt} ms (HB ${HB} ms, period ${PERIOD} ms)`)
  t.true(movedAt - droppedAt <= 2 * PERIOD, `running elsewhere ${movedAt - droppedAt} ms after the flock dropped the node; allowed 2 periods (${2 * PERIOD} ms)`)

  // A second program adds one api instance; placed on the least loaded node it lands on the one
  // non-database node without web, so every live node, the leader too, now runs something.
  const api = (await cli(t, other === victim ? leader : other, 'pastiche', 'put', bundle(pool.dir, 'api', 'Api1'))).hash as string
  writeFileSync(program, 'db := pickh(db, 1, label(ssd))\npick(web, 2, !db)\npick(api, 1, !db)\nstart web after db.ready\n')
  const v2 = await cli(t, leader, 'placement', 'apply', program, '--bundle', `db=${db}`, '--bundle', `web=${web}`, '--bundle', `api=${api}`)
  t.is(v2.version, 2)
  const before = await eventually(async () => {
    const rows = (await cli(t, leader, 'service', 'ls', '--all')).services as Row[]
    return upOn(rows, 'api').length === 1 && upOn(rows, 'web').length === 2 && upOn(rows, 'db').length === 1 ? rows : false
  }, 30_000, 'api up beside db and web')
  const onLeader = before.filter((r) => r.node === idOf(leader) && r.up).map((r) => r.name)
  t.true(onLeader.length > 0, 'the leader runs an instance')

  // Now the leader: its proctor goes with it, and its own instances must be placed again.
  const survivors = live.filter((f) => f !== leader)
  const leaderKilledAt = Date.now()
  leader.child.kill('SIGKILL')
  await until(() => survivors.every((f) => f.view()?.members === 3 && f.view()?.leader !== leaderId), 30_000, 'the survivors in one flock of 3 under a new leader')
  const reformedAt = Date.now()
  let last: Ls | undefined
  t.teardown(() => {
    if (last === undefined) return
    t.log(JSON.stringify(last))
    for (const f of survivors) t.log(JSON.stringify(f.lines.filter((l) => /proctor|dean|placement/.test(String(l.msg))).slice(-8)))
  })
  const final = await eventually(async () => {
    const got = (await tryCli(survivors[0]!, 'placement', 'ls')) as Ls | false
    if (got === false) return false
    const ls = (last = got)
    const s = Object.fromEntries(ls.services.map((x) => [x.service, x]))
    const gone = [idOf(leader), idOf(victim)]
    return ls.version === 2 && s.db?.up === 1 && s.web?.up === 2 && s.api?.up === 1 && [...s.db.instances, ...s.web.instances, ...s.api.instances].every((i) => !gone.includes(i.node)) ? ls : false
  }, 60_000, 'the new proctor, from its dean\'s program, keeps db, two web and one api instance up on the survivors')
  const settledAt = Math.max(...onLeader.map((name) => runningSince(survivors, name.replace(/\d+$/, ''), leaderKilledAt)))
  t.log(`leader killed (it ran ${onLeader.join(', ')}) → the survivors' flocks dropped it ${reformedAt - leaderKilledAt} ms; → its instances running elsewhere ${settledAt - reformedAt} ms`)
  last = undefined
  // A new leader's steward takes over after its settle window (2 HB); then the musters come back.
  t.true(settledAt - reformedAt <= 2 * HB + 2 * PERIOD, `running elsewhere ${settledAt - reformedAt} ms after the flocks dropped the leader; allowed the new steward's settle window (${2 * HB} ms) and 2 periods (${2 * PERIOD} ms)`)
  t.is(final.version, 2)
  t.deepEqual(final.nodes, survivors.map((f) => idOf(f)).sort())
  const rows = (await cli(t, survivors[0]!, 'service', 'ls', '--all')).services as Row[]
  t.is(upOn(rows, 'db').length, 1)
  t.is(upOn(rows, 'web').length, 2)
  t.false(upOn(rows, 'web').includes(upOn(rows, 'db')[0]!), 'still no web instance beside the database')

  // The new leader's journal replays its dean and proctor without divergence.
  const next = survivors.find((f) => grpcOf(f) === final.proctor)!
  next.child.kill('SIGTERM')
  t.is(await next.exited, 0)
  const steps: Record<string, number> = { dean: 0, proctor: 0 }
  const report = replayJournal(readLines(traceOf(fs.indexOf(next) + 1)), {
    machines: productMachines,
    onStep(s) {
      const kind = s.actor.slice(s.actor.lastIndexOf('/') + 1)
      if (kind in steps) steps[kind]!++
    },
  })
  t.false(report.diverged, `the new leader's journal diverged: ${JSON.stringify(report.diverged)}`)
  t.true(steps.dean! > 2 && steps.proctor! > 5, `replayed ${steps.dean} dean and ${steps.proctor} proctor steps`)
})
