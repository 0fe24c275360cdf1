import test from 'ava'
import { MemoryDestination, readNdjson } from '../../runtime/memory-destination.js'

test('readNdjson parses complete lines and skips blank ones', (t) => {
  t.deepEqual(readNdjson('{"a":1}\n\n{"b":2}\n'), [{ a: 1 }, { b: 2 }])
})

test('readNdjson leaves out a partial last line', (t) => {
  t.deepEqual(readNdjson('{"a":1}\n{"b":'), [{ a: 1 }])
})

test('a memory destination keeps what is written until cleared', (t) => {
  const d = new MemoryDestination()
  d.write('{"a":1}\n')
  d.write('{"b":2}\n')
  t.deepEqual(d.lines(), [{ a: 1 }, { b: 2 }])
  d.clear()
  t.is(d.raw, '')
})
