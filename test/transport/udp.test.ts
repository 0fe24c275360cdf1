import test from 'ava'
import { AddressInUseError, UnavailableError } from '../../runtime/errors.js'
import type { Transport } from '../../runtime/transport.js'
import { formatHostPort, parseHostPort } from '../../runtime/udp-address.js'
import { createUdpTransport } from '../../runtime/udp-transport.js'
import { transportConformance, type TransportWorld } from './conformance.js'

const BOUND_MS = 5_000

/** Polls real time until `cond()` or the bound; a condition wait, never a fixed sleep. */
async function until(cond: () => boolean, boundMs = BOUND_MS): Promise<boolean> {
  const deadline = performance.now() + boundMs
  while (!cond() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2))
  return cond()
}

function udpHarness(hostOf: (i: number) => string) {
  return {
    async create(n: number): Promise<TransportWorld> {
      const endpoints: Transport[] = []
      for (let i = 0; i < n; i++) endpoints.push(await createUdpTransport({ host: hostOf(i), port: 0 }))
      // settle(): loopback delivery happens inside the sender's send call, so once a probe sent after
      // the datagrams under test has come back twice, every earlier one has been read or is gone.
      const probe = await createUdpTransport({ host: '127.0.0.1', port: 0 })
      let echoes = 0
      probe.onReceive(() => echoes++)
      return {
        endpoints,
        unknownAddress: '127.77.0.254:9',
        async settle() {
          for (let round = 0; round < 2; round++) {
            const want = echoes + 1
            probe.send(probe.address, new Uint8Array(0))
            if (!(await until(() => echoes >= want))) throw new Error('udp probe did not come back')
          }
        },
        until,
        teardown: async () => {
          await Promise.all([...endpoints, probe].map((e) => e.close()))
        },
      }
    },
  }
}

transportConformance('udp (127.0.0.1)', udpHarness(() => '127.0.0.1'))
transportConformance('udp (127.77.0.x)', udpHarness((i) => `127.77.0.${i + 1}`))

test('udp: address reflects the bound ephemeral port', async (t) => {
  const ep = await createUdpTransport({ host: '127.77.0.9', port: 0 })
  try {
    const hp = parseHostPort(ep.address)
    t.is(hp?.host, '127.77.0.9')
    t.true(hp !== undefined && hp.port > 0)
  } finally {
    await ep.close()
  }
})

test('udp: binding a taken port rejects with AddressInUseError', async (t) => {
  const ep = await createUdpTransport({ host: '127.0.0.1', port: 0 })
  try {
    const port = parseHostPort(ep.address)!.port
    await t.throwsAsync(createUdpTransport({ host: '127.0.0.1', port }), { instanceOf: AddressInUseError })
  } finally {
    await ep.close()
  }
})

test('udp: binding a non-local address rejects with UnavailableError', async (t) => {
  await t.throwsAsync(createUdpTransport({ host: '192.0.2.1', port: 0 }), { instanceOf: UnavailableError })
})

test('udp: malformed destinations are counted, not thrown', async (t) => {
  const ep = await createUdpTransport({ host: '127.0.0.1', port: 0 })
  try {
    ep.send('127.0.0.1', Uint8Array.of(1))
    ep.send('127.0.0.1:0', Uint8Array.of(1))
    ep.send('127.0.0.1:70000', Uint8Array.of(1))
    t.is(ep.stats.badAddress, 3)
    t.is(ep.stats.sent, 0)
  } finally {
    await ep.close()
  }
})

test('udp addresses: HOST:PORT and [HOST6]:PORT round-trip; malformed ones are rejected', (t) => {
  t.deepEqual(parseHostPort('127.77.0.1:7000'), { host: '127.77.0.1', port: 7000 })
  t.deepEqual(parseHostPort('[::1]:7000'), { host: '::1', port: 7000 })
  t.is(formatHostPort('::1', 7000), '[::1]:7000')
  t.is(formatHostPort('127.0.0.1', 1), '127.0.0.1:1')
  t.deepEqual(parseHostPort('127.0.0.1:0', true), { host: '127.0.0.1', port: 0 })
  for (const bad of ['', ':7000', '127.0.0.1', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:65536', '::1:7000', '[::1:7000', 'h:7x']) {
    t.is(parseHostPort(bad), undefined, bad)
  }
})

test('udp: a socket bound to :: talks with IPv4 peers by their IPv4 addresses (a wildcard listen)', async (t) => {
  const v4 = await createUdpTransport({ host: '127.77.100.70', port: 0 })
  const dual = await createUdpTransport({ host: '::', port: 0 })
  t.teardown(() => Promise.all([v4.close(), dual.close()]))
  const port = parseHostPort(dual.address)!.port
  let heardFrom: string | undefined
  let answered = false
  dual.onReceive((_b, from) => {
    heardFrom = from
    dual.send(v4.address, new Uint8Array([2])) // the address a peer announces: IPv4
  })
  v4.onReceive(() => (answered = true))
  v4.send(`127.0.0.1:${port}`, new Uint8Array([1]))
  t.true(await until(() => answered))
  t.is(heardFrom, v4.address, 'the IPv4 peer is named by its IPv4 address, not ::ffff:…')
  t.is(dual.stats.sendErrors, 0)
})
