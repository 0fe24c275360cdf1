import test from 'ava'
import { childLine, childMessage, messageBucket } from '../../../actors/picket/child-messages.js'
import { splitLines } from '../../../actors/picket/lines.js'

const split = (max: number, chunks: string[], end = true) => {
  const out: [string, boolean][] = []
  const s = splitLines(max, (l, cut) => out.push([l, cut]))
  for (const c of chunks) s.push(c)
  if (end) s.end()
  return out
}

test('lines are split across chunk boundaries; a last unterminated line comes at the end', (t) => {
  t.deepEqual(split(10, ['ab', 'c\nde', '\n\nf']), [['abc', false], ['de', false], ['', false], ['f', false]])
  t.deepEqual(split(10, ['f'], false), [])
})

test('an over-long line is passed on cut once, and the rest of it dropped up to its newline', (t) => {
  t.deepEqual(split(4, ['abcdef', 'ghij', 'kl\nxy\n']), [['abcd', true], ['xy', false]])
  t.deepEqual(split(4, ['abcdefgh\nxy\n']), [['abcd', true], ['xy', false]])
  t.deepEqual(split(4, ['abcd\n']), [['abcd', false]])
})

test('only the two messages, exactly shaped, are taken', (t) => {
  t.deepEqual(childMessage({ t: 'alive' }), { t: 'alive' })
  t.deepEqual(childLine('{"t":"listening","address":"127.79.40.3:80"}'), { t: 'listening', address: '127.79.40.3:80' })
  for (const bad of [null, 1, 'alive', [], { t: 'quit' }, { t: 'alive', x: 1 }, { t: 'listening' }, { t: 'listening', address: 'host' }, { t: 'listening', address: 'h:70000' }, { t: 'listening', address: `${'h'.repeat(100)}:1` }]) {
    t.is(childMessage(bad), null, JSON.stringify(bad))
  }
  t.is(childLine('{'), null)
})

test('the bucket takes a burst, then the rate', (t) => {
  const b = messageBucket(3, 10)
  t.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false])
  t.false(b.take(50))
  t.true(b.take(100))
  t.false(b.take(100))
})

test('a child is confined to its bundle, the bootstrap and its working directory, and its heap bounded when asked', async (t) => {
  const { permissionFlags } = await import('../../../actors/picket/child.js')
  const manifest = { service: 'E', api: 'E1', instance: 'e', entry: 's.mjs', kind: 'process' as const, args: [], env: {}, ttlMs: 300, startMs: 1000, stopMs: 1000, graceMs: 0, memoryMb: null }
  const init = { bundleDir: '/d/picket/bundles/ab', workDir: '/d/picket/work/e', bootstrap: '/x/service-child.mjs', manifest }
  t.deepEqual(permissionFlags(init), [
    '--experimental-permission',
    '--allow-fs-read=/d/picket/bundles/ab/*',
    '--allow-fs-read=/x/service-child.mjs',
    '--allow-fs-read=/d/picket/work/e/*',
    '--allow-fs-write=/d/picket/work/e/*',
    '--no-warnings',
  ])
  t.is(permissionFlags({ ...init, manifest: { ...manifest, memoryMb: 64 } }).at(-1), '--max-old-space-size=64')
})
