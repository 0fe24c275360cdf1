/**
 * Loading a store log (issue 13): every damaged line is one DataDirError naming the file and the
 * line, whatever the line holds; a torn last line (a kill -9 mid-write) is dropped and reported.
 */
import test from 'ava'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirError } from '../../runtime/errors.js'
import { LogStore } from '../../runtime/log-store.js'

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-logload-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

const damaged: Array<[string, string, RegExp]> = [
  ['not JSON', 'garbage', /a\.log: damaged at line 2 of 3 \(not JSON\)$/],
  ['null', 'null', /a\.log: damaged at line 2 of 3 \(not a \{"k","v"\} record\)$/],
  ['a list', '["k","v"]', /line 2 of 3 \(not a \{"k","v"\} record\)/],
  ['a number key', '{"k":1,"v":2}', /line 2 of 3 \(not a \{"k","v"\} record\)/],
  ['a field no put writes', '{"k":"x","v":1,"w":2}', /line 2 of 3 \(not a \{"k","v"\} record\)/],
  ['an empty line', '', /line 2 of 3 \(not JSON\)/],
]

for (const [what, line, message] of damaged) {
  test(`a line holding ${what} before the end: one DataDirError naming the file and line`, (t) => {
    const d = dir(t)
    writeFileSync(join(d, 'a.log'), `{"k":"k1","v":1}\n${line}\n{"k":"k2","v":2}\n`)
    const err = t.throws(() => new LogStore(d).keys('a'), { instanceOf: DataDirError, message })
    t.is(err!.file, join(d, 'a.log'))
    t.false(err!.message.includes('\n'))
  })
}

test('a torn last line is dropped, the file rewritten without it, and the repair reported', (t) => {
  const d = dir(t)
  writeFileSync(join(d, 'a.log'), '{"k":"k1","v":1}\n{"k":"k2","v":')
  const repairs: Array<[string, string]> = []
  const s = new LogStore(d, { onRepair: (file, what) => repairs.push([file, what]) })
  t.deepEqual(s.keys('a'), ['k1'])
  s.close()
  t.is(repairs.length, 1)
  t.is(repairs[0]![0], join(d, 'a.log'))
  t.regex(repairs[0]![1], /dropped a torn last line \(14 bytes/)
  t.is(readFileSync(join(d, 'a.log'), 'utf8'), '{"k":"k1","v":1}\n')
})

test('a whole log loads without a repair', (t) => {
  const d = dir(t)
  writeFileSync(join(d, 'a.log'), '{"k":"k1","v":1}\n{"k":"k1"}\n')
  let repairs = 0
  const s = new LogStore(d, { onRepair: () => repairs++ })
  t.deepEqual(s.keys('a'), [])
  s.close()
  t.is(repairs, 0)
})

test('fileOf names the log of an actor', (t) => {
  const d = dir(t)
  t.is(new LogStore(d).fileOf('n1/reeve'), join(d, 'n1~reeve.log'))
})
