import test from 'ava'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../../runtime/ed25519.js'
import { nodeIdOf } from '../../../runtime/node-identity.js'
import { keyIdOf } from '../../../actors/strew/registration.js'
import { FileStore } from '../../../runtime/store.js'
import { FileWhitelist } from '../../../actors/strew/whitelist-store.js'

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-wl-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/** A node's key and the KeyID it is whitelisted under. */
const entry = (rev = 'Reeve1_0') => {
  const key = ed25519PublicKey(randomEd25519SecretKey())
  return { key, node: nodeIdOf(key), id: keyIdOf(rev, nodeIdOf(key), key) }
}

test('whitelisted keys survive a restart; removed ones stay removed', (t) => {
  const d = dir(t)
  const [n1, n2] = [entry(), entry()]
  const a = new FileWhitelist(new FileStore(d))
  a.add(n1.id, n1.key)
  a.add(n2.id, n2.key)
  a.remove(n2.id)
  const b = new FileWhitelist(new FileStore(d))
  t.deepEqual(b.get(n1.id), n1.key)
  t.is(b.get(n2.id), undefined)
  t.is(b.size, 1)
})

test('a damaged whitelist file is a clear error, not an empty whitelist', (t) => {
  const d = dir(t)
  const n1 = entry()
  const wl = new FileWhitelist(new FileStore(d))
  wl.add(n1.id, n1.key)
  writeFileSync(wl.file, `[["${n1.id}", "c2hvcnQ="]]\n`)
  t.throws(() => new FileWhitelist(new FileStore(d)), { message: /not 32 bytes/ })
  writeFileSync(wl.file, '{"half":')
  t.throws(() => new FileWhitelist(new FileStore(d)), { message: /not valid JSON/ })
})

test('an edited whitelist naming a key under another node, or with another fingerprint, is refused on load, naming the file', (t) => {
  const d = dir(t)
  const [n1, n2] = [entry(), entry()]
  const wl = new FileWhitelist(new FileStore(d))
  wl.add(n1.id, n1.key)
  const b64 = Buffer.from(n2.key).toString('base64')
  // n2's key under n1's name: it would sign as n1's reeve.
  writeFileSync(wl.file, JSON.stringify([[n1.id, b64]]))
  const err = t.throws(() => new FileWhitelist(new FileStore(d)))
  t.is(err.message, `whitelist ${wl.file}: ${n1.id} names node ${n1.node}, but its key is node ${n2.node}'s`)
  t.false(err.message.includes('\n'))
  writeFileSync(wl.file, JSON.stringify([[keyIdOf('Reeve1_0', n2.node, n1.key), b64]]))
  t.throws(() => new FileWhitelist(new FileStore(d)), { message: new RegExp(`^whitelist ${wl.file}: .* does not carry its key's fingerprint$`) })
  t.throws(() => wl.add(n1.id, n2.key), { message: /names node/ }, 'nor is such an entry ever written')
})

test('adding a key already there writes nothing; forget removes every key of one node in one write', (t) => {
  const d = dir(t)
  const [n1, n2] = [entry(), entry()]
  const steward1 = { ...n1, id: keyIdOf('Steward1_0', n1.node, n1.key) }
  const wl = new FileWhitelist(new FileStore(d))
  for (const e of [n1, steward1, n2]) wl.add(e.id, e.key)
  // A write goes to a temp file renamed over the old one: a new inode.
  const inode = statSync(wl.file).ino
  wl.add(n1.id, n1.key)
  t.is(statSync(wl.file).ino, inode, 'not rewritten')
  t.deepEqual(wl.forget(n1.node).sort(), [n1.id, steward1.id].sort())
  t.deepEqual(wl.forget(n1.node), [])
  const again = new FileWhitelist(new FileStore(d))
  t.deepEqual([again.size, again.get(n2.id)], [1, n2.key])
})
