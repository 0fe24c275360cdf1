import test from 'ava'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VirtualClock } from '../../runtime/clock.js'
import { DataDirError, InvalidArgumentError, JournalError } from '../../runtime/errors.js'
import { createActorHost } from '../../runtime/host.js'
import { FileStore, MemoryStore } from '../../runtime/store.js'
import { crasher, fixtureMachines } from '../fixtures/machines.js'

function tempDir(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'crux-store-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('memory store keeps JSON copies', (t) => {
  const s = new MemoryStore()
  const v = { a: [1, 2] }
  s.put('n1/flock', 'checkpoint', v)
  v.a.push(3)
  t.deepEqual(s.get('n1/flock', 'checkpoint'), { a: [1, 2] })
  t.deepEqual(s.keys('n1/flock'), ['checkpoint'])
  t.is(s.get('n1/flock', 'nope'), undefined)
})

test('file store round-trips across instances (a restart)', (t) => {
  const dir = tempDir(t)
  new FileStore(dir).put('n1/flock', 'checkpoint', { flock: 'f1', history: ['127.0.0.1:1'] })
  const again = new FileStore(dir)
  t.deepEqual(again.get('n1/flock', 'checkpoint'), { flock: 'f1', history: ['127.0.0.1:1'] })
  t.deepEqual(again.keys('n1/flock'), ['checkpoint'])
})

test('file store leaves no temp files behind', (t) => {
  const dir = tempDir(t)
  const s = new FileStore(dir)
  for (let i = 0; i < 20; i++) s.put('a', 'k', i)
  t.deepEqual(readdirSync(join(dir, 'a')), ['k.json'])
  t.is(s.get('a', 'k'), 19)
})

test('file store refuses names that could escape its directory', (t) => {
  const s = new FileStore(tempDir(t))
  t.throws(() => s.put('a', '../x', 1), { instanceOf: InvalidArgumentError })
  t.throws(() => s.put('..', 'k', 1), { instanceOf: InvalidArgumentError })
})

test('a corrupt store file is a clear error, not a crash', (t) => {
  const dir = tempDir(t)
  const s = new FileStore(dir)
  s.put('a', 'k', 1)
  writeFileSync(join(dir, 'a', 'k.json'), '{"torn')
  t.throws(() => s.get('a', 'k'), { instanceOf: JournalError, message: /not valid JSON/ })
})

test('a damaged store file is one DataDirError naming the file: `<file>: not valid JSON`', (t) => {
  const dir = tempDir(t)
  const s = new FileStore(dir)
  s.put('a/b', 'checkpoint', { ok: true })
  writeFileSync(s.fileOf('a/b', 'checkpoint'), '{"id": 1,')
  const err = t.throws(() => s.get('a/b', 'checkpoint'), { instanceOf: DataDirError })
  t.is(err!.message, `${join(dir, 'a~b', 'checkpoint.json')}: not valid JSON`)
})

test('persist effects from a hosted machine reach the file store', (t) => {
  const dir = tempDir(t)
  const store = new FileStore(dir)
  const clock = new VirtualClock()
  const host = createActorHost({ clock, machines: fixtureMachines, store })
  host.spawn('n1/x', crasher.name)
  clock.runAll()
  t.is(store.get('n1/x', 'n'), 0)
})

test('file store times each durable put', (t) => {
  const s = new FileStore(tempDir(t))
  s.put('n1/flock', 'checkpoint', { a: 1 })
  s.put('n1/flock', 'checkpoint', { a: 2 })
  t.is(s.putLatency.count, 2)
  t.true(s.putLatency.sum > 0)
  t.is(s.putLatency.counts.reduce((a, b) => a + b, 0), 2)
})
