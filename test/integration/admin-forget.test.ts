/**
 * `crux admin forget NODE_ID` against two real fulcrums, and a fulcrum refusing to start on an edited
 * whitelist. The member's reeve key leaves the steward's whitelist: its calls are refused until
 * it registers again, which it does by itself the next time the steward refuses it.
 */
import test from 'ava'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REEVE_REV } from '../../actors/strew/registry-client.js'
import { StewardServiceService } from '../../protos/gen/crux/v1/steward.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { loadIdentity, nodeIdOf } from '../../runtime/node-identity.js'
import { keyIdOf } from '../../actors/strew/registration.js'
import { generateSecret } from '../../runtime/secret.js'
import { loadPeerTls } from '../../runtime/grpc-tls.js'
import { createPeerClient } from '../../runtime/peer-client.js'
import { agreed, crux, FulcrumPool, type RunningFulcrum, until } from '../fixtures/fulcrums.js'

const BOUND = 30_000
const grpcOf = (f: RunningFulcrum) => f.addr.replace(/:\d+$/, ':50059')

/** Polls an async condition every 50 ms within BOUND. */
async function poll(what: string, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + BOUND
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${BOUND} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('forget: the member key leaves the steward whitelist, its calls are refused, and it registers again', async (t) => {
  const pool = new FulcrumPool(t)
  const fs = [1, 2].map((i) => pool.start(`127.77.158.${i}:23123`, '127.77.158.0/29'))
  await until(() => agreed(fs, 2), BOUND, 'one flock of 2')
  const leader = fs.find((f) => f.view()!.leader === f.view()!.node)!
  const member = fs.find((f) => f !== leader)!
  const registered = (f: RunningFulcrum) => f.lines.some((l) => l.msg === 'registered with steward' && l.steward === grpcOf(leader))
  await until(() => registered(member), BOUND, 'the member registered with the steward')
  const id = loadIdentity(member.dataDir)
  const node = nodeIdOf(id.publicKey)
  const keyId = keyIdOf(REEVE_REV, node, id.publicKey)
  const steward = createPeerClient(grpcOf(leader), { tls: loadPeerTls(member.dataDir), key: keyId, timeoutMs: 5_000, describe: 'steward' })
  t.teardown(() => steward.close())
  const ping = () => steward.unary(StewardServiceService.ping, { text: 'x' }).then(() => 'ok', (err: { code: number }) => err.code)
  t.is(await ping(), 'ok')

  const forgot = await crux('admin', 'forget', node, '--target', grpcOf(leader), '--secret-file', pool.secretFile, '--json')
  t.is(forgot.status, 0, forgot.stderr)
  const out = JSON.parse(forgot.stdout) as { node: string; steward: string; term: number; removed: string[] }
  t.like(out, { node, steward: nodeIdOf(loadIdentity(leader.dataDir).publicKey), removed: [keyId] })
  t.true(out.term > 0)
  t.false(readFileSync(join(leader.dataDir, 'store', 'strew', 'whitelist.json'), 'utf8').includes(keyId), 'persisted')
  t.is(await ping(), 7, 'PERMISSION_DENIED: the key is no longer known')

  const again = await crux('admin', 'forget', node, '--target', grpcOf(leader), '--secret-file', pool.secretFile)
  t.deepEqual([again.status, again.stderr], [1, `crux: ${grpcOf(leader)}: no key of node ${node} is on the steward's whitelist\n`])
  const notSteward = await crux('admin', 'forget', node, '--target', grpcOf(member), '--secret-file', pool.secretFile)
  t.is(notSteward.status, 1)
  t.regex(notSteward.stderr, /^crux: 127\.77\.158\.\d:50059 is not the flock's steward .*\n$/)
  t.is((await crux('admin', 'forget', 'nobody', '--target', grpcOf(leader), '--secret-file', pool.secretFile)).status, 2)

  // The member's next forward is refused: it registers again, and its key is back.
  const reg = await crux('service', 'register', '--target', grpcOf(member), '--data-dir', member.dataDir, '--api', 'Api1', '--instance', 'forgotten', '--addr', '127.0.0.1:9000')
  t.is(reg.status, 0, reg.stderr)
  await poll('the member registered again', async () => (await ping()) === 'ok')
})

test('a fulcrum whose whitelist names a key under another node does not start: one line naming the file, exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'crux-forget-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const data = join(dir, 'data')
  const file = join(data, 'store', 'strew', 'whitelist.json')
  mkdirSync(join(data, 'store', 'strew'), { recursive: true })
  const [a, b] = [0, 1].map(() => ed25519PublicKey(randomEd25519SecretKey())) as [Uint8Array, Uint8Array]
  writeFileSync(file, JSON.stringify([[keyIdOf(REEVE_REV, nodeIdOf(a), a), Buffer.from(b).toString('base64')]]))
  writeFileSync(join(dir, 'secret'), generateSecret() + '\n', { mode: 0o600 })
  const r = await crux('fulcrum', '--listen', '127.77.158.9:23123', '--data-dir', data, '--secret-file', join(dir, 'secret'), '--probe', '127.77.158.9:23123', '--log-level', 'silent')
  t.is(r.status, 1)
  t.is(r.stderr, `crux: whitelist ${file}: ${keyIdOf(REEVE_REV, nodeIdOf(a), a)} names node ${nodeIdOf(a)}, but its key is node ${nodeIdOf(b)}'s\n`)
})
