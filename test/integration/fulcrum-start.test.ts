/**
 * A fulcrum that cannot start fails before it sends a packet (issue 14): a taken UDP, gRPC or metrics
 * port, a secret file or node key it cannot read, a data dir under /proc. Each gives exit 1 (2 for
 * the data dir path), one `crux:` line on stderr and nothing else, and a UDP socket listening where
 * the fulcrum would probe hears nothing. The control case shows that socket does hear a fulcrum that
 * starts. They used to print the line and run on, in the flock; a data dir under /proc hung.
 */
import test, { type ExecutionContext } from 'ava'
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSecret } from '../../runtime/secret.js'
import { agreed, crux, FulcrumPool, until, type RunningFulcrum } from '../fixtures/fulcrums.js'

/** A hang guard for a loaded machine: a refusal takes about a second (a start the same). */
const BOUND = 30_000
const NET = '127.77.100'

interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** Datagrams the probe target heard. */
  heard: number
}

interface Setup {
  root: string
  secret: string
  data: string
}

function setup(t: ExecutionContext): Setup {
  const root = mkdtempSync(join(tmpdir(), 'crux-start-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const secret = join(root, 'flock.secret')
  writeFileSync(secret, generateSecret() + '\n', { mode: 0o600 })
  return { root, secret, data: join(root, 'data') }
}

/** A UDP socket at `host` (any port) that counts what it hears: where a fulcrum is told to probe. */
async function probeTarget(t: ExecutionContext, host: string): Promise<{ addr: string; heard: () => number }> {
  const s: UdpSocket = createSocket('udp4')
  let heard = 0
  s.on('message', () => heard++)
  await new Promise<void>((r) => s.bind(0, host, () => r()))
  t.teardown(() => s.close())
  return { addr: `${host}:${s.address().port}`, heard: () => heard }
}

/** Holds a TCP port at `host` (any port), as another program would; with `free`, lets it go again. */
async function takenTcp(t: ExecutionContext, host: string, free = false): Promise<number> {
  const s: Server = createServer()
  await new Promise<void>((r) => s.listen(0, host, () => r()))
  const port = (s.address() as { port: number }).port
  const close = () => new Promise<void>((r) => s.close(() => r()))
  if (free) await close()
  else t.teardown(close)
  return port
}

/**
 * Runs `crux fulcrum` probing a fresh probe target; `until` may end a running one (SIGTERM). Waits a
 * further 300 ms after exit for datagrams still in flight to the target.
 */
async function fulcrum(t: ExecutionContext, host: string, args: string[], opts: SpawnOptions = {}, until?: (run: Run) => boolean): Promise<Run> {
  const target = await probeTarget(t, host)
  const child = spawn(process.execPath, ['dist/bin/crux.bundle.mjs', 'fulcrum', '--probe', target.addr, '--heartbeat', '200', ...args], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] })
  const run: Run = { code: null, stdout: '', stderr: '', heard: 0 }
  const guard = setTimeout(() => child.kill('SIGKILL'), BOUND)
  let ending = false
  const poll = setInterval(() => {
    run.heard = target.heard()
    // Once: a second SIGTERM during the graceful stop would kill it outright.
    if (until?.(run) === true && !ending) ending = child.kill('SIGTERM')
  }, 50)
  child.stdout!.on('data', (b: Buffer) => (run.stdout += b.toString()))
  child.stderr!.on('data', (b: Buffer) => (run.stderr += b.toString()))
  run.code = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  clearTimeout(guard)
  clearInterval(poll)
  await new Promise((r) => setTimeout(r, 300))
  run.heard = target.heard()
  return run
}

/**
 * Exit `code`, one `crux:` line matching `line` and nothing else on stderr, no log line past start, no
 * datagram; and the data dir's lock, if this start took it, released again.
 */
function refused(t: ExecutionContext, r: Run, code: number, line: RegExp, dataDir?: string): void {
  if (dataDir !== undefined) t.false(existsSync(join(dataDir, 'lock')), 'the lock released')
  t.is(r.code, code, r.stderr)
  t.regex(r.stderr, /^crux: [^\n]*\n$/, 'exactly one crux: line on stderr')
  t.regex(r.stderr, line)
  for (const l of r.stdout.split('\n').filter((l) => l !== '')) t.notThrows(() => JSON.parse(l), `a stray line on stdout: ${l}`)
  t.false(r.stdout.includes('fulcrum started'), r.stdout)
  t.is(r.heard, 0, 'no datagram sent')
}

/** Options that run the child as another user where the test runs as root (root reads any file). */
function asNobody(paths: string[]): SpawnOptions {
  if (process.getuid?.() !== 0) return {}
  for (const p of paths) chownSync(p, 65534, 65534)
  return { uid: 65534, gid: 65534 }
}

test('control: a fulcrum that can start sends to its probe target (what the refusals below are held to)', async (t) => {
  const s = setup(t)
  // --metrics takes no port 0: a port free a moment ago, on an address only these tests use.
  const metrics = await takenTcp(t, `${NET}.10`, true)
  const r = await fulcrum(t, `${NET}.10`, ['--listen', `${NET}.10:0`, '--grpc', `${NET}.10:0`, '--metrics', `${NET}.10:${metrics}`, '--secret-file', s.secret, '--data-dir', s.data], {}, (run) => run.heard > 0)
  t.true(r.heard > 0)
  t.is(r.code, 0, r.stderr)
  t.is(r.stderr, '')
  t.true(existsSync(join(s.data, 'node.key')))
  t.false(existsSync(join(s.data, 'lock')), 'a graceful stop releases the lock')
})

test('a UDP port taken: exit 1, one line naming it, no datagram sent', async (t) => {
  const s = setup(t)
  const other = createSocket('udp4')
  await new Promise<void>((r) => other.bind(0, `${NET}.11`, () => r()))
  t.teardown(() => other.close())
  const port = other.address().port
  const r = await fulcrum(t, `${NET}.11`, ['--listen', `${NET}.11:${port}`, '--secret-file', s.secret, '--data-dir', s.data])
  refused(t, r, 1, new RegExp(`^crux: address ${NET}\\.11:${port} is already in use\\n$`), s.data)
})

test('the gRPC port taken: exit 1, one line naming it, no stray grpc-js line, no datagram sent', async (t) => {
  const s = setup(t)
  const port = await takenTcp(t, `${NET}.12`)
  const r = await fulcrum(t, `${NET}.12`, ['--listen', `${NET}.12:0`, '--grpc', `${NET}.12:${port}`, '--secret-file', s.secret, '--data-dir', s.data])
  refused(t, r, 1, new RegExp(`^crux: cannot serve gRPC on ${NET}\\.12:${port} \\(EADDRINUSE\\)\\n$`), s.data)
})

test('the metrics port taken: exit 1, one line naming it, no datagram sent', async (t) => {
  const s = setup(t)
  const port = await takenTcp(t, `${NET}.13`)
  const r = await fulcrum(t, `${NET}.13`, ['--listen', `${NET}.13:0`, '--grpc', `${NET}.13:0`, '--metrics', `${NET}.13:${port}`, '--secret-file', s.secret, '--data-dir', s.data])
  refused(t, r, 1, new RegExp(`^crux: cannot serve metrics on ${NET}\\.13:${port} \\(EADDRINUSE\\)\\n$`), s.data)
})

test('a secret file that cannot be read: exit 1, one line naming it, no datagram sent', async (t) => {
  const s = setup(t)
  chmodSync(s.root, 0o755)
  chmodSync(s.secret, 0o000)
  const r = await fulcrum(t, `${NET}.14`, ['--listen', `${NET}.14:0`, '--secret-file', s.secret, '--data-dir', s.data], asNobody([]))
  refused(t, r, 1, new RegExp(`^crux: cannot read secret file ${s.secret} \\(EACCES\\)\\n$`))
})

test('a node key that cannot be read: exit 1, one line naming it, no datagram sent', async (t) => {
  const s = setup(t)
  chmodSync(s.root, 0o755)
  chmodSync(s.secret, 0o644)
  mkdirSync(s.data, { mode: 0o700 })
  const key = join(s.data, 'node.key')
  writeFileSync(key, 'not read\n', { mode: 0o000 })
  const r = await fulcrum(t, `${NET}.15`, ['--listen', `${NET}.15:0`, '--secret-file', s.secret, '--data-dir', s.data], asNobody([s.data]))
  refused(t, r, 1, new RegExp(`^crux: cannot read ${key} \\(EACCES\\)\\n$`), s.data)
})

test('a data dir that cannot be locked (not writable): exit 1, one line naming it, no datagram sent', async (t) => {
  const s = setup(t)
  chmodSync(s.root, 0o755)
  chmodSync(s.secret, 0o644)
  mkdirSync(s.data, { mode: 0o555 })
  const r = await fulcrum(t, `${NET}.19`, ['--listen', `${NET}.19:0`, '--secret-file', s.secret, '--data-dir', s.data], asNobody([]))
  refused(t, r, 1, new RegExp(`^crux: cannot lock data dir ${s.data} \\(EACCES\\)\\n$`))
})

test('a data dir under /proc: refused at once with one line (it used to hang)', async (t) => {
  const s = setup(t)
  // A hang ends in the guard's SIGKILL: no exit code, no line.
  const r = await fulcrum(t, `${NET}.16`, ['--listen', `${NET}.16:0`, '--secret-file', s.secret, '--data-dir', '/proc/crux-start-test/data'])
  refused(t, r, 2, /^crux: cannot use data dir \/proc\/crux-start-test\/data \(ENOENT\)\n$/)
})

test('gRPC announced on another host than the flock address: refused before it sends (every registration would be)', async (t) => {
  const s = setup(t)
  const r = await fulcrum(t, `${NET}.17`, ['--listen', `${NET}.17:0`, '--grpc', `${NET}.18:0`, '--secret-file', s.secret, '--data-dir', s.data])
  refused(t, r, 2, new RegExp(`^crux: the gRPC host announced, ${NET}\\.18, is not the flock host announced, ${NET}\\.17: `))
})

test('crux keygen under /proc: refused with one line (node: recursive mkdir spun forever there)', (t) => {
  for (const args of [['keygen', 'node', '--data-dir', '/proc/crux-start-test/n'], ['keygen', 'ca', '--out', '/proc/crux-start-test/ca']]) {
    const r = spawnSync(process.execPath, ['dist/bin/crux.bundle.mjs', ...args], { encoding: 'utf8', timeout: BOUND })
    t.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    t.regex(r.stderr, /^crux: cannot use (data|CA) dir \/proc\/crux-start-test\/(n|ca) \(ENOENT\)\n$/)
  }
})

// ---- one owner per data dir ----

const started = (f: RunningFulcrum) => f.lines.some((l) => l.msg === 'fulcrum started')
const lockFile = (f: RunningFulcrum) => join(f.dataDir, 'lock')

test('a second fulcrum on a running node\'s data dir is refused before it sends, and the flock is untouched', async (t) => {
  const pool = new FulcrumPool(t)
  const a = pool.start(`${NET}.31:23431`, `${NET}.32:23431`, ['--grpc', `${NET}.31:0`])
  const b = pool.start(`${NET}.32:23431`, `${NET}.31:23431`, ['--grpc', `${NET}.32:0`])
  const settled = () => agreed([a, b], 2) && [a, b].some((f) => f.view()?.role === 'leader.stable')
  await until(settled, BOUND, 'a flock of two with a stable leader')
  const where = (f: RunningFulcrum) => ({ flock: f.view()?.flock, leader: f.view()?.leader, leaderAddr: f.view()?.leaderAddr, members: f.view()?.members })
  const before = [where(a), where(b)]
  // It would take a's node id and probe the flock, as the duplicate of issue 14 did.
  const r = await fulcrum(t, `${NET}.33`, ['--listen', `${NET}.33:0`, '--grpc', `${NET}.33:0`, '--probe', a.addr, '--secret-file', pool.secretFile, '--data-dir', a.dataDir])
  refused(t, r, 1, new RegExp(`^crux: data dir ${a.dataDir} is in use by pid ${a.child.pid}\\n$`))
  // Five heartbeats more: a duplicate id would have renamed the flock or moved its leader by now.
  await new Promise((res) => setTimeout(res, 1_000))
  t.deepEqual([where(a), where(b)], before)
  t.true(settled())
  t.true(existsSync(lockFile(a)))
})

test('after kill -9 the next start takes the stale lock and says so; after a graceful stop the lock is gone', async (t) => {
  const pool = new FulcrumPool(t)
  const first = pool.start(`${NET}.34:23431`, `${NET}.35:23431`, ['--no-grpc'], 'node')
  await until(() => started(first), BOUND, 'the first start')
  t.is((JSON.parse(readFileSync(lockFile(first), 'utf8')) as { pid: number }).pid, first.child.pid!)
  first.child.kill('SIGKILL')
  await first.exited
  t.true(existsSync(lockFile(first)), 'kill -9 leaves the lock behind')
  const next = pool.start(`${NET}.34:23431`, `${NET}.35:23431`, ['--no-grpc'], 'node')
  await until(() => started(next), BOUND, 'the next start')
  const took = next.lines.find((l) => l.msg === 'took over the data dir lock of a process that is gone')
  t.like(took, { level: 40, pid: first.child.pid!, why: `pid ${first.child.pid!} is not running`, lock: lockFile(first) })
  t.is((JSON.parse(readFileSync(lockFile(next), 'utf8')) as { pid: number }).pid, next.child.pid!)
  next.child.kill('SIGTERM')
  t.is(await next.exited, 0)
  t.false(existsSync(lockFile(next)), 'a graceful stop releases the lock')
})

// ---- --advertise ----

/** A NAT-like UDP forwarder: what reaches `outer` goes to `inner` from a socket of its own, and the answers back to the one sender. */
async function udpRelay(t: ExecutionContext, outer: string, via: string, inner: { host: string; port: number }): Promise<void> {
  const [oh, op] = outer.split(':') as [string, string]
  const out = createSocket('udp4')
  const back = createSocket('udp4')
  let sender: { address: string; port: number } | undefined
  out.on('message', (m, from) => {
    sender = from
    back.send(m, inner.port, inner.host)
  })
  back.on('message', (m) => sender !== undefined && out.send(m, sender.port, sender.address))
  await new Promise<void>((r) => out.bind(Number(op), oh, () => r()))
  await new Promise<void>((r) => back.bind(0, via, () => r()))
  t.teardown(() => (out.close(), back.close()))
}

/** A TCP forwarder from `outer` to `inner`; counts the connections it carried. */
async function tcpRelay(t: ExecutionContext, outer: { host: string; port: number }, inner: { host: string; port: number }): Promise<() => number> {
  let carried = 0
  const s = createServer((c) => {
    carried++
    const up = connect(inner.port, inner.host)
    c.pipe(up).pipe(c)
    const end = () => (c.destroy(), up.destroy())
    c.on('error', end).on('close', end)
    up.on('error', end).on('close', end)
  })
  await new Promise<void>((r) => s.listen(outer.port, outer.host, () => r()))
  t.teardown(() => new Promise<void>((r) => (s.close(() => r()), s.emit('close'))))
  return () => carried
}

test('--advertise and --grpc-advertise: peers reach a node only through the addresses it announces', async (t) => {
  const pool = new FulcrumPool(t)
  const bound = { udp: `${NET}.41:23441`, grpc: `${NET}.41:23442` }
  const announced = { udp: `${NET}.42:23441`, grpc: `${NET}.42:23442` }
  await udpRelay(t, announced.udp, `${NET}.43`, { host: `${NET}.41`, port: 23441 })
  const carried = await tcpRelay(t, { host: `${NET}.42`, port: 23442 }, { host: `${NET}.41`, port: 23442 })
  // b probes nobody; a knows only b's announced address.
  const b = pool.start(bound.udp, `${NET}.49:23449`, ['--advertise', announced.udp, '--grpc', bound.grpc, '--grpc-advertise', announced.grpc])
  const a = pool.start(`${NET}.44:23441`, announced.udp, ['--grpc', `${NET}.44:23442`])
  await until(() => agreed([a, b], 2), BOUND, 'a flock of two through the relay')
  t.like(b.lines.find((l) => l.msg === 'fulcrum started'), { addr: announced.udp, bound: bound.udp, grpc: announced.grpc, grpcBound: bound.grpc })
  const members = await crux('members', '--target', a.addr, '--secret-file', pool.secretFile, '--json')
  t.is(members.status, 0, members.stderr)
  const list = (JSON.parse(members.stdout) as { members: Array<{ id: string; addr: string }> }).members
  t.deepEqual(list.map((m) => m.addr).sort(), [announced.udp, a.addr].sort())
  // Whoever leads, the other's reeve registers with the leader's announced gRPC address, and the
  // catalog reaches b's reeve at its announced one: either way through the TCP relay.
  const names = await crux('names', '--target', a.addr, '--secret-file', pool.secretFile, '--json')
  const steward = (JSON.parse(names.stdout) as { steward: string }).steward
  t.true([announced.grpc, `${NET}.44:23442`].includes(steward), steward)
  const registered = (f: RunningFulcrum) => f.lines.some((l) => l.msg === 'registered with steward' && l.steward === steward)
  await until(() => registered(a) && registered(b) && carried() > 0, BOUND, 'both reeves registered, through the relay')
  t.false(JSON.stringify([members.stdout, names.stdout, a.lines]).includes(bound.udp), 'the bound address is never announced')
})
