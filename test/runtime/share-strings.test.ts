import test from 'ava'
import { shareStrings } from '../../runtime/share-strings.js'

test('a decoded copy keeps its values and its own objects; only strings may come from the original', (t) => {
  const original = { a: 'x', n: 1, inner: { b: 'y', list: ['p', 'q', { c: 'z' }] }, bytes: new Uint8Array([1, 2]) }
  const decoded = JSON.parse(JSON.stringify({ ...original, bytes: undefined })) as typeof original
  decoded.bytes = new Uint8Array([1, 2])
  const out = shareStrings(decoded, original)
  t.is(out, decoded, 'in place')
  t.deepEqual(out, original)
  t.not(out.inner, original.inner, 'objects stay the receiver’s own')
  t.not(out.inner.list, original.inner.list)
  t.not(out.inner.list[2], original.inner.list[2])
  t.not(out.bytes, original.bytes)
})

test('where the two differ (a default filled in, a field the original lacks), the decoded value stays', (t) => {
  const original: Record<string, unknown> = { a: 'x', list: ['p'] }
  const decoded: Record<string, unknown> = { a: 'other', b: '', list: ['p', 'extra'], obj: { k: 'v' } }
  t.deepEqual(shareStrings(decoded, original), { a: 'other', b: '', list: ['p', 'extra'], obj: { k: 'v' } })
  t.deepEqual(shareStrings({ a: 'x' }, null), { a: 'x' })
  t.deepEqual(shareStrings(['a'], { 0: 'a' }), ['a'], 'an array beside an object is left alone')
})

test('deep or cyclic originals end the walk instead of looping', (t) => {
  const cyclic: Record<string, unknown> = { s: 'x' }
  cyclic.self = cyclic
  const decoded: Record<string, unknown> = { s: 'x' }
  let d = decoded
  for (let i = 0; i < 20; i++) d = (d.self = { s: 'x' }) as Record<string, unknown>
  t.notThrows(() => shareStrings(decoded, cyclic))
  t.is(decoded.s, 'x')
})
