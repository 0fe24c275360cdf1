import test from 'ava'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileStore } from '../../runtime/store.js'
import { FileWhitelist } from '../../runtime/whitelist-store.js'

function dir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'crux-wl-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

test('whitelisted keys survive a restart; removed ones stay removed', (t) => {
  const d = dir(t)
  const a = new FileWhitelist(new FileStore(d))
  a.add('/Reeve1_0/n1/keys/*', new Uint8Array(32).fill(1))
  a.add('/Reeve1_0/n2/keys/*', new Uint8Array(32).fill(2))
  a.remove('/Reeve1_0/n2/keys/*')
  const b = new FileWhitelist(new FileStore(d))
  t.deepEqual(b.get('/Reeve1_0/n1/keys/*'), new Uint8Array(32).fill(1))
  t.is(b.get('/Reeve1_0/n2/keys/*'), undefined)
  t.is(b.size, 1)
})

test('a damaged whitelist file is a clear error, not an empty whitelist', (t) => {
  const d = dir(t)
  new FileWhitelist(new FileStore(d)).add('/Reeve1_0/n1/keys/*', new Uint8Array(32).fill(1))
  const sub = readdirSync(d)[0]!
  const file = readdirSync(join(d, sub)).find((f) => f.startsWith('whitelist'))!
  writeFileSync(join(d, sub, file), '[["/Reeve1_0/n1/keys/*", "c2hvcnQ="]]\n')
  t.throws(() => new FileWhitelist(new FileStore(d)), { message: /not 32 bytes/ })
  writeFileSync(join(d, sub, file), '{"half":')
  t.throws(() => new FileWhitelist(new FileStore(d)), { message: /not valid JSON/ })
})
