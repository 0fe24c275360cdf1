/**
 * The one conformance suite every Transport passes (runtime/transport.ts). A test file supplies a
 * harness that builds a fresh world of N endpoints per test and knows how time passes on that
 * transport; the cases below never assume more than UDP promises (no ordering, no timing), and hold
 * each transport to the bounds it states (`transport.bounds`: largest payload, empty payloads, the
 * burst a first contact takes), never to another's.
 */
import test from 'ava'
import type { VirtualClock } from '../../runtime/clock.js'
import { DatagramTooLargeError, TransportClosedError } from '../../runtime/errors.js'
import { MAX_DATAGRAM_BYTES, type Transport } from '../../runtime/transport.js'

/** N open endpoints (no handlers set) and the means to let time pass. */
export interface TransportWorld {
  readonly endpoints: Transport[]
  /** An address no endpoint holds. */
  readonly unknownAddress: string
  /** Lets everything sent so far land or be lost. */
  settle(): Promise<void>
  /** Lets time pass until `cond()` holds or `boundMs` (on the transport's timeline) runs out; returns `cond()`. */
  until(cond: () => boolean, boundMs?: number): Promise<boolean>
  /** Closes whatever is still open. */
  teardown(): Promise<void>
}

export interface TransportHarness {
  create(n: number): Promise<TransportWorld>
}

/** settle/until for transports driven by a virtual clock: run timers, never sleep. */
export function virtualTime(clock: VirtualClock): Pick<TransportWorld, 'settle' | 'until'> {
  return {
    settle: async () => {
      clock.runAll()
      // A transport may deliver on a microtask (a session transport to itself): let those run too.
      await new Promise((resolve) => setImmediate(resolve))
      clock.runAll()
    },
    until: async (cond, boundMs = 60_000) => {
      const limit = clock.now() + boundMs
      while (!cond()) {
        await Promise.resolve()
        if (cond()) break
        const due = clock.nextDue()
        if (due === undefined || due > limit) break
        clock.step()
      }
      return cond()
    },
  }
}

interface Received {
  bytes: Uint8Array
  from: string
}

function collect(ep: Transport): Received[] {
  const got: Received[] = []
  ep.onReceive((bytes, from) => got.push({ bytes: Uint8Array.from(bytes), from }))
  return got
}

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
}

/** Registers the suite under `name`. */
export function transportConformance(name: string, harness: TransportHarness): void {
  const world = (n: number, body: (w: TransportWorld, ...eps: Transport[]) => Promise<void>) => async () => {
    const w = await harness.create(n)
    try {
      await body(w, ...w.endpoints)
    } finally {
      await w.teardown()
    }
  }

  test(`${name}: delivers the bytes intact, with the sender's address`, async (t) => {
    await world(2, async (w, a, b) => {
      t.not(a!.address, b!.address)
      const got = collect(b!)
      a!.send(b!.address, pattern(300, 1))
      t.true(await w.until(() => got.length >= 1))
      t.deepEqual(got[0]!.bytes, pattern(300, 1))
      t.is(got[0]!.from, a!.address)
    })()
  })

  test(`${name}: works in both directions, and an endpoint can send to itself`, async (t) => {
    await world(2, async (w, a, b) => {
      const atA = collect(a!)
      const atB = collect(b!)
      a!.send(b!.address, Uint8Array.of(1))
      b!.send(a!.address, Uint8Array.of(2))
      a!.send(a!.address, Uint8Array.of(3))
      t.true(await w.until(() => atA.length >= 2 && atB.length >= 1))
      t.deepEqual(atB.map((r) => [r.bytes[0], r.from]), [[1, a!.address]])
      t.deepEqual(atA.map((r) => [r.bytes[0], r.from]).sort(), [[2, b!.address], [3, a!.address]].sort())
    })()
  })

  test(`${name}: states bounds within a datagram's, and every endpoint states the same`, async (t) => {
    await world(2, async (_w, a, b) => {
      const { maxBytes, firstBurst } = a!.bounds
      t.true(Number.isInteger(maxBytes) && maxBytes > 0 && maxBytes <= MAX_DATAGRAM_BYTES, `maxBytes ${maxBytes}`)
      t.true(firstBurst >= 1)
      t.deepEqual(b!.bounds, a!.bounds)
    })()
  })

  test(`${name}: a zero-length datagram arrives if the bounds say so (else it is taken and never delivered); a largest one arrives whole`, async (t) => {
    await world(2, async (w, a, b) => {
      const { maxBytes, deliversEmpty } = a!.bounds
      const got = collect(b!)
      t.notThrows(() => a!.send(b!.address, new Uint8Array(0)))
      a!.send(b!.address, pattern(maxBytes, 9))
      const expected = deliversEmpty ? 2 : 1
      t.true(await w.until(() => got.length >= expected))
      await w.settle()
      const bySize = got.map((r) => r.bytes).sort((x, y) => x.length - y.length)
      t.is(bySize.length, expected)
      if (deliversEmpty) t.is(bySize[0]!.length, 0)
      t.deepEqual(bySize[expected - 1], pattern(maxBytes, 9))
    })()
  })

  test(`${name}: a datagram over its bound throws DatagramTooLargeError and is not sent`, async (t) => {
    await world(2, async (w, a, b) => {
      const { maxBytes } = a!.bounds
      const got = collect(b!)
      const err = t.throws(() => a!.send(b!.address, new Uint8Array(maxBytes + 1)), { instanceOf: DatagramTooLargeError })
      t.is(err?.details?.['size'], maxBytes + 1)
      t.is(err?.details?.['limit'], maxBytes)
      await w.settle()
      t.is(got.length, 0)
    })()
  })

  test(`${name}: send after close throws TransportClosedError; close is idempotent`, async (t) => {
    await world(2, async (_w, a, b) => {
      await Promise.all([a!.close(), a!.close()])
      await a!.close()
      t.throws(() => a!.send(b!.address, Uint8Array.of(1)), { instanceOf: TransportClosedError })
    })()
  })

  test(`${name}: nothing is delivered to a closed endpoint, sent before or after it closed`, async (t) => {
    await world(3, async (w, a, b, c) => {
      let calls = 0
      b!.onReceive(() => calls++)
      const atC = collect(c!)
      a!.send(b!.address, Uint8Array.of(1)) // in flight while b closes
      await b!.close()
      a!.send(b!.address, Uint8Array.of(2))
      a!.send(c!.address, Uint8Array.of(3)) // proof that time passed and the network works
      await w.settle()
      t.true(await w.until(() => atC.length >= 1))
      t.is(calls, 0)
    })()
  })

  test(`${name}: unknown and malformed destinations are silently lost`, async (t) => {
    await world(2, async (w, a, b) => {
      const got = collect(b!)
      t.notThrows(() => a!.send(w.unknownAddress, Uint8Array.of(1)))
      t.notThrows(() => a!.send('not an address', Uint8Array.of(2)))
      t.notThrows(() => a!.send('', Uint8Array.of(3)))
      a!.send(b!.address, Uint8Array.of(4))
      t.true(await w.until(() => got.length >= 1))
      await w.settle()
      t.deepEqual(got.map((r) => r.bytes[0]), [4])
    })()
  })

  test(`${name}: 500 datagrams all arrive`, async (t) => {
    await world(2, async (w, a, b) => {
      const got = collect(b!)
      const total = 500
      // Bursts of 50, each awaited: the point is that none is lost, not how deep a socket buffer is.
      // The first goes to an address not heard from yet: no longer than the transport's first burst.
      for (let sent = 0; sent < total; ) {
        const burst = sent === 0 ? Math.min(50, a!.bounds.firstBurst) : 50
        for (let i = 0; i < burst && sent < total; i++, sent++) a!.send(b!.address, Uint8Array.of(sent >> 8, sent & 0xff, 0xaa))
        t.true(await w.until(() => got.length >= sent), `only ${got.length} of ${sent} arrived`)
      }
      await w.settle()
      const seen = got.map((r) => (r.bytes[0]! << 8) | r.bytes[1]!).sort((x, y) => x - y)
      t.deepEqual(seen, [...Array(total).keys()])
      t.true(got.every((r) => r.from === a!.address && r.bytes.length === 3 && r.bytes[2] === 0xaa))
    })()
  })

  test(`${name}: a new handler replaces the old one, also for datagrams already in flight`, async (t) => {
    await world(2, async (w, a, b) => {
      const first: number[] = []
      const second: number[] = []
      b!.onReceive((bytes) => first.push(bytes[0]!))
      a!.send(b!.address, Uint8Array.of(1))
      t.true(await w.until(() => first.length >= 1))
      a!.send(b!.address, Uint8Array.of(2))
      b!.onReceive((bytes) => second.push(bytes[0]!))
      a!.send(b!.address, Uint8Array.of(3))
      t.true(await w.until(() => second.length >= 2))
      await w.settle()
      t.deepEqual(first, [1])
      t.deepEqual(second.sort(), [2, 3])
    })()
  })

  test(`${name}: the sender may reuse its buffer as soon as send returns`, async (t) => {
    await world(2, async (w, a, b) => {
      const got = collect(b!)
      const buf = pattern(64, 3)
      a!.send(b!.address, buf)
      buf.fill(0)
      t.true(await w.until(() => got.length >= 1))
      t.deepEqual(got[0]!.bytes, pattern(64, 3))
    })()
  })
}
