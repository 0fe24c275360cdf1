/**
 * The installed `crux` (dist/bin/crux.bundle.mjs, built by bin/bundle.ts): what a fulcrum keeps
 * resident starts here (bench/converge.sh reports it).
 */
import test from 'ava'
import { readFileSync } from 'node:fs'

const bundle = readFileSync(new URL('../../bin/crux.bundle.mjs', import.meta.url), 'utf8')

test('the bundle is ASCII: V8 keeps its source one byte a character, not two', (t) => {
  const wide = [...new Set(bundle.match(/[^\x00-\x7f]/g) ?? [])]
  t.deepEqual(wide, [])
})

test('the bundle carries no comments a fulcrum would hold in memory', (t) => {
  t.false(/\/\*\*\s/.test(bundle), 'no JSDoc blocks')
  // Lines of code, not of source: the unminified bundle had about 48 000.
  t.true(bundle.split('\n').length < 2000)
})
