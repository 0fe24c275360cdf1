/**
 * The two ends of the forged-key-id flood (bench/fuzz.ts), each a process of its own so it has a
 * core to itself:
 *
 *   node flood-proc.js send HOST PORT FROM_HOST SECONDS   forged envelopes as fast as one process can
 *   node flood-proc.js recv HOST PORT                     a bare receiver: Node's own cost per datagram
 *
 * The sender's envelopes have the right version, an offer's type, a size within bounds and a
 * distinct key id each, so a fulcrum takes them all the way to its key lookup; nobody holds their
 * keys. It prints `{"sent":N,"errors":N,"seconds":S}` when done. The receiver counts datagrams and
 * drops each at the first check a fulcrum makes (the version byte); on SIGTERM it prints
 * `{"received":N}` and exits.
 */
import { createSocket } from 'node:dgram'
import { randomFillSync } from 'node:crypto'

const [mode, host, portText, a4, a5] = process.argv.slice(2)
const port = Number(portText)
const BURST = Number(process.env.FLOOD_BURST ?? 256)

if (mode === 'send') {
  const seconds = Number(a5)
  const sock = createSocket('udp4')
  sock.bind(0, a4!, () => {
    // A ring of datagrams: a send may still hold its buffer when the loop comes round to it again
    // only after 1 024 more, by which time the kernel has long copied it.
    const ring = Array.from({ length: 1024 }, () => {
      const d = randomFillSync(Buffer.alloc(94)) // 30 bytes of envelope, 64 of "ciphertext"
      d[0] = 1 // ENVELOPE_VERSION
      d[1] = 2 // ENVELOPE_TYPE.offer
      d.writeUInt32BE(0, 6) // counter high word: a safe integer, so nothing rejects it before the key
      return d
    })
    let sent = 0
    let errors = 0
    let id = randomFillSync(Buffer.alloc(4)).readUInt32BE(0)
    const done = (err: Error | null) => void (err === null ? sent++ : errors++)
    const t0 = performance.now()
    const end = t0 + seconds * 1000
    const burst = () => {
      for (let k = 0; k < BURST; k++) {
        const d = ring[(sent + errors + k) & 1023]!
        id = (id + 0x9e37_79b9) >>> 0 // a new key id every datagram (distinct for 2³² of them)
        d.writeUInt32BE(id, 2)
        sock.send(d, port, host, done)
      }
      // Yielding lets the send callbacks run: the queue stays bounded and the rate is what was sent.
      if (performance.now() < end) setImmediate(burst)
      else setTimeout(() => {
        process.stdout.write(JSON.stringify({ sent, errors, seconds: (performance.now() - t0) / 1000 }) + '\n')
        sock.close()
      }, 200)
    }
    burst()
  })
} else if (mode === 'recv') {
  const sock = createSocket('udp4')
  let received = 0
  let versionDrops = 0
  sock.on('message', (msg) => {
    received++
    if (msg[0] !== 1) versionDrops++ // the first check: what a datagram that goes no further costs
  })
  sock.bind(port, host, () => {
    sock.setRecvBufferSize(1 << 20) // as a fulcrum's
    process.stdout.write('ready\n')
  })
  process.on('SIGTERM', () => {
    process.stdout.write(JSON.stringify({ received, versionDrops }) + '\n')
    process.exit(0)
  })
} else {
  process.stderr.write('usage: flood-proc.js send HOST PORT FROM_HOST SECONDS | recv HOST PORT\n')
  process.exit(2)
}
