/**
 * Journals written by real fulcrums (`crux fulcrum --trace`) replay bit for bit; a corrupted one
 * reports where it diverges; `--explain` answers from one.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agreed, FulcrumPool, until } from '../fixtures/fulcrums.js'

const crux = (...args: string[]) => spawnSync(process.execPath, ['dist/bin/crux.js', ...args], { encoding: 'utf8', timeout: 60_000 })

test('journals of 3 real fulcrums replay without divergence; a corrupted one diverges where it was changed; --explain reads one', async (t) => {
  const pool = new FulcrumPool(t)
  const traces = [1, 2, 3].map((i) => join(pool.dir, `t${i}.ndjson`))
  const fs = [1, 2, 3].map((i) => pool.start(`127.77.37.${i}:23123`, '127.77.37.0/29', ['--trace', traces[i - 1]!]))
  await until(() => agreed(fs, 3), 30_000, 'one flock of 3')
  for (const f of fs) f.child.kill('SIGTERM')
  t.deepEqual(await Promise.all(fs.map((f) => f.exited)), [0, 0, 0])

  for (const trace of traces) {
    const r = crux('replay', trace, '--json')
    t.is(r.status, 0, r.stdout + r.stderr)
    const out = JSON.parse(r.stdout) as { events: number; verified: number; diverged: unknown }
    t.false(out.diverged)
    // Every input but the stops at the end (the flock's and the strew actors': no result to compare) was verified.
    const stops = readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('"stop":true')).length
    t.true(stops >= 1 && out.verified > 5 && out.verified === out.events - stops, `${out.verified} of ${out.events} inputs verified, ${stops} stops`)
  }

  // Change the recorded state of one step in the middle: replay must stop exactly there.
  const lines = readFileSync(traces[0]!, 'utf8').split('\n')
  const i = lines.findIndex((l, k) => k > lines.length / 2 && l.includes('"state":'))
  const rec = JSON.parse(lines[i]!) as { seq: number; state: unknown }
  rec.state = { rebooting: {} }
  lines[i] = JSON.stringify(rec)
  const bad = join(pool.dir, 'bad.ndjson')
  writeFileSync(bad, lines.join('\n'))
  const r = crux('replay', bad)
  t.is(r.status, 1)
  t.regex(r.stdout, new RegExp(`^DIVERGED at seq ${rec.seq} `))

  const id = (JSON.parse(lines[0]!) as { node: string }).node
  const e = crux('replay', traces[0]!, '--explain', id, '--json')
  t.is(e.status, 0, e.stderr)
  const ex = JSON.parse(e.stdout) as { final: { role: string }; answer: string; transitions: Array<{ rule: string }> }
  t.is(ex.final.role, 'left')
  t.is(ex.transitions.at(-1)!.rule, 'leave')
  t.regex(ex.answer, /it left the flock/)
})
