/** The small parts of the pastiche edge: sizes as flags take them, a blob's kind, the progress line, the whitelist. */
import test from 'ava'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kindOf } from '../../../actors/pastiche/kind.js'
import { DEFAULT_PASTICHE_LIMIT, parseByteSize } from '../../../actors/pastiche/limit.js'
import { formatBytes, progressLine } from '../../../actors/pastiche/progress.js'
import { packTar } from '../../../actors/pastiche/tar.js'
import { pasticheTrust } from '../../../actors/pastiche/trust.js'
import { InvalidArgumentError } from '../../../runtime/errors.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../../runtime/ed25519.js'
import { nodeIdOf } from '../../../runtime/node-identity.js'
import { keyIdOf } from '../../../actors/strew/registration.js'

test('--pastiche-limit sizes: binary suffixes, fractions, bare bytes; anything else is refused', (t) => {
  t.is(parseByteSize('10G'), 10 * 1024 ** 3)
  t.is(parseByteSize('512M'), 512 * 1024 ** 2)
  t.is(parseByteSize('512MiB'), 512 * 1024 ** 2)
  t.is(parseByteSize('1.5T'), 1.5 * 1024 ** 4)
  t.is(parseByteSize('4k'), 4096)
  t.is(parseByteSize('1048576'), 1 << 20)
  t.is(DEFAULT_PASTICHE_LIMIT, 10 * 1024 ** 3)
  for (const bad of ['', 'ten', '-1G', '10X', '1e3', '10 GG']) t.throws(() => parseByteSize(bad), { instanceOf: InvalidArgumentError, message: /--pastiche-limit must be a size such as 10G/ })
})

async function bytes(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of stream) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

test('a blob is a directory when it starts as packTar writes one, or is the empty archive', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'crux-kind-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  mkdirSync(join(root, 'tree', 'sub'), { recursive: true })
  writeFileSync(join(root, 'tree', 'sub', 'f'), 'x')
  mkdirSync(join(root, 'empty'))
  const tar = await bytes(await packTar(join(root, 'tree')))
  t.is(kindOf(tar.subarray(0, 1024), tar.length), 'dir')
  const none = await bytes(await packTar(join(root, 'empty')))
  t.is(kindOf(none, none.length), 'dir')
  // The same header with an mtime (as another tool writes it): a file.
  const other = Buffer.from(tar)
  other.write('14712345670\0', 136, 12, 'latin1')
  other.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < 512; i++) sum += other[i]!
  other.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
  t.is(kindOf(other.subarray(0, 1024), other.length), 'file')
  t.is(kindOf(Buffer.from('hello'), 5), 'file')
  t.is(kindOf(Buffer.alloc(1024, 1), 1024), 'file')
  t.is(kindOf(Buffer.alloc(1024), 2048), 'file') // zeros, but not the whole blob
})

test('the progress line: bytes, rate and time left', (t) => {
  t.is(formatBytes(512), '512 B')
  t.is(formatBytes(3 << 20), '3.0 MiB')
  t.is(progressLine(10 << 20, 40 << 20, 1000), '10.0 MiB / 40.0 MiB  10.0 MiB/s  ETA 3s')
  t.is(progressLine(5 << 20, 0, 500), '5.0 MiB  10.0 MiB/s')
})

test('the whitelist: the own key, members by the KeyID their key makes, nobody else', (t) => {
  const key = () => ed25519PublicKey(randomEd25519SecretKey())
  const own = key()
  const member = key()
  const stranger = key()
  const members: Record<string, true> = { [nodeIdOf(member)]: true }
  const trust = pasticheTrust(own, () => members)
  t.deepEqual(trust.lookup(trust.ownKeyId, own), own)
  t.deepEqual(trust.lookup(keyIdOf('Reeve1_0', nodeIdOf(member), member), member), member)
  t.is(trust.lookup(keyIdOf('Reeve1_0', nodeIdOf(stranger), stranger), stranger), undefined)
  // A member's KeyID presented over another key's channel, or under another rev: refused.
  t.is(trust.lookup(keyIdOf('Reeve1_0', nodeIdOf(member), member), stranger), undefined)
  t.is(trust.lookup(keyIdOf('Steward1_0', nodeIdOf(member), member), member), undefined)
  // The own KeyID over another key's channel: the server compares the key it gets with the channel's.
  t.notDeepEqual(trust.lookup(trust.ownKeyId, stranger), stranger)
})

test('GetResponse encoded in place reads back with the generic decoder, and the generic encoding with ours', async (t) => {
  const { encodeGetInPlace, decodeGet, GET_PREFIX } = await import('../../../actors/pastiche/get-codec.js')
  const { GetResponse } = await import('../../../protos/gen/crux/v1/pastiche.js')
  for (const [offset, total, len] of [[0, 0, 0], [0, 5, 5], [2 ** 40 + 3, 2 ** 41, 1000], [127, 128, 1 << 20]] as const) {
    const buf = Buffer.allocUnsafe(GET_PREFIX + len)
    buf.fill(9, GET_PREFIX)
    const msg = encodeGetInPlace(buf, len, offset, total)
    t.deepEqual(GetResponse.decode(msg), { offset, total, data: Buffer.alloc(len, 9) })
    const generic = Buffer.from(GetResponse.encode({ offset, total, data: Buffer.alloc(len, 9) }).finish())
    t.deepEqual(decodeGet(generic), { offset, total, data: Buffer.alloc(len, 9) })
  }
  t.throws(() => decodeGet(Buffer.from([0x12, 0x05, 1, 2])), { instanceOf: RangeError })
})
