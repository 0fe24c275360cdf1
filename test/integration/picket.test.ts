/**
 * Picket in real fulcrums (issue 17): a bundle put on one node is started on another (fetched
 * first), registered, found from a third node's catalog and called; a crash is restarted; stop, reset
 * and a fulcrum's stop leave no process; a bundle nobody holds and a bad manifest get one clear line;
 * an upgrade under a steady stream of calls through `connect` loses none; `service ls --all` lists the
 * flock's services; the node's journal replays its picket actor; a restart reaches the beacon and
 * `crux watch` as a MonInfo record. Addresses 127.79.21.x.
 */
import test, { type ExecutionContext } from 'ava'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { agreed, crux, FulcrumPool, until, type RunningFulcrum } from '../fixtures/fulcrums.js'
import { replayJournal, readLines } from '../../runtime/replayer.js'
import { productMachines } from '../../machines/index.js'
import { connect } from '../../actors/strew/connect.js'
import { createReeveClient } from '../../actors/strew/client.js'
import { loadPeerTls } from '../../runtime/grpc-tls.js'

const FIXTURES = new URL('../../../test/fixtures/picket/', import.meta.url).pathname
const grpcOf = (f: RunningFulcrum) => f.addr.replace(/:\d+$/, ':50059')

type Svc = { node: string; name: string; hash: string; api: string; state: string; pid: number | null; restarts: number; up: boolean; address: string | null; reason: string | null }

async function cli(t: ExecutionContext, f: RunningFulcrum, ...args: string[]): Promise<any> {
  const r = await crux(...args, '--target', grpcOf(f), '--data-dir', f.dataDir, '--json')
  if (r.status !== 0) t.fail(`crux ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const t0 = Date.now()
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** POSTs `body` to the echo service at `address`; its answer. */
const call = (address: string, body: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
    const req = request({ host, port, method: 'POST', path: '/', timeout: 2000 }, (res) => {
      let s = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (s += c))
      res.on('end', () => resolve(s))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end(body)
  })

/** Whether process `pid` runs (a zombie not yet reaped by init counts as gone). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** A copy of the echo fixture serving on `host`, its manifest changed by `o` (a new bundle hash). */
function echoBundle(dir: string, name: string, o: Record<string, unknown>): string {
  const to = join(dir, name)
  cpSync(join(FIXTURES, 'echo'), to, { recursive: true })
  writeFileSync(join(to, 'crux-service.json'), JSON.stringify({ api: 'Echo1', instance: 'echo_1', entry: 'service.mjs', ttlMs: 600, ...o }))
  return to
}

test('a bundle put on one node runs on another, is found and called from a third, restarted after a crash, upgraded under calls without losing one, stopped and reset; ls --all lists the flock; the journal replays picket', async (t) => {
  t.timeout(90_000)
  const pool = new FulcrumPool(t)
  const trace = join(pool.dir, 'a.ndjson')
  const [a, b, c] = [1, 2, 3].map((i) => pool.start(`127.79.21.${i}:23123`, '127.79.21.0/29', i === 1 ? ['--trace', trace] : [])) as [RunningFulcrum, RunningFulcrum, RunningFulcrum]
  await until(() => agreed([a, b, c], 3), 20_000, 'one flock of 3')
  await eventually(async () => (await cli(t, c, 'registry', 'ls', '--api', 'Pastiche1')).services.length === 3, 15_000, "every node's pastiche in C's catalog")

  const v1 = (await cli(t, b, 'pastiche', 'put', echoBundle(pool.dir, 'v1', { env: { ECHO_HOST: '127.79.21.10', VERSION: '1' }, graceMs: 8000 }))).hash as string
  // On A, which lacks it: fetched from B first.
  const started = (await cli(t, a, 'service', 'start', v1, '--name', 'echo')) as Svc
  t.like(started, { name: 'echo', hash: v1, api: 'Echo1', instance: 'echo_1', state: 'running', up: true, restarts: 0 })
  t.regex(started.address!, /^127\.79\.21\.10:\d+$/)
  await eventually(async () => (await cli(t, c, 'registry', 'get', '--api', 'Echo1')).addr === started.address, 10_000, "the service in C's catalog")
  t.is(await call(started.address!, 'hello'), 'hello')

  // A crash: restarted, registered again at its new address.
  process.kill(started.pid!, 'SIGKILL')
  let again: Svc | undefined
  await eventually(async () => ((again = (await cli(t, a, 'service', 'ls')).services[0] as Svc), again.state === 'running' && again.restarts === 1 && again.pid !== started.pid), 10_000, 'restarted after a crash')
  await eventually(async () => (await cli(t, c, 'registry', 'get', '--api', 'Echo1')).addr === again!.address, 10_000, 'the new address in C')

  // An upgrade under a steady stream of calls through connect (C's catalog): no call fails.
  const reeve = createReeveClient({ address: grpcOf(c), tls: loadPeerTls(c.dataDir), timeoutMs: 5000 })
  t.teardown(() => reeve.close())
  const conn = await connect({ catalog: async (api) => (await reeve.catalog({ api })).endpoints }, { selector: 'Echo1', dial: async (e) => e.address, rescanMs: 300 })
  let calls = 0
  const failures: string[] = []
  let streaming = true
  const stream = (async () => {
    while (streaming) {
      const to = conn.conn
      try {
        const got = await call(to, `call ${calls}`)
        if (got !== `call ${calls}`) failures.push(`call ${calls} to ${to} answered ${got}`)
      } catch (err) {
        failures.push(`call ${calls} to ${to}: ${(err as Error).message}`)
      }
      calls++
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  const v2 = (await cli(t, b, 'pastiche', 'put', echoBundle(pool.dir, 'v2', { env: { ECHO_HOST: '127.79.21.10', VERSION: '2' }, graceMs: 8000 }))).hash as string
  const up2 = (await cli(t, a, 'service', 'upgrade', 'echo', v2)) as Svc
  t.like(up2, { hash: v2, state: 'running', up: true })
  // The old version serves for its 8 s of grace: time enough, even on a loaded machine, for the
  // catalog to carry the new address to C and for connect's rescan to move there.
  await eventually(async () => conn.conn === up2.address, 8_000, 'connect moved to the new version')
  await eventually(async () => !alive(again!.pid!), 20_000, 'the old version quit after its grace period')
  streaming = false
  await stream
  await conn.close()
  t.deepEqual(failures, [], `${calls} calls`)
  t.true(calls > 50, `${calls} calls made`)

  // An upgrade to a version that crashes at once is rolled back: one line, exit 1, the old one serves on.
  const crashDir = echoBundle(pool.dir, 'crashes', { entry: 'crash.mjs' })
  writeFileSync(join(crashDir, 'crash.mjs'), "export default async function () { throw new Error('broken build') }\n")
  const broken = (await cli(t, b, 'pastiche', 'put', crashDir)).hash as string
  const rollback = await crux('service', 'upgrade', 'echo', broken, '--target', grpcOf(a), '--data-dir', a.dataDir)
  t.is(rollback.status, 1)
  t.regex(rollback.stderr, new RegExp(`^crux: service echo: upgrade to ${broken} rolled back: .*; it runs ${v2} still\n$`))
  t.is(await call(up2.address!, 'still here'), 'still here')

  // A bundle nobody holds, and one whose manifest is wrong: one line each, exit 1.
  const nobody = await crux('service', 'start', `sha256:${'e'.repeat(64)}`, '--name', 'ghost', '--target', grpcOf(a), '--data-dir', a.dataDir)
  t.is(nobody.status, 1)
  t.is(nobody.stderr, `crux: service ghost failed: bundle sha256:${'e'.repeat(64)}: no such bundle: no node holds it\n`)
  const badDir = echoBundle(pool.dir, 'bad', { port: 80 })
  const bad = (await cli(t, a, 'pastiche', 'put', badDir)).hash as string
  const refused = await crux('service', 'start', bad, '--name', 'bad', '--target', grpcOf(b), '--data-dir', b.dataDir)
  t.is(refused.status, 1)
  t.regex(refused.stderr, /^crux: service bad failed: bundle sha256:[0-9a-f]{64}: crux-service\.json: .*"port".*\n$/)

  // The flock's inventory from any node: every node's muster, spread by the steward to C's catalog.
  const musters = (await cli(t, c, 'registry', 'ls', '--api', 'Picket1')).services as Array<{ node: string; addr: string }>
  t.deepEqual(musters.map((m) => m.addr).sort(), [a, b, c].map(grpcOf).sort(), "one muster per node in C's catalog, at its gRPC address")
  const nodeB = musters.find((m) => m.addr === grpcOf(b))!.node
  const nodeName = (s: Svc) => (s.node === started.node ? 'A' : s.node === nodeB ? 'B' : '?')
  const listed = async () => ((await cli(t, c, 'service', 'ls', '--all')) as { services: Svc[]; unreachable: unknown[] })
  await eventually(async () => (await listed()).services.map((s) => `${nodeName(s)} ${s.name} ${s.state}`).sort().join(',') === 'A echo running,A ghost failed,B bad failed', 10_000, "every node's services in C's inventory")
  const all = await listed()
  t.deepEqual(all.unreachable, [])
  t.like(all.services.find((s) => s.name === 'echo'), { node: started.node, hash: v2, api: 'Echo1', instance: 'echo_1', up: true, address: up2.address, pid: up2.pid })

  // Stop: no process left, out of the catalog. Reset: forgotten, its working directory gone.
  const pid = up2.pid!
  t.like(await cli(t, a, 'service', 'stop', 'echo'), { name: 'echo' })
  await eventually(async () => (await cli(t, a, 'service', 'ls')).services.find((s: Svc) => s.name === 'echo').state === 'stopped', 10_000, 'stopped')
  t.false(alive(pid), 'the stopped service has no process')
  await eventually(async () => (await crux('registry', 'get', '--api', 'Echo1', '--target', grpcOf(c), '--data-dir', c.dataDir)).status !== 0, 10_000, 'gone from C')
  const work = join(a.dataDir, 'picket', 'work', 'echo')
  t.true(existsSync(work))
  t.like(await cli(t, a, 'service', 'reset', 'echo'), { name: 'echo', state: 'forgotten' })
  // The run edge removes it once the node's step is done: soon after the answer, not before it.
  await eventually(async () => !existsSync(work), 5_000, 'its working directory is gone')
  t.false((await cli(t, a, 'service', 'ls')).services.some((s: Svc) => s.name === 'echo'))

  // A fulcrum's stop ends its services; its journal replays the picket actor.
  const last = (await cli(t, a, 'service', 'start', v1, '--name', 'last')) as Svc
  a.child.kill('SIGTERM')
  t.is(await a.exited, 0)
  t.false(alive(last.pid!), "the fulcrum's service ended with it")
  let steps = 0
  const report = replayJournal(readLines(trace), {
    machines: productMachines,
    onStep(s) {
      if (s.actor.endsWith('/picket')) steps++
    },
  })
  t.false(report.diverged, `A's journal diverged: ${JSON.stringify(report.diverged)}`)
  t.true(steps > 20, `${steps} picket steps replayed`)
})

test("a fulcrum killed with SIGKILL leaves none of its services running", async (t) => {
  t.timeout(60_000)
  const pool = new FulcrumPool(t)
  const a = pool.start('127.79.21.17:23123', '127.79.21.16/30')
  await until(() => agreed([a], 1), 15_000, 'a flock of one')
  const hash = (await cli(t, a, 'pastiche', 'put', echoBundle(pool.dir, 'e', { env: { ECHO_HOST: '127.79.21.18' } }))).hash as string
  const s = (await cli(t, a, 'service', 'start', hash, '--name', 'echo')) as Svc
  t.true(alive(s.pid!))
  a.child.kill('SIGKILL')
  await a.exited
  await eventually(async () => !alive(s.pid!), 2_000, 'the service gone within 2 s of its fulcrum')
  t.pass()
})

test("a service's restart is a MonInfo record: the beacon files it and crux watch prints it", async (t) => {
  t.timeout(60_000)
  const pool = new FulcrumPool(t)
  const beacon = '127.79.21.25:28351'
  const out = join(pool.dir, 'mon.ndjson')
  const started = await crux('beacon', '--listen', beacon, '--secret-file', pool.secretFile, '--out', out, '--json')
  t.is(started.status, 0, started.stderr)
  t.teardown(() => void crux('beacon', 'stop', '--listen', beacon))
  const a = pool.start('127.79.21.21:23123', '127.79.21.20/30', ['--beacon', beacon])
  await until(() => agreed([a], 1), 15_000, 'a flock of one')
  const watch = spawn(process.execPath, [fileURLToPath(new URL('../../bin/crux.js', import.meta.url)), 'watch', '--beacon', beacon, '--secret-file', pool.secretFile, '--json', '--timeout', '50s'])
  let watched = ''
  watch.stdout.on('data', (d: Buffer) => (watched += d.toString()))
  t.teardown(() => void watch.kill('SIGTERM'))
  const hash = (await cli(t, a, 'pastiche', 'put', echoBundle(pool.dir, 'e', { env: { ECHO_HOST: '127.79.21.22' } }))).hash as string
  const s = (await cli(t, a, 'service', 'start', hash, '--name', 'echo')) as Svc
  await eventually(async () => watched.includes('"flocks"'), 15_000, 'the watch hears the beacon')
  process.kill(s.pid!, 'SIGKILL')
  const filed = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) : [])
  await eventually(async () => filed().some((r) => r.op === 'ServiceRestart' && r.service === 'echo'), 10_000, 'the beacon filed the restart')
  t.like(filed().find((r) => r.op === 'ServiceRestart')!, { node: s.node, service: 'echo', n: 1, cause: 'killed by SIGKILL' })
  await eventually(async () => watched.includes('"op":"ServiceRestart"'), 10_000, 'crux watch printed the restart')
  const line = JSON.parse(watched.split('\n').find((l) => l.includes('"op":"ServiceRestart"'))!) as { service: Record<string, unknown> }
  t.deepEqual(line.service, { op: 'ServiceRestart', node: s.node, name: 'echo', restarts: 1, cause: 'killed by SIGKILL' })
})
