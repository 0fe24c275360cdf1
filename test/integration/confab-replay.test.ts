/**
 * Confab replay, as an attacker would try it (issue 13): the datagrams of one `crux admin reboot`
 * are captured on their way through a UDP relay, then replayed from this process — to another
 * node, to the same node after 5 000 other senders pushed the client out of its key memory, and
 * to the same node after it restarted. None of them reboots anything; and an unpadded query, all a
 * spoofed source could be made to answer, gets nothing.
 */
import test from 'ava'
import { createSocket, type Socket } from 'node:dgram'
import { paddedQuery } from '../../actors/flock/confab-client.js'
import type { ConfabAnswer } from '../../machines/flock/types.js'
import { readSecretFile } from '../../runtime/secret.js'
import { ENVELOPE_TYPE, SecondaryChannel } from '../../runtime/secondary-channel.js'
import { decodeWire, encodeWire } from '../../actors/flock/wire-codec.js'
import { agreed, crux, FulcrumPool, until } from '../fixtures/fulcrums.js'

const BOUND = 30_000
const split = (addr: string): [string, number] => [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))]

async function bound(host: string): Promise<Socket> {
  const s = createSocket('udp4')
  await new Promise<void>((resolve) => s.bind(0, host, resolve))
  return s
}

/** Forwards the client's datagrams to `target` and back, keeping a copy of each the client sent. */
async function relay(host: string, target: string): Promise<{ addr: string; captured: Buffer[]; close: () => void }> {
  const s = await bound(host)
  const [th, tp] = split(target)
  const captured: Buffer[] = []
  let client: { address: string; port: number } | undefined
  s.on('message', (msg, from) => {
    if (from.address === th && from.port === tp) {
      if (client !== undefined) s.send(msg, client.port, client.address)
      return
    }
    client = from
    captured.push(msg)
    s.send(msg, tp, th)
  })
  return { addr: `${host}:${s.address().port}`, captured, close: () => s.close() }
}

test('a captured admin reboot, replayed to another node, after 5 000 other senders, and after a restart, reboots nothing; an unpadded query gets no answer', async (t) => {
  const pool = new FulcrumPool(t)
  // Node 3's key-derivation budget is raised so that 5 000 new senders from one host fit in seconds
  // (by default it takes them at 16 a second: runtime/key-budget.ts, tested on its own).
  const budget = ['--key-budget', '10000,10000']
  const fs = [1, 2, 3].map((i) => pool.start(`127.77.51.${i}:23123`, '127.77.51.0/29', i === 3 ? budget : []))
  await until(() => agreed(fs, 3), BOUND, 'one flock of 3')
  const secret = readSecretFile(pool.secretFile)

  // The attacker's socket: it replays, and (holding the secret, as the test does) reads the answers.
  const me = await bound('127.77.51.8')
  t.teardown(() => me.close())
  const opener = new SecondaryChannel({ secret, keyId: 1, startCounter: 0 })
  const answers: ConfabAnswer[] = []
  let largest = 0
  me.on('message', (msg) => {
    largest = Math.max(largest, msg.length)
    const r = opener.open(msg)
    if (!r.ok) return
    const ev = decodeWire(r.plaintext)
    if (ev.type === 'confab.answer') answers.push(ev.answer)
  })
  const replay = (msgs: Buffer[], to: string) => {
    const [h, p] = split(to)
    for (const m of msgs) me.send(m, p, h)
  }
  /** Asks `to` its role with a fresh query of our own: a node that took a reboot says `rebooting`. */
  const roleOf = async (to: string): Promise<string> => {
    const nonce = 4_000_000_000 + answers.length
    const q = paddedQuery({ nonce, ask: 'names', introduce: '', time: Date.now(), target: '', page: 0 })
    replay([Buffer.from(new SecondaryChannel({ secret, keyId: nonce, startCounter: 0 }).seal(ENVELOPE_TYPE.secondary, q))], to)
    await until(() => answers.some((a) => a.nonce === nonce), BOUND, `names from ${to}`)
    return answers.find((a) => a.nonce === nonce)!.role
  }

  // An unpadded members query, as any sender of a spoofed source would make it, gets nothing: the
  // padded names query sent after it is answered, it is not.
  const bare = encodeWire({ type: 'confab.query', query: { nonce: 77, ask: 'members', introduce: '', time: Date.now(), target: '', page: 0, pad: 0 } })
  replay([Buffer.from(new SecondaryChannel({ secret, keyId: 77, startCounter: 0 }).seal(ENVELOPE_TYPE.secondary, bare))], fs[0]!.addr)
  await roleOf(fs[0]!.addr)
  t.false(answers.some((a) => a.nonce === 77))

  const r = await relay('127.77.51.7', fs[2]!.addr)
  t.teardown(r.close)
  const capturedAt = Date.now()
  const run = await crux('admin', 'reboot', '--target', r.addr, '--secret-file', pool.secretFile)
  t.is(run.status, 0, run.stderr)
  const c = fs[2]!.view()!.node
  t.is(run.stdout, `${c} reboots\n`)
  t.true(r.captured.length >= 2) // the names query that learnt the node's id, then the reboot
  await until(() => fs[2]!.view()!.role === 'rebooting', BOUND, 'the node rebooting')
  await until(() => agreed(fs, 3), BOUND, 'back to one flock of 3')

  // To another node: the query names its node, so it is refused there.
  const b = fs[1]!.view()!.node
  replay(r.captured, fs[1]!.addr)
  await until(() => answers.some((a) => a.node === b && !a.ok), BOUND, 'the other node refusing')
  t.is(answers.find((a) => a.node === b && !a.ok)!.reason, `names another node, not ${b}`)
  t.not(await roleOf(fs[1]!.addr), 'rebooting')

  // 5 000 other senders, each under a fresh key: the client's key is gone from the node's key memory.
  for (let k = 0; k < 5000; k += 250) {
    const before = answers.length
    for (let i = k; i < k + 250; i++) {
      const q = paddedQuery({ nonce: i, ask: 'names', introduce: '', time: Date.now(), target: '', page: 0 })
      replay([Buffer.from(new SecondaryChannel({ secret, keyId: 10_000 + i, startCounter: 0 }).seal(ENVELOPE_TYPE.secondary, q))], fs[2]!.addr)
    }
    await until(() => answers.length >= before + 240, BOUND, `answers to senders ${k}…${k + 249}`)
  }
  const taken = answers.length
  replay(r.captured, fs[2]!.addr)
  await until(() => answers.length >= taken + r.captured.length, BOUND, 'answers to the replay')
  t.not(await roleOf(fs[2]!.addr), 'rebooting')
  t.true(agreed(fs, 3))

  // After a restart: every query from before the node started is refused.
  fs[2]!.child.kill('SIGTERM')
  await fs[2]!.exited
  fs[2] = pool.start(fs[2]!.addr, '127.77.51.0/29', budget)
  await until(() => agreed(fs, 3), BOUND, 'the restarted node back in the flock')
  const age = Date.now() - capturedAt
  replay(r.captured, fs[2]!.addr)
  await until(() => answers.some((a) => a.node === c && !a.ok), BOUND, 'the restarted node refusing')
  // Within the 30 s skew only the start fence can refuse it; on a machine so loaded that the steps
  // above took longer, the skew check comes first and refuses it as well.
  const reason = answers.find((a) => a.node === c && !a.ok)!.reason
  if (age < 29_000) t.is(reason, "query is older than this node's start")
  else t.regex(reason, /^query is older than this node's start$|^query time is \d+ s behind this node's clock/)
  t.not(await roleOf(fs[2]!.addr), 'rebooting')

  // Every answer this process got, to some 5 000 padded queries of 1 400 bytes, was no larger.
  t.true(largest <= 1400, `${largest}`)

  // A refusal the CLI meets is one line: here, an admin query naming a node that is not there.
  const wrong = await crux('admin', 'reboot', '--target', fs[2]!.addr, '--node', 'nobody', '--secret-file', pool.secretFile)
  t.is(wrong.status, 1)
  t.is(wrong.stderr, `crux: ${fs[2]!.addr} refused: names another node, not ${c}\n`)
})
