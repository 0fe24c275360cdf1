/**
 * The session layer in real fulcrums: epochs re-key every session under live traffic without losing
 * a datagram, and in bloc mode a node without an acceptable certificate is ignored.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { metricBy } from '../../actors/flock/hostile-datagrams.js'
import { readFileSync } from 'node:fs'
import { RealClock } from '../../runtime/clock.js'
import { ed25519PublicKey, randomEd25519SecretKey } from '../../runtime/ed25519.js'
import { nodeIdOf } from '../../runtime/node-identity.js'
import { createSessionTransport } from '../../runtime/session-transport.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'
import { wireCodec } from '../../actors/flock/wire-codec.js'
import { agreed, FulcrumPool, until } from '../fixtures/fulcrums.js'

const BOUND = 30_000
const cruxJs = fileURLToPath(new URL('../../bin/crux.js', import.meta.url))
const crux = (...args: string[]) => spawnSync(process.execPath, [cruxJs, ...args], { encoding: 'utf8' })

test('an epoch re-key every second under live traffic loses no datagram, and replaced keys are erased', async (t) => {
  const pool = new FulcrumPool(t)
  const addrs = [1, 2, 3].map((i) => `127.77.33.${i}:23123`)
  // Exact probe addresses: every datagram goes to a live fulcrum, so none may stay unsent.
  const probes = addrs.flatMap((a) => ['--probe', a])
  const fs = addrs.map((a, i) => pool.start(a, addrs[0]!, [...probes, '--key-period', '5', '--metrics', `127.77.33.${i + 1}:9133`]))
  await until(() => agreed(fs, 3), BOUND, 'one flock of 3')
  const urls = [1, 2, 3].map((i) => `http://127.77.33.${i}:9133/metrics`)
  const events = () => Promise.all(urls.map((u) => metricBy(u, 'crux_wire_session_events_total', 'event')))
  const refusals = () =>
    Promise.all(urls.map(async (u) => {
      const d = await metricBy(u, 'crux_wire_dropped_total', 'reason')
      return (d['unknown-key'] ?? 0) + (d.tag ?? 0) + (d.replay ?? 0) + (d.stale ?? 0) + (d.handshake ?? 0)
    }))
  // Counted from agreement on: before it, datagrams to fulcrums that had not started yet did go unsent.
  const start = await events()
  const refusedAtStart = await refusals()
  const leader = fs[0]!.view()!.leader
  // 5 heartbeats of 200 ms a key period: wait for at least 6 re-keys of every session.
  for (const deadline = Date.now() + BOUND; ; ) {
    const now = await events()
    if (now.every((e, i) => (e.sessions ?? 0) - (start[i]!.sessions ?? 0) >= 12)) break
    if (Date.now() > deadline) return t.fail(`too few re-keys: ${JSON.stringify(now)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const end = await events()
  const refused = await refusals()
  t.log(`sessions made per node since agreement: ${end.map((e, i) => (e.sessions ?? 0) - (start[i]!.sessions ?? 0)).join(", ")}`)
  for (const [i, u] of urls.entries()) {
    t.is(refused[i]! - refusedAtStart[i]!, 0, `node ${i + 1} refused datagrams`)
    t.is((end[i]!.unsent ?? 0) - (start[i]!.unsent ?? 0), 0, `node ${i + 1} left datagrams unsent`)
    t.true((end[i]!.erased ?? 0) > (start[i]!.erased ?? 0), `node ${i + 1} erased replaced keys`)
    const held = (await metricBy(u, 'crux_wire_session_keys', 'x'))[''] ?? 0
    // 2 peers × (1 in use + the few still in their 5 s grace period at one re-key a second).
    t.true(held <= 2 * 8, `node ${i + 1} holds ${held} keys`)
  }
  t.true(agreed(fs, 3))
  t.is(fs[0]!.view()!.leader, leader, 'the leader never changed')
})

test('bloc mode: certified members flock; a node certified by another CA never joins', async (t) => {
  const pool = new FulcrumPool(t)
  const ca = join(pool.dir, 'ca')
  const other = join(pool.dir, 'other-ca')
  t.is(crux('keygen', 'ca', '--out', ca).status, 0)
  t.is(crux('keygen', 'ca', '--out', other).status, 0)
  const dirs = [1, 2, 3, 4].map((i) => join(pool.dir, `n${i}`))
  for (const [i, d] of dirs.entries()) {
    const r = crux('keygen', 'cert', '--ca', i === 3 ? other : ca, '--data-dir', d, '--bloc', 'blue', '--json')
    t.is(r.status, 0, r.stderr)
    t.is((JSON.parse(r.stdout) as { bloc: string }).bloc, 'blue')
  }
  const fs = dirs.map((_, i) => pool.start(`127.77.34.${i + 1}:23123`, '127.77.34.0/29', ['--bloc', 'blue', ...(i === 0 ? ['--metrics', '127.77.34.1:9134'] : [])], `n${i + 1}`))
  await until(() => agreed(fs.slice(0, 3), 3), BOUND, 'one flock of the 3 certified nodes')
  // Wait until the outsider's offers have reached node 1 several times, and were refused.
  let drops: Record<string, number> = {}
  for (const deadline = Date.now() + BOUND; (drops.cert ?? 0) < 3; await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline) return t.fail(`too few refused certificates: ${JSON.stringify(drops)}`)
    drops = await metricBy('http://127.77.34.1:9134/metrics', 'crux_wire_dropped_total', 'reason')
  }
  const outsider = fs[3]!
  t.is(outsider.view()!.members, 1, 'the outsider is alone')
  t.is(outsider.view()!.leader, outsider.lines.find((l) => l.msg === 'fulcrum started')!.node as string)
  t.true(agreed(fs.slice(0, 3), 3))
})

test('a data dir whose certificate names another bloc: one clear line, exit 2', async (t) => {
  const pool = new FulcrumPool(t)
  const ca = join(pool.dir, 'ca')
  const d = join(pool.dir, 'n')
  t.is(crux('keygen', 'ca', '--out', ca).status, 0)
  t.is(crux('keygen', 'cert', '--ca', ca, '--data-dir', d, '--bloc', 'blue').status, 0)
  const f = pool.start('127.77.34.9:23123', '127.77.34.9:23123', ['--bloc', 'red'], 'n')
  t.is(await f.exited, 2)
  const err = f.lines.filter((l) => l.msg === 'stderr').map((l) => l.text).join('')
  t.regex(err, /^crux: .*node\.cert: for bloc "blue", not "red"\n$/)
})

test('a holder of the secret cannot speak for another node: packets naming another sender are dropped as impostors', async (t) => {
  const pool = new FulcrumPool(t)
  const fs = [1, 2].map((i) => pool.start(`127.77.41.${i}:23123`, '127.77.41.0/30', i === 1 ? ['--metrics', '127.77.41.1:9141'] : []))
  await until(() => agreed(fs, 2), BOUND, 'one flock of 2')
  const victim = fs[1]!.view()!.node
  const secret = new Uint8Array(Buffer.from(readFileSync(pool.secretFile, 'utf8').trim(), 'base64'))
  const key = randomEd25519SecretKey()
  const own = nodeIdOf(ed25519PublicKey(key))
  const udp = await createUdpTransport({ host: '127.77.41.9', port: 23123 })
  const liar = createSessionTransport({ transport: udp, clock: new RealClock() }, { secret, identity: { secretKey: key, publicKey: ed25519PublicKey(key) }, keyId: 77, startCounter: 0 })
  t.teardown(() => liar.close())
  const probe = (id: string) => {
    const me = { id, addr: '127.77.41.9:23123', horde: '' }
    return wireCodec.encode({ type: 'info', info: { kind: 'probe', flock: '_liar', dest: { id: '', addr: '127.77.41.1:23123', horde: '' }, me, leader: me, lvote: 1, vote: 1, sent: Date.now(), epoch: '', steward: '', registry: '', yurt: '', beacon: '', listVersion: 0, listDigest: '', n: 0 } })
  }
  liar.send('127.77.41.1:23123', probe(victim))
  let drops: Record<string, number> = {}
  for (const deadline = Date.now() + BOUND; (drops.impostor ?? 0) < 1; await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline) return t.fail(`no impostor drop: ${JSON.stringify(drops)}`)
    drops = await metricBy('http://127.77.41.1:9141/metrics', 'crux_wire_dropped_total', 'reason')
  }
  t.true(agreed(fs, 2), 'the flock was not disturbed')
  // Under its own id the same sender is heard: the fulcrum answers it.
  const answered = new Promise<void>((resolve) => liar.onReceive(() => resolve()))
  liar.send('127.77.41.1:23123', probe(own))
  await answered
  t.pass()
})
