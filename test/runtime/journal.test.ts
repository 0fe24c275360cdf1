import test from 'ava'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VirtualClock } from '../../runtime/clock.js'
import { JournalError } from '../../runtime/errors.js'
import { createActorHost } from '../../runtime/host.js'
import { FileSink, MemorySink, Recorder } from '../../runtime/recorder.js'
import { readLines, replayJournal } from '../../runtime/replayer.js'
import { collector, crasher, dice, fixtureMachines, rally, ticker } from '../fixtures/machines.js'

/** A temporary directory removed when the test ends. */
function tempDir(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'crux-journal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const versions = Object.fromEntries(fixtureMachines.map((m) => [m.name, m.version]))

/** Records a small run exercising every input kind: spawns, sends, timers, batches, a crash and restart. */
function recordRun(sink = new MemorySink()) {
  const clock = new VirtualClock()
  const recorder = new Recorder(sink, { node: 'n1', seed: 7, machines: versions })
  const host = createActorHost({ clock, machines: fixtureMachines, recorder }, { node: 'n1', supervisor: { backoffBaseMs: 50 } })
  host.spawn('n1/a', rally.name, { peer: 'n1/b' })
  host.spawn('n1/b', rally.name, { peer: 'n1/a' })
  host.spawn('n1/tick', ticker.name, { period: 100 })
  host.spawn('n1/col', collector.name)
  host.spawn('n1/dice', dice.name, { seed: 3 })
  host.spawn('n1/x', crasher.name)
  host.send('n1/a', { type: 'ball', left: 6 })
  for (let i = 0; i < 5; i++) host.send('n1/col', { type: 'hb', from: `m${i}`, n: i }, 'heartbeat', `m${i}`)
  for (let i = 0; i < 4; i++) host.send('n1/dice', { type: 'roll' })
  host.send('n1/x', { type: 'boom' }, 'control')
  clock.runUntil(350)
  host.send('n1/x', { type: 'inc' })
  clock.runUntil(400)
  const final = Object.fromEntries(host.ids().map((id) => [id, host.state(id).value]))
  const contexts = Object.fromEntries(host.ids().map((id) => [id, JSON.stringify(host.state(id).context)]))
  host.close()
  recorder.close()
  return { sink, final, contexts }
}

test('journal starts with the header of ARCHITECTURE §6', (t) => {
  const { sink } = recordRun()
  const header = JSON.parse(sink.lines[0]!)
  t.deepEqual(header, { format: 'crux-trace', version: 1, node: 'n1', seed: 7, config: {}, machines: versions })
  const delivery = sink.lines.map((l) => JSON.parse(l)).find((r) => r.in !== undefined)
  t.deepEqual(Object.keys(delivery), ['seq', 't', 'actor', 'in'])
})

test('record → replay reproduces every step and the final states', (t) => {
  const { sink, final } = recordRun()
  const report = replayJournal(sink.lines, { machines: fixtureMachines })
  t.is(report.diverged, false)
  const stops = sink.lines.filter((l) => l.includes('"stop":true')).length
  t.is(stops, 6)
  t.is(report.verified, report.events - stops) // every input but a stop has a result line, and each was checked
  t.is(report.verified, 25)
  t.deepEqual(report.final, {}) // close() stopped every actor
  const partial = replayJournal(sink.lines, { machines: fixtureMachines, until: report.events - 6 })
  t.is(partial.diverged, false)
  t.is(Object.keys(partial.final).length, 6)
  t.truthy(final)
})

test('replay rebuilds identical machine contexts', (t) => {
  const sink = new MemorySink()
  const clock = new VirtualClock()
  const recorder = new Recorder(sink, { node: 'n', machines: versions })
  const host = createActorHost({ clock, machines: fixtureMachines, recorder })
  host.spawn('d', dice.name, { seed: 11 })
  host.spawn('t', ticker.name, { period: 7 })
  for (let i = 0; i < 20; i++) host.send('d', { type: 'roll' })
  clock.runUntil(100)
  const live = { d: JSON.stringify(host.state('d').context), t: JSON.stringify(host.state('t').context) }
  recorder.flush()
  const report = replayJournal(sink.lines, { machines: fixtureMachines })
  t.is(report.diverged, false)
  t.deepEqual(report.final, { d: host.state('d').value, t: host.state('t').value })
  t.truthy(live.d.includes('"rolls":20'))
  t.truthy(live.t.includes('"ticks":14'))
})

test('a deliberately altered input is reported as diverged at its seq', (t) => {
  const { sink } = recordRun()
  const lines = [...sink.lines]
  const i = lines.findIndex((l) => l.includes('"in":{"type":"ball","left":4'))
  t.true(i > 0)
  const seq = JSON.parse(lines[i]!).seq
  lines[i] = lines[i]!.replace('"left":4', '"left":0')
  const report = replayJournal(lines, { machines: fixtureMachines })
  t.not(report.diverged, false)
  if (report.diverged === false) return
  t.is(report.diverged.seq, seq)
  t.is(report.diverged.actor, JSON.parse(lines[i]!).actor)
  t.is(report.diverged.got.out.length, 0)
  t.is(report.diverged.expected.out.length, 1)
})

test('a deliberately altered result is reported as diverged at its seq', (t) => {
  const { sink } = recordRun()
  const lines = [...sink.lines]
  const i = lines.findIndex((l) => l.includes('"state":"stopped"') || l.includes('"type":"Tick","n":2'))
  t.true(i > 0)
  lines[i] = lines[i]!.replace('"n":2', '"n":99')
  const report = replayJournal(lines, { machines: fixtureMachines })
  t.not(report.diverged, false)
  if (report.diverged !== false) t.is(report.diverged.seq, JSON.parse(lines[i]!).seq)
})

test('a file journal replays from disk', (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'n1.ndjson')
  recordRun(new FileSink(path) as unknown as MemorySink)
  const report = replayJournal(readLines(path, 97), { machines: fixtureMachines })
  t.is(report.diverged, false)
  t.is(report.events, 31)
})

const bad = (t: import('ava').ExecutionContext, lines: string[], message: RegExp) => {
  const err = t.throws(() => replayJournal(lines, { machines: fixtureMachines }), { instanceOf: JournalError })
  t.regex(err!.message, message)
}

test('bad journal: empty', (t) => bad(t, [], /empty/))
test('bad journal: truncated line', (t) => {
  const { sink } = recordRun()
  const lines = sink.lines.slice(0, 10)
  lines[9] = lines[9]!.slice(0, 15)
  bad(t, lines, /line 10: not valid JSON/)
})
test('bad journal: unknown version', (t) => {
  const { sink } = recordRun()
  bad(t, [sink.lines[0]!.replace('"version":1', '"version":9'), ...sink.lines.slice(1)], /unsupported journal version 9/)
})
test('bad journal: not a crux journal', (t) => bad(t, ['{"hello":1}'], /not a crux journal/))
test('bad journal: wrong types', (t) => {
  const { sink } = recordRun()
  const h = sink.lines[0]!
  bad(t, [h, '{"seq":"1","t":0,"actor":"a","in":{"type":"x"}}'], /line 2: "seq" must be a non-negative integer/)
  bad(t, [h, '{"seq":1,"t":"0","actor":"a","in":{"type":"x"}}'], /line 2: "t" must be a finite number/)
  bad(t, [h, '{"seq":1,"t":0,"actor":"a","in":{"kind":"x"}}'], /"in" must be an event object/)
  bad(t, [h, '[1,2]'], /expected a JSON object/)
  bad(t, [h, '{"seq":1,"t":0,"actor":"a","what":1}'], /unknown record/)
})
test('bad journal: delivery to an actor never spawned', (t) => {
  const { sink } = recordRun()
  bad(t, [sink.lines[0]!, '{"seq":1,"t":0,"actor":"ghost","in":{"type":"x"}}'], /never spawned/)
})
test('bad journal: machine version mismatch', (t) => {
  const { sink } = recordRun()
  bad(t, [sink.lines[0]!.replace('"rally":"1"', '"rally":"2"'), ...sink.lines.slice(1)], /recorded with rally@2/)
})
test('bad journal: seq going backwards', (t) => {
  const { sink } = recordRun()
  const lines = sink.lines.filter((l) => !l.includes('"state"'))
  bad(t, [lines[0]!, lines[2]!, lines[1]!], /does not follow/)
})

test('a journal from a file with a torn last line reports that line', (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'torn.ndjson')
  const { sink } = recordRun()
  writeFileSync(path, sink.text().slice(0, -20))
  const n = readFileSync(path, 'utf8').split('\n').length
  t.throws(() => replayJournal(readLines(path), { machines: fixtureMachines }), { instanceOf: JournalError, message: new RegExp(`line ${n}: not valid JSON`) })
})

test('a file without line ends is refused at the line limit, not buffered whole', (t) => {
  const path = join(tempDir(t), 'one-line.ndjson')
  writeFileSync(path, 'x'.repeat((1 << 20) + 10))
  t.throws(() => [...readLines(path, 4096)], { instanceOf: JournalError, message: /line 1: longer than/ })
})

test('readLines keeps multi-byte characters whole across chunk boundaries, and a last line without a newline', (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'utf8.ndjson')
  const lines = ['{"a":"é→✓"}', '{"b":"𝄞𝄞𝄞"}', '', '{"c":"ü"}']
  writeFileSync(path, lines.join('\n'))
  for (const chunk of [1, 2, 3, 5, 7, 64]) t.deepEqual([...readLines(path, chunk)], lines, `chunks of ${chunk} bytes`)
})
