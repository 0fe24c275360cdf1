/**
 * One owner per data dir (issue 14): the lock is taken whole or not at all, a live owner refuses a
 * second, a gone owner (dead pid, reused pid, another boot) is taken over and said, and release only
 * ever removes one's own lock. Processes are injected, except in the race of real processes at the end.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lockDataDir, staleBecause, systemProbe, type LockOwner, type ProcessProbe } from '../../../actors/fulcrum/data-dir-lock.js'
import { InvalidArgumentError, UnavailableError } from '../../../runtime/errors.js'

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-lock-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return join(d, 'data')
}

/** A host of processes: pid → start time of the running ones. */
function host(pid: number, running: Record<number, string>, boot = 'boot-1', name = 'h1'): ProcessProbe {
  return { alive: (p) => p in running, startOf: (p) => running[p] ?? '', boot: () => boot, host: () => name, pid: () => pid }
}

const owner = (o: Partial<LockOwner>): LockOwner => ({ pid: 7, host: 'h1', boot: 'boot-1', start: '100', nonce: 'aaaa', ...o })
const plant = (d: string, o: LockOwner) => writeFileSync(join(d, 'lock'), JSON.stringify(o))
const lockOf = (d: string) => JSON.parse(readFileSync(join(d, 'lock'), 'utf8')) as LockOwner

test('a fresh dir is made and locked; release removes the lock and leaves nothing else', (t) => {
  const d = dir(t)
  const lock = lockDataDir(d, { probe: host(10, { 10: '500' }) })
  t.deepEqual({ ...lockOf(d), nonce: '' }, { pid: 10, host: 'h1', boot: 'boot-1', start: '500', nonce: '' })
  t.deepEqual(readdirSync(d), ['lock'])
  lock.release()
  lock.release()
  t.deepEqual(readdirSync(d), [])
})

test('a second owner is refused while the first runs, and the first keeps its lock', (t) => {
  const d = dir(t)
  const running = { 10: '500', 11: '600' }
  const first = lockDataDir(d, { probe: host(10, running) })
  const err = t.throws(() => lockDataDir(d, { probe: host(11, running) }), { instanceOf: UnavailableError })
  t.is(err?.message, `data dir ${d} is in use by pid 10`)
  t.is(lockOf(d).nonce, first.owner.nonce)
  t.deepEqual(readdirSync(d), ['lock'])
})

test('a lock whose pid is gone is taken over, and said', (t) => {
  const d = dir(t)
  lockDataDir(d, { probe: host(7, { 7: '100' }) })
  const said: string[] = []
  const lock = lockDataDir(d, { probe: host(11, { 11: '600' }), onStale: (prev, why) => said.push(`${prev.pid}: ${why}`) })
  t.deepEqual(said, ['7: pid 7 is not running'])
  t.is(lockOf(d).nonce, lock.owner.nonce)
  t.deepEqual(readdirSync(d), ['lock'])
})

test('a pid alive but started at another time is a reused pid: taken over', (t) => {
  const d = dir(t)
  lockDataDir(d, { probe: host(7, { 7: '100' }) })
  const said: string[] = []
  lockDataDir(d, { probe: host(11, { 7: '900', 11: '600' }), onStale: (_p, why) => said.push(why) })
  t.deepEqual(said, ['pid 7 is now another process'])
})

test('a lock from before a reboot is taken over even if its pid runs again (a container restarted as pid 1)', (t) => {
  const d = dir(t)
  lockDataDir(d, { probe: host(1, { 1: '5' }, 'boot-1') })
  const said: string[] = []
  lockDataDir(d, { probe: host(1, { 1: '5' }, 'boot-2'), onStale: (_p, why) => said.push(why) })
  t.deepEqual(said, ['the host rebooted since'])
})

test("another host's lock is never taken: it cannot be checked from here", (t) => {
  const d = dir(t)
  lockDataDir(d, { probe: host(7, { 7: '100' }, 'b', 'other-host') })
  const err = t.throws(() => lockDataDir(d, { probe: host(11, { 11: '600' }) }))
  t.is(err?.message, `data dir ${d} is in use by pid 7 on host other-host (remove ${join(d, 'lock')} if that process is gone)`)
})

test('a lock file that is not a lock is refused and left alone', (t) => {
  const d = dir(t)
  lockDataDir(d, { probe: host(7, {}) }).release()
  writeFileSync(join(d, 'lock'), 'mine, do not touch\n')
  t.throws(() => lockDataDir(d, { probe: host(11, {}) }), { instanceOf: UnavailableError, message: /holds a lock file .* that is not crux's/ })
  t.is(readFileSync(join(d, 'lock'), 'utf8'), 'mine, do not touch\n')
})

test('a lock whose pid or nonce could do harm (signal a group, name a file elsewhere) is not a lock', (t) => {
  const d = dir(t)
  lockDataDir(d, { probe: host(7, {}) }).release()
  for (const bad of [owner({ pid: -1 }), owner({ pid: 0 }), owner({ nonce: '../../x' })]) {
    plant(d, bad)
    t.throws(() => lockDataDir(d, { probe: host(11, {}) }), { message: /that is not crux's/ })
  }
  t.deepEqual(readdirSync(d), ['lock'])
})

test("release after a takeover leaves the new owner's lock in place", (t) => {
  const d = dir(t)
  const old = lockDataDir(d, { probe: host(7, { 7: '100' }) })
  const next = lockDataDir(d, { probe: host(11, { 11: '600' }) })
  old.release()
  t.is(lockOf(d).nonce, next.owner.nonce)
})

test('a breaker left by a taker that died on the way is broken too', (t) => {
  const d = dir(t)
  lockDataDir(d, { probe: host(7, { 7: '100' }) })
  const stale = lockOf(d)
  writeFileSync(join(d, `lock.${stale.nonce}.break`), JSON.stringify(owner({ pid: 8, nonce: 'bbbb' })))
  const lock = lockDataDir(d, { probe: host(11, { 11: '600' }) })
  t.is(lockOf(d).nonce, lock.owner.nonce)
  t.deepEqual(readdirSync(d), ['lock'])
})

test('staleBecause: alive with the same start, or an unknown start, still holds', (t) => {
  t.is(staleBecause(owner({}), host(1, { 7: '100' })), null)
  t.is(staleBecause(owner({ start: '' }), host(1, { 7: '999' })), null)
  t.is(staleBecause(owner({ boot: '' }), host(1, {}, 'x')), 'pid 7 is not running')
})

test('the system probe knows this process: alive, with a start time where /proc is', (t) => {
  t.true(systemProbe.alive(process.pid))
  if (existsSync('/proc/self/stat')) t.regex(systemProbe.startOf(process.pid), /^\d+$/)
  t.false(systemProbe.alive(2 ** 22 + 1)) // above Linux's pid_max
})

test('a data dir under /proc is refused at once (node: recursive mkdir spins there)', (t) => {
  if (!existsSync('/proc/self')) return t.pass()
  t.throws(() => lockDataDir('/proc/crux-no-such-dir/data'), { instanceOf: InvalidArgumentError, message: 'cannot use data dir /proc/crux-no-such-dir/data (ENOENT)' })
  t.throws(() => lockDataDir('/proc/self'), { instanceOf: UnavailableError, message: /^cannot lock data dir \/proc\/self \(E[A-Z]+\)$/ })
})

/** Starts `n` processes that each try to lock `d` at once and report; they hold it until stdin closes. */
async function race(d: string, n: number): Promise<string[]> {
  const lockModule = new URL('../../../actors/fulcrum/data-dir-lock.js', import.meta.url).href
  const script = `import(${JSON.stringify(lockModule)}).then(({ lockDataDir }) => { let r; try { lockDataDir(${JSON.stringify(d)}); r = 'won' } catch (e) { r = e.message } process.stdout.write(r + '\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0)) })`
  const kids = Array.from({ length: n }, () => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }))
  const said = await Promise.all(kids.map((k) => new Promise<string>((resolve) => k.stdout.once('data', (b: Buffer) => resolve(b.toString().trim())))))
  await Promise.all(kids.map((k) => new Promise((resolve) => (k.stdin.end(), k.once('exit', resolve)))))
  return said
}

test('of simultaneous starts exactly one wins, on a fresh dir and over a stale lock', async (t) => {
  const d = dir(t)
  const fresh = await race(d, 6)
  t.is(fresh.filter((r) => r === 'won').length, 1, fresh.join(' | '))
  for (const r of fresh.filter((r) => r !== 'won')) t.regex(r, /^data dir .* is in use by pid \d+$/)
  t.false(existsSync(join(d, 'lock')), 'the winner released it on exit')
  plant(d, owner({ pid: 2 ** 22 + 1, host: systemProbe.host(), boot: systemProbe.boot(), start: '' }))
  const overStale = await race(d, 6)
  t.is(overStale.filter((r) => r === 'won').length, 1, overStale.join(' | '))
  t.deepEqual(readdirSync(d), [])
})
