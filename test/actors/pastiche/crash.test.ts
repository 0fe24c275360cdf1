import test from 'ava'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBlobStore, partialFileOf } from '../../../actors/pastiche/store.js'
import { drainHash, hashOfPattern, patternBytes } from '../../fixtures/pastiche-bytes.js'

const WRITER = fileURLToPath(new URL('../../fixtures/pastiche-writer.js', import.meta.url))
const MiB = 1 << 20

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-crash-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/** Runs the writer until it says `ready`, then kills it with SIGKILL; resolves with the bytes it wrote. */
function writeAndKill(d: string, total: number, seed: number, stopAfter: number, mode: 'expected' | 'anon'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, d, String(total), String(seed), String(stopAfter), mode], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    let sent = -1
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /ready (\d+)\n/.exec(out)
      if (m !== null && sent < 0) {
        sent = Number(m[1])
        child.kill('SIGKILL')
      }
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(sent) : reject(new Error(`writer exited ${code} ${signal}: ${out}`))))
  })
}

test('kill -9 mid-write: after reopening no partial blob is visible, and the write resumes to completion', async (t) => {
  const d = dir(t)
  const total = 24 * MiB
  const hash = await hashOfPattern(total, 5)
  const sent = await writeAndKill(d, total, 5, 10 * MiB, 'expected')
  t.is(sent, 10 * MiB)
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 30 })
  t.false(store.has(hash))
  t.deepEqual(store.ls(), [])
  t.deepEqual(readdirSync(join(d, 'blobs')), [], 'nothing under blobs/')
  t.is(store.partial(hash), 10 * MiB, 'the bytes written before the kill are kept for a resume')
  t.is(statSync(partialFileOf(d, hash)).size, 10 * MiB)
  const done = await store.write(hash, patternBytes(total, 5, store.partial(hash)), { offset: store.partial(hash) })
  t.deepEqual(done, { hash, bytes: total, existed: false })
  t.deepEqual(await drainHash(store.read(hash)), { hash, bytes: total })
  t.deepEqual(readdirSync(join(d, 'incoming')), [])
})

test('kill -9 mid-write of a blob whose hash was not known: nothing visible after reopening, the in-progress file is gone', async (t) => {
  const d = dir(t)
  await writeAndKill(d, 8 * MiB, 6, 3 * MiB, 'anon')
  t.is(readdirSync(join(d, 'incoming')).length, 1, 'the killed write left its in-progress file')
  const store = await createBlobStore({ dir: d, limitBytes: 1 << 30 })
  t.deepEqual(store.ls(), [])
  t.deepEqual(readdirSync(join(d, 'incoming')), [])
  t.deepEqual(store.usage(), { blobs: 0, incoming: 0, limit: 1 << 30 })
  t.is(store.scanned.removed.length, 1)
})
