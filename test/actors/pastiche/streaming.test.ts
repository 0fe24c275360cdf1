import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBlobStore } from '../../../actors/pastiche/store.js'
import { hashOfPattern, patternBytes } from '../../fixtures/pastiche-bytes.js'
import { createHash } from 'node:crypto'

const MiB = 1 << 20

test('256 MiB through write and read with memory independent of the blob size', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-big-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  const total = 256 * MiB
  const store = await createBlobStore({ dir: d, limitBytes: 2 * total })
  const base = process.memoryUsage().rss
  let peak = base
  const expected = await hashOfPattern(total, 11)
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }
  async function* sampled(): AsyncGenerator<Buffer> {
    for await (const c of patternBytes(total, 11)) {
      sample()
      yield c
    }
  }
  const started = performance.now()
  t.deepEqual(await store.write(expected, sampled()), { hash: expected, bytes: total, existed: false })
  const wrote = performance.now()
  const h = createHash('sha256')
  let n = 0
  for await (const c of store.read(expected)) {
    h.update(c as Buffer)
    n += (c as Buffer).length
    sample()
  }
  const read = performance.now()
  t.is(n, total)
  t.is(`sha256:${h.digest('hex')}`, expected)
  // From before the bytes were first generated: a store that held the blob would grow by 256 MiB.
  const grew = (peak - base) / MiB
  t.log(`write ${((total / MiB) / ((wrote - started) / 1000)).toFixed(0)} MiB/s, read ${((total / MiB) / ((read - wrote) / 1000)).toFixed(0)} MiB/s, RSS grew ${grew.toFixed(1)} MiB over ${total / MiB} MiB`)
  t.true(grew < 96, `RSS grew ${grew.toFixed(1)} MiB`)
})
