import test from 'ava'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packTar } from '../../../actors/pastiche/tar.js'
import { unpackTar } from '../../../actors/pastiche/untar.js'
import { TarError } from '../../../actors/pastiche/errors.js'
import { decodeHeader } from '../../../actors/pastiche/tar-header.js'
import { createBlobStore } from '../../../actors/pastiche/store.js'
import { drainHash } from '../../fixtures/pastiche-bytes.js'
import { END, craftFile, craftHeader, fixChecksum } from '../../fixtures/tar-craft.js'

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-pastiche-tar-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

const LONG = `deep/${'x'.repeat(120)}/${'é'.repeat(30)}.txt`
const TREE: [string, string | null][] = [
  ['a.txt', 'alpha\n'],
  ['b/', null],
  ['b/c.bin', 'x'.repeat(1000)],
  ['b/empty/', null],
  ['a-b', 'a file'],
  ['b-x', 'sorts between b/ and b/c.bin'],
  ['run.sh', '#!/bin/sh\necho hi\n'],
  ['zero', ''],
  ['deep/', null],
  [`deep/${'x'.repeat(120)}/`, null],
  [LONG, 'a path past 100 bytes goes in a pax header'],
]

/** Writes TREE under `root` in the given order, with the given mtime for every entry. */
function makeTree(root: string, order: number[], mtime: number): void {
  mkdirSync(root)
  for (const i of order) {
    const [rel, content] = TREE[i]!
    if (content === null) mkdirSync(join(root, rel), { recursive: true })
    else {
      mkdirSync(join(root, rel, '..'), { recursive: true })
      writeFileSync(join(root, rel), content, { mode: rel === 'run.sh' ? 0o700 : 0o600 })
    }
  }
  for (const i of order) utimesSync(join(root, TREE[i]![0]), mtime, mtime)
}

const hashOfTree = async (root: string) => drainHash(await packTar(root))

test('the same tree gives the same tar bytes whatever the mtimes, modes and creation order', async (t) => {
  const d = dir(t)
  makeTree(join(d, 'one'), TREE.map((_, i) => i), 1_000_000)
  makeTree(join(d, 'two'), TREE.map((_, i) => i).reverse(), 2_000_000)
  chmodSync(join(d, 'two', 'a.txt'), 0o664) // group-writable: still a plain file
  const one = await hashOfTree(join(d, 'one'))
  const two = await hashOfTree(join(d, 'two'))
  t.deepEqual(one, two)
  writeFileSync(join(d, 'two', 'zero'), '!')
  t.notDeepEqual(await hashOfTree(join(d, 'two')), one, 'a changed byte changes the hash')
  writeFileSync(join(d, 'two', 'zero'), '')
  chmodSync(join(d, 'two', 'a.txt'), 0o755)
  t.notDeepEqual(await hashOfTree(join(d, 'two')), one, 'an execute bit is part of the content')
})

test('entries are in byte order with normalised headers, and GNU tar reads the archive', async (t) => {
  const d = dir(t)
  makeTree(join(d, 'src'), TREE.map((_, i) => i), 1_700_000_000)
  const store = await createBlobStore({ dir: join(d, 'store'), limitBytes: 1 << 24 })
  const { hash } = await store.write(null, await packTar(join(d, 'src')))
  const file = join(d, 'x.tar')
  writeFileSync(file, readFileSync(join(d, 'store', 'blobs', hash.slice(7, 9), hash.slice(7))))
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' })
  } catch {
    t.log('skipped: no tar on this machine')
    return t.pass()
  }
  const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' })
  const lines = listing.trim().split('\n')
  const names = lines.map((l) => l.split(/\s+/).slice(5).join(' '))
  t.deepEqual(names, [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
  t.true(names.includes(LONG))
  t.deepEqual(names.slice(0, 6), ['a-b', 'a.txt', 'b-x', 'b/', 'b/c.bin', 'b/empty/'])
  for (const l of lines) t.regex(l, /^(-rw-r--r--|drwxr-xr-x|-rwxr-xr-x) 0\/0 .* 1970-01-01 /)
  t.regex(lines.find((l) => l.endsWith(' run.sh'))!, /^-rwxr-xr-x/)
  // Every header: mtime, uid, gid 0, no user or group name.
  const tar = readFileSync(file)
  let at = 0
  while (tar[at] !== 0) {
    const h = decodeHeader(tar.subarray(at, at + 512))
    t.is(tar.toString('ascii', at + 108, at + 124), '0000000\u00000000000\u0000')
    t.is(tar.toString('ascii', at + 136, at + 148), '00000000000\u0000', `mtime of ${h.name}`)
    t.true(tar.subarray(at + 265, at + 329).every((b) => b === 0), `uname and gname of ${h.name}`)
    at += 512 + Math.ceil(h.size / 512) * 512
  }
})

test('a directory round-trips through the store: pack, store, read, unpack, pack again gives the same hash', async (t) => {
  const d = dir(t)
  makeTree(join(d, 'src'), TREE.map((_, i) => i), 1_000)
  const store = await createBlobStore({ dir: join(d, 'store'), limitBytes: 1 << 24 })
  const { hash } = await store.write(null, await packTar(join(d, 'src')))
  const result = await unpackTar(store.read(hash), join(d, 'out'))
  t.deepEqual(result, { files: 7, dirs: 4, bytes: TREE.reduce((n, [, c]) => n + Buffer.byteLength(c ?? ''), 0) })
  t.is(readFileSync(join(d, 'out', LONG), 'utf8'), 'a path past 100 bytes goes in a pax header')
  t.is(statSync(join(d, 'out', 'run.sh')).mode & 0o777, 0o755)
  t.true(statSync(join(d, 'out', 'b', 'empty')).isDirectory())
  t.is((await hashOfTree(join(d, 'out'))).hash, hash)
})

test('packing refuses a symlink anywhere in the tree, naming it, before any byte', async (t) => {
  const d = dir(t)
  mkdirSync(join(d, 'src', 'sub'), { recursive: true })
  writeFileSync(join(d, 'src', 'f'), 'f')
  symlinkSync('/etc/passwd', join(d, 'src', 'sub', 'link'))
  await t.throwsAsync(packTar(join(d, 'src')), { instanceOf: TarError, message: `cannot pack ${join(d, 'src', 'sub', 'link')}: a symlink (only regular files and directories are packed)` })
  await t.throwsAsync(packTar(join(d, 'src', 'f')), { instanceOf: TarError, message: /not a directory/ })
})

async function* of(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p
}

/** Unpacks and expects a TarError matching `message`, with nothing left in `d`. */
async function refused(t: import('ava').ExecutionContext, d: string, tar: Buffer, message: RegExp): Promise<void> {
  const before = readdirSync(d)
  await t.throwsAsync(unpackTar(of(tar), join(d, 'out')), { instanceOf: TarError, message })
  t.deepEqual(readdirSync(d), before, 'a failed unpack leaves nothing behind')
}

test('unpacking refuses entries that escape the target: ../x, /abs, a prefix with .., a pax path with ..', async (t) => {
  const d = dir(t)
  const ok = craftFile('fine.txt', 'fine')
  await refused(t, d, Buffer.concat([ok, craftFile('../x', 'escaped'), END]), /^unsafe tar entry "\.\.\/x": "\.\." in path$/)
  await refused(t, d, Buffer.concat([ok, craftFile('a/../../x', 'escaped'), END]), /"\.\." in path/)
  await refused(t, d, Buffer.concat([craftFile('/tmp/abs', 'escaped'), END]), /^unsafe tar entry "\/tmp\/abs": absolute path$/)
  await refused(t, d, Buffer.concat([craftHeader('x', { prefix: '..', size: 0 }), END]), /"\.\." in path/)
  const pax = Buffer.from('17 path=../../ab\n')
  const paxBlock = Buffer.concat([pax, Buffer.alloc(512 - pax.length)])
  await refused(t, d, Buffer.concat([craftHeader('PaxHeader', { flag: 'x', size: pax.length }), paxBlock, craftFile('innocent', 'x'), END]), /"\.\.\/\.\.\/ab": "\.\." in path/)
  t.false(existsSync(join(d, '..', 'x')))
})

test('unpacking refuses symlinks (in or out), hardlinks, devices and fifos', async (t) => {
  const d = dir(t)
  await refused(t, d, Buffer.concat([craftHeader('l', { flag: '2', link: '/etc' }), craftFile('l/passwd', 'owned'), END]), /^unsafe tar entry "l": symlink entries are not unpacked$/)
  await refused(t, d, Buffer.concat([craftHeader('l', { flag: '2', link: 'inside' }), END]), /symlink/)
  await refused(t, d, Buffer.concat([craftHeader('h', { flag: '1', link: '/etc/passwd' }), END]), /hardlink entries/)
  await refused(t, d, Buffer.concat([craftHeader('null', { flag: '3' }), END]), /character device entries/)
  await refused(t, d, Buffer.concat([craftHeader('sda', { flag: '4' }), END]), /block device entries/)
  await refused(t, d, Buffer.concat([craftHeader('pipe', { flag: '6' }), END]), /fifo entries/)
})

test('a corrupt or truncated tar is a clear error, never a crash or a hang', async (t) => {
  const d = dir(t)
  const good = Buffer.concat([craftFile('a', 'x'.repeat(700)), craftFile('b', 'bbb'), END])
  const flipped = Buffer.from(good)
  flipped[10] ^= 0x41
  await refused(t, d, flipped, /^corrupt tar: header checksum does not match$/)
  await refused(t, d, good.subarray(0, 300), /^truncated tar: the stream ends inside a header$/)
  await refused(t, d, good.subarray(0, 512 + 600), /^truncated tar: the stream ends inside file "a"$/)
  await refused(t, d, good.subarray(0, good.length - 1024), /^truncated tar: no end-of-archive block$/)
  await refused(t, d, Buffer.alloc(0), /no end-of-archive block/)
  await refused(t, d, Buffer.alloc(512, 0x61), /corrupt tar/)
  const badSize = craftHeader('a', { size: 1 })
  badSize.write('9', 124, 1, 'ascii')
  await refused(t, d, Buffer.concat([fixChecksum(badSize), END]), /^corrupt tar: size field "90000000001" is not octal$/)
  const base256 = craftHeader('a')
  base256[124] = 0x80
  await refused(t, d, Buffer.concat([fixChecksum(base256), END]), /base-256 size is not supported/)
  const hugePax = craftHeader('PaxHeader', { flag: 'x', size: 1 << 30 })
  await refused(t, d, Buffer.concat([hugePax, END]), /pax header of 1073741824 bytes/)
  const badPax = Buffer.from('99 path=x\n')
  await refused(t, d, Buffer.concat([craftHeader('P', { flag: 'x', size: badPax.length }), badPax, Buffer.alloc(512 - badPax.length), END]), /bad pax record length/)
  await refused(t, d, Buffer.concat([craftFile('dup', '1'), craftFile('dup', '2'), END]), /clashes with an earlier one/)
  // And a good one unpacks.
  t.deepEqual(await unpackTar(of(good), join(d, 'out')), { files: 2, dirs: 0, bytes: 703 })
  await t.throwsAsync(unpackTar(of(good), join(d, 'out')), { instanceOf: TarError, message: /exists already/ })
})
