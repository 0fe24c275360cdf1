/**
 * Hostile datagrams at a live fulcrum: 100 000 random, truncated, bit-flipped, wrongly keyed and
 * replayed datagrams. None may be accepted, the process must not crash, its memory must stay flat,
 * and the flock must not notice. (The benchmark sends 1 000 000.)
 */
import test from 'ava'
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { Rng } from '../../runtime/rng.js'
import { createSealedTransport } from '../../runtime/sealed-transport.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'
import { wireCodec } from '../../runtime/wire-codec.js'
import { agreed, FulcrumPool, until } from '../fixtures/fulcrums.js'

const BOUND = 30_000
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)

async function metric(url: string, name: string, label = ''): Promise<number> {
  const text = await fetch(url).then((r) => r.text())
  let sum = 0
  for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(label)) sum += Number(line.split(' ').pop())
  return sum
}

test('100 000 hostile datagrams: none accepted, no crash, memory flat, the flock undisturbed', async (t) => {
  const pool = new FulcrumPool(t)
  const fs = [1, 2, 3].map((i) => pool.start(`127.77.26.${i}:23123`, '127.77.26.0/29', i === 1 ? ['--metrics', '127.77.26.1:9126'] : []))
  await until(() => agreed(fs, 3), BOUND, 'one flock of 3')
  const target = fs[0]!
  const metrics = 'http://127.77.26.1:9126/metrics'

  // Material: genuine-looking datagrams sealed under ANOTHER secret, and one sealed under the right
  // secret (captured as an attacker on the path would), to replay.
  const rng = new Rng(2026)
  const wrong = createSealedTransport({ transport: await createUdpTransport({ host: '127.77.26.9', port: 0 }) }, { secret: new Uint8Array(32).fill(7), keyId: 99, startCounter: 0 })
  const sniff = await createUdpTransport({ host: '127.77.26.10', port: 0 })
  const captured: Uint8Array[] = []
  sniff.onReceive((b) => captured.push(b.slice()))
  const secret = new Uint8Array(Buffer.from(readFileSync(pool.secretFile, 'utf8').trim(), 'base64'))
  const right = createSealedTransport({ transport: await createUdpTransport({ host: '127.77.26.11', port: 0 }) }, { secret, keyId: 4242, startCounter: 0 })
  const info = wireCodec.encode({ type: 'info', info: { kind: 'probe', flock: '_', dest: { id: 'x', addr: 'x', horde: '' }, me: { id: 'fuzz', addr: '127.77.26.11:1', horde: '' }, leader: { id: 'fuzz', addr: '127.77.26.11:1', horde: '' }, lvote: 1, vote: 1, sent: 1, epoch: '', steward: '', registry: '', yurt: '', beacon: '', listVersion: 0, listDigest: '', n: 0 } })
  right.send(sniff.address, info)
  await until(() => captured.length === 1, BOUND, 'a captured datagram')
  const genuine = captured[0]!
  const wrongSealed: Uint8Array[] = []
  const tap = (b: Uint8Array) => wrongSealed.push(b)
  for (let i = 0; i < 8; i++) {
    const s = createSealedTransport({ transport: { address: 'x', send: (_to, b) => tap(b.slice()), onReceive: () => {}, close: async () => {} } }, { secret: new Uint8Array(32).fill(i + 1), keyId: i, startCounter: i })
    s.send('y', info)
  }

  const sock = createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, '127.77.26.12', () => r()))
  const before = rssKb(target.child.pid!)
  const acceptedBefore = await metric(metrics, 'crux_wire_accepted_total')
  const N = 100_000
  const datagram = (i: number): Uint8Array => {
    switch (i % 5) {
      case 0: { // random bytes of random length
        const d = new Uint8Array(rng.int(1500))
        for (let k = 0; k < d.length; k++) d[k] = rng.int(256)
        return d
      }
      case 1: // a truncation of a genuine datagram
        return genuine.subarray(0, rng.int(genuine.length))
      case 2: { // a genuine datagram with one bit flipped
        const d = genuine.slice()
        const k = rng.int(d.length)
        d[k] = d[k]! ^ (1 << rng.int(8))
        return d
      }
      case 3: // sealed under a wrong secret
        return wrongSealed[rng.int(wrongSealed.length)]!
      default: // the genuine datagram, replayed
        return genuine
    }
  }
  // Send in rounds until the fulcrum has seen (and dropped) N: UDP may lose some in the kernel's
  // buffers on a busy machine, so count what arrived rather than what was sent.
  const droppedBefore = await metric(metrics, 'crux_wire_dropped_total')
  let sent = 0
  let seen = 0
  const deadline = Date.now() + 90_000
  while (seen < N) {
    if (Date.now() > deadline) return t.fail(`only ${seen} of ${sent} datagrams reached the fulcrum in time`)
    for (let k = 0; k < 5000; k++, sent++) {
      sock.send(datagram(sent), 23123, '127.77.26.1')
      if (k % 100 === 99) await new Promise((r) => setTimeout(r, 1)) // pace, so the socket buffers keep up
    }
    // The round is handled once the drop counter stops moving.
    let last = -1
    for (;;) {
      const d = await metric(metrics, 'crux_wire_dropped_total')
      if (d === last) break
      last = d
      await new Promise((r) => setTimeout(r, 100))
    }
    seen = last - droppedBefore
  }
  sock.close()
  await Promise.all([wrong.close(), sniff.close(), right.close()])
  const acceptedFuzz = (await metric(metrics, 'crux_wire_accepted_total')) - acceptedBefore
  const after = rssKb(target.child.pid!)
  t.log(`${sent} sent, ${seen} reached the fulcrum and were dropped; rss ${before} → ${after} kB`)
  t.true(seen >= N)
  t.is(target.child.exitCode, null, 'still running')
  // Only the flock's own traffic (a few packets per heartbeat) was accepted meanwhile: the one genuine
  // packet opened once, its 20 000 replays never.
  t.true(acceptedFuzz < 200, `accepted ${acceptedFuzz}`)
  t.true(after - before < 64 * 1024, `rss grew by ${after - before} kB`)
  t.true(agreed(fs, 3))
})
