/** The log store: group-committed puts, reloaded whole; a torn tail is dropped, damage refused, kill -9 survived. */
import test from 'ava'
import { spawn } from 'node:child_process'
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LogStore, PREALLOC_BYTES } from '../../runtime/log-store.js'

const dir = () => mkdtempSync(join(tmpdir(), 'crux-logstore-'))

test('puts and deletes survive a reopen once synced', async (t) => {
  const d = dir()
  const a = new LogStore(d)
  a.put('n1/reeve', 'local/x', { v: 1 })
  a.put('n1/reeve', 'local/y', { v: 2 })
  a.put('n1/reeve', 'local/x', null)
  a.put('n1/reeve', 'other', 'z')
  await a.sync()
  t.true(a.counters.syncs >= 1)
  const b = new LogStore(d)
  t.deepEqual(b.keys('n1/reeve'), ['local/y', 'other'])
  t.deepEqual(b.values('n1/reeve', 'local/'), [{ v: 2 }])
  t.is(b.get('n1/reeve', 'local/x'), undefined)
  a.close()
  b.close()
})

test('many puts in one turn share one sync (group commit)', async (t) => {
  const s = new LogStore(dir())
  for (let i = 0; i < 1000; i++) s.put('a', `k${i}`, i)
  await Promise.all([s.sync(), s.sync()])
  t.is(s.counters.syncs, 1)
  s.close()
})

test('a torn last line (a write cut short) is dropped; the rest loads', async (t) => {
  const d = dir()
  const s = new LogStore(d)
  s.put('a', 'k1', 1)
  await s.sync()
  s.close()
  appendFileSync(join(d, 'a.log'), '{"k":"k2","v":')
  const r = new LogStore(d)
  t.deepEqual(r.keys('a'), ['k1'])
  r.put('a', 'k3', 3)
  await r.sync()
  r.close()
  t.deepEqual(new LogStore(d).keys('a'), ['k1', 'k3'], 'appending after the cut left a well-formed log')
})

test('a damaged line before the end is refused, naming the file and line', (t) => {
  const d = dir()
  writeFileSync(join(d, 'a.log'), '{"k":"k1","v":1}\nnot json\n{"k":"k2","v":2}\n')
  const err = t.throws(() => new LogStore(d).keys('a'))
  t.regex(err!.message, /a\.log: damaged at line 2/)
})

test('a log over twice its live keys is rewritten to one line per key', async (t) => {
  const d = dir()
  const s = new LogStore(d)
  for (let i = 0; i < 3000; i++) s.put('a', `k${i % 10}`, i)
  await s.sync()
  t.is(s.counters.compactions, 1)
  t.is(readFileSync(join(d, 'a.log'), 'utf8').trim().split('\n').length, 10)
  t.deepEqual(new LogStore(d).get('a', 'k9'), 2999)
  s.close()
})


test('a rewrite of a log many windows long keeps every live value, scattered lines and one longer than a window included', async (t) => {
  const d = dir()
  const s = new LogStore(d)
  const big = 'x'.repeat(100 * 1024)
  // 3 000 keys of ~200 bytes (several 64 KiB windows), every third overwritten later, so live lines
  // lie scattered through the file; one value longer than a window.
  for (let i = 0; i < 3000; i++) s.put('a', `k${i}`, { i, pad: 'p'.repeat(180) })
  s.put('a', 'big', big)
  await s.sync()
  for (let i = 0; i < 3000; i += 3) s.put('a', `k${i}`, { i, again: true })
  for (let r = 0; r < 3; r++) for (let i = 1; i < 3000; i += 3) s.put('a', `k${i}`, { i, r })
  await s.sync()
  t.true(s.counters.compactions >= 1)
  const check = (x: LogStore) => {
    for (let i = 0; i < 3000; i++) {
      const want = i % 3 === 0 ? { i, again: true } : i % 3 === 1 ? { i, r: 2 } : { i, pad: 'p'.repeat(180) }
      if (JSON.stringify(x.get('a', `k${i}`)) !== JSON.stringify(want)) return t.fail(`k${i}: ${JSON.stringify(x.get('a', `k${i}`))}`)
    }
    t.is(x.get('a', 'big'), big)
  }
  check(s)
  const b = new LogStore(d)
  check(b)
  t.is(readFileSync(join(d, 'a.log'), 'utf8').replace(/\0+$/, '').trim().split('\n').length, 3001)
  s.close()
  b.close()
})
test('kill -9 in the middle of writing leaves a readable store holding every synced put', async (t) => {
  const d = dir()
  const child = spawn(process.execPath, [fileURLToPath(new URL('../fixtures/log-store-writer.js', import.meta.url)), d], { stdio: ['ignore', 'pipe', 'inherit'] })
  let synced = -1
  await new Promise<void>((resolve, reject) => {
    const bound = setTimeout(() => reject(new Error('the writer synced nothing in 20 s')), 20_000)
    child.stdout.on('data', (b: Buffer) => {
      const lines = b.toString().trim().split('\n')
      synced = Number(lines[lines.length - 1])
      if (synced >= 20_000) {
        clearTimeout(bound)
        child.kill('SIGKILL')
        resolve()
      }
    })
  })
  await new Promise((r) => child.once('exit', r))
  const s = new LogStore(d)
  const values = s.values('w/reeve') as Array<{ n: number }>
  t.is(values.length, 500)
  t.true(Math.max(...values.map((v) => v.n)) >= synced, 'nothing acknowledged was lost')
  s.close()
})

test('a failed write is heard by every caller waiting and later ones until the log is rewritten; then all of it is on disk', async (t) => {
  const d = dir()
  const s = new LogStore(d)
  const heard: string[] = []
  const r = new LogStore(dir(), { failed: (e) => heard.push(e.message), recovered: () => heard.push('recovered') })
  s.put('a', 'k1', 1)
  await s.sync()
  // The file taken away underneath, and its directory: the write fails, and so does a rewrite.
  closeSync((s as unknown as { logs: Map<string, { fd: number }> }).logs.get('a')!.fd)
  rmSync(d, { recursive: true })
  s.put('a', 'k2', 2)
  await t.throwsAsync(s.sync(), { name: 'UnavailableError', message: /cannot write the store log .*a\.log \(EBADF\)/ })
  await t.throwsAsync(s.sync(), { name: 'UnavailableError' })
  // The disk takes writes again: the log is rewritten whole, nothing put is lost, appends go on.
  mkdirSync(d)
  s.put('a', 'k3', 3)
  await s.sync()
  s.close()
  const again = new LogStore(d)
  t.deepEqual(again.keys('a'), ['k1', 'k2', 'k3'])
  t.is(again.get('a', 'k2'), 2)
  again.close()
  // The report: once when broken, once when whole again.
  r.put('b', 'k', 1)
  await r.sync()
  closeSync((r as unknown as { logs: Map<string, { fd: number }> }).logs.get('b')!.fd)
  r.put('b', 'k', 2)
  await t.throwsAsync(r.sync())
  r.put('b', 'k', 3)
  await r.sync()
  r.close()
  t.deepEqual(heard, [heard[0]!, 'recovered'])
  t.regex(heard[0]!, /EBADF/)
})

test('a caller alone flushes at once: durable when sync(true) resolves, without a pooled sync', async (t) => {
  const d = dir()
  const s = new LogStore(d)
  s.put('a', 'k1', 1)
  const p = s.sync(true)
  // Already on disk before the promise is even awaited.
  t.regex(readFileSync(join(d, 'a.log'), 'utf8'), /"k":"k1"/)
  await p
  t.is(s.counters.syncs, 1)
  s.close()
})

test('syncNow flushes here and now and says so; with a flush on the pool it leaves the caller to sync(); a refused write throws', async (t) => {
  const d = dir()
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  const s = new LogStore(d)
  s.put('a', 'k1', 1)
  t.true(s.syncNow())
  t.regex(readFileSync(join(d, 'a.log'), 'utf8'), /"k":"k1"/)
  // A pooled flush is under way (or others wait for it): syncNow does not jump it.
  s.put('a', 'k2', 2)
  const pooled = s.sync()
  s.put('a', 'k3', 3)
  t.false(s.syncNow())
  await pooled
  await s.sync()
  t.regex(readFileSync(join(d, 'a.log'), 'utf8'), /"k":"k3"/)
  closeSync((s as unknown as { logs: Map<string, { fd: number }> }).logs.get('a')!.fd)
  s.put('a', 'k4', 4)
  t.throws(() => s.syncNow(), { name: 'UnavailableError', message: /EBADF/ })
  // Rewritten whole at the next call: every put is on disk again.
  t.true(s.syncNow())
  s.close()
  const again = new LogStore(d)
  t.deepEqual(again.keys('a'), ['k1', 'k2', 'k3', 'k4'])
  again.close()
})

test('each group commit is timed, on the thread pool and alone', async (t) => {
  const d = dir()
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  const s = new LogStore(d)
  t.is(s.syncLatency.count, 0)
  for (let i = 0; i < 10; i++) s.put('n1/reeve', `k${i}`, i)
  await Promise.all([s.sync(), s.sync()])
  t.is(s.syncLatency.count, s.counters.syncs)
  s.put('n1/reeve', 'alone', 1)
  await s.sync(true)
  t.is(s.syncLatency.count, s.counters.syncs)
  t.true(s.syncLatency.count >= 2)
  t.true(s.syncLatency.sum > 0, 'an fdatasync takes some time')
  t.is(s.syncLatency.counts.reduce((a, b) => a + b, 0), s.syncLatency.count)
  s.close()
})

test('written values are not held in memory: only their location; they read back the same', async (t) => {
  const d = dir()
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  const s = new LogStore(d)
  const value = (i: number) => ({ nodeId: `/crux/default/n${i}/Bench1`, address: '127.0.0.1:9000', state: 'up', note: 'é✓' })
  for (let i = 0; i < 2000; i++) s.put('a', `local/${i}`, value(i))
  t.true(s.heldBytes('a') > 2000 * 50, 'held as text until written')
  await s.sync()
  t.is(s.heldBytes('a'), 0, 'a reeve with 20 000 registrations held ≈ 11 MB of their JSON besides its context')
  t.deepEqual(s.get('a', 'local/1999'), value(1999))
  t.deepEqual(s.values('a', 'local/1').length, 1111)
  // Rewritten (deletes past twice the live keys): still nothing held, and every value reads back.
  for (let i = 0; i < 1500; i++) s.put('a', `local/${i}`, null)
  await s.sync()
  t.true(s.counters.compactions >= 1)
  t.is(s.heldBytes('a'), 0)
  t.deepEqual(s.values('a', 'local/'), Array.from({ length: 500 }, (_, i) => value(1500 + i)))
  t.deepEqual(s.get('a', 'local/1700'), value(1700))
  s.close()
  const again = new LogStore(d)
  t.is(again.keys('a').length, 500)
  t.deepEqual(again.get('a', 'local/1999'), value(1999))
  t.is(again.heldBytes('a'), 0, 'a log loaded is not held either')
  again.close()
})

test('a log is written into zeros written ahead of it (no growth to sync per put); an open log loads to its first zero byte; a clean close cuts the zeros off', async (t) => {
  const d = dir()
  const s = new LogStore(d)
  for (let i = 0; i < 50; i++) s.put('a', `k${i}`, { i })
  await s.sync(true)
  const [file] = readdirSync(d).filter((f) => !f.startsWith('.'))
  const open = readFileSync(join(d, file!))
  // What a kill -9 leaves: the lines, then zeros up to a whole preallocation step.
  t.is(open.length, PREALLOC_BYTES)
  const end = open.indexOf(0)
  t.true(end > 0 && open.subarray(end).every((b) => b === 0), 'lines, then only zeros')
  const copy = dir()
  writeFileSync(join(copy, file!), open)
  const repairs: string[] = []
  const b = new LogStore(copy, { onRepair: (_f, what) => void repairs.push(what) })
  t.deepEqual((b.values('a') as Array<{ i: number }>).map((v) => v.i).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i))
  t.deepEqual(repairs, [], 'zeros ahead are not damage')
  b.put('a', 'k50', { i: 50 })
  await b.sync(true)
  b.close()
  t.deepEqual(new LogStore(copy).values('a').length, 51, 'written after the loaded end, not after the zeros')
  s.close()
  const closed = readFileSync(join(d, file!))
  t.is(closed.indexOf(0), -1, 'no zeros left after a clean close')
  t.is(closed.toString('utf8').split('\n').length, 51)
})

test('bytes after the zeros (lines of a sync that never came, after a power loss) are dropped and reported, the log before them kept', async (t) => {
  const d = dir()
  const s = new LogStore(d)
  s.put('a', 'k1', 1)
  await s.sync(true)
  const [file] = readdirSync(d).filter((f) => !f.startsWith('.'))
  const bytes = Buffer.from(readFileSync(join(d, file!)))
  s.close()
  const lines = bytes.indexOf(0)
  bytes.write('{"k":"k9","v":9}\n', lines + 4096)
  const copy = dir()
  writeFileSync(join(copy, file!), bytes)
  const repairs: string[] = []
  const b = new LogStore(copy, { onRepair: (_f, what) => void repairs.push(what) })
  t.deepEqual(b.keys('a'), ['k1'])
  t.is(repairs.length, 1)
  t.regex(repairs[0]!, /after the end of the log/)
  b.close()
})
