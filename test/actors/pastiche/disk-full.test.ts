import test from 'ava'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBlobStore } from '../../../actors/pastiche/store.js'
import { DiskWriteError } from '../../../actors/pastiche/errors.js'
import { FailingBlobFs } from '../../fixtures/failing-blob-fs.js'
import { drainHash, hashOfPattern, patternBytes } from '../../fixtures/pastiche-bytes.js'

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

const MiB = 1 << 20

/** Every file the store holds outside pins.json. */
const held = (d: string) => (readdirSync(d, { recursive: true }) as string[]).filter((p) => /^(blobs\/..\/|incoming\/)./.test(p)).sort()

for (const code of ['ENOSPC', 'EIO'] as const) {
  test(`a write that hits ${code} fails clearly, keeps nothing, and the store still works`, async (t) => {
    const d = dir(t)
    const fs = new FailingBlobFs()
    const store = await createBlobStore({ dir: d, limitBytes: 64 * MiB, fs })
    const before = (await store.write(null, patternBytes(MiB, 7))).hash
    fs.code = code
    fs.budget = 2.5 * MiB
    const hash = await hashOfPattern(4 * MiB, 8)
    const err = await t.throwsAsync(store.write(hash, patternBytes(4 * MiB, 8)), { instanceOf: DiskWriteError })
    t.is(err!.message, `writing blob ${hash}: ${code}; nothing kept`)
    t.is(err!.errno, code)
    t.false(store.has(hash))
    t.is(store.partial(hash), 0, 'a disk failure is not resumable: its bytes are not trusted')
    t.deepEqual(held(d), [`blobs/${before.slice(7, 9)}/${before.slice(7)}`])
    t.deepEqual(store.usage(), { blobs: MiB, incoming: 0, limit: 64 * MiB })
    t.deepEqual(await drainHash(store.read(before)), { hash: before, bytes: MiB }, 'the blob already there is intact')
    fs.budget = Infinity
    t.false((await store.write(hash, patternBytes(4 * MiB, 8))).existed, 'once the disk has room the write succeeds')
  })
}

test('a failing fsync or rename leaves no visible blob', async (t) => {
  const d = dir(t)
  const fs = new FailingBlobFs()
  const store = await createBlobStore({ dir: d, limitBytes: 64 * MiB, fs })
  fs.failSync = true
  await t.throwsAsync(store.write(null, patternBytes(MiB, 1)), { instanceOf: DiskWriteError, message: 'writing a blob: ENOSPC; nothing kept' })
  fs.failSync = false
  fs.failRename = true
  await t.throwsAsync(store.write(await hashOfPattern(MiB, 1), patternBytes(MiB, 1)), { instanceOf: DiskWriteError })
  t.deepEqual(held(d), [])
  t.deepEqual(store.ls(), [])
  t.is(fs.refused, 2)
})

/** A 1 MiB tmpfs, when this machine lets us mount one (root in a container that allows it). */
function smallTmpfs(t: import('ava').ExecutionContext): string | undefined {
  const mnt = mkdtempSync(join(tmpdir(), 'crux-pastiche-tmpfs-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' })
  } catch (err) {
    rmSync(mnt, { recursive: true, force: true })
    t.log(`skipped the tmpfs half: mount -t tmpfs -o size=1m failed here (${String((err as Error).message).split('\n')[0]})`)
    return undefined
  }
  t.teardown(() => {
    execFileSync('umount', [mnt])
    rmSync(mnt, { recursive: true, force: true })
  })
  return mnt
}

test('on a real 1 MiB tmpfs, a 2 MiB write fails with ENOSPC and leaves the disk as it was', async (t) => {
  const mnt = smallTmpfs(t)
  if (mnt === undefined) return t.pass()
  const d = join(mnt, 'store')
  mkdirSync(d)
  // The bound is far above the disk: the disk, not the LRU, is what says no.
  const store = await createBlobStore({ dir: d, limitBytes: 64 * MiB })
  const small = (await store.write(null, patternBytes(256 * 1024, 3))).hash
  const hash = await hashOfPattern(2 * MiB, 4)
  const err = await t.throwsAsync(store.write(hash, patternBytes(2 * MiB, 4)), { instanceOf: DiskWriteError })
  t.is(err!.errno, 'ENOSPC')
  t.deepEqual(held(d), [`blobs/${small.slice(7, 9)}/${small.slice(7)}`])
  t.deepEqual(await drainHash(store.read(small)), { hash: small, bytes: 256 * 1024 })
  const again = await createBlobStore({ dir: d, limitBytes: 64 * MiB })
  t.deepEqual(again.ls().map((b) => b.hash), [small])
})
