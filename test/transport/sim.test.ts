import test from 'ava'
import { AddressInUseError } from '../../runtime/errors.js'
import { type Faults, SimNetwork } from '../../runtime/sim-network.js'
import type { Transport } from '../../runtime/transport.js'
import { transportConformance, virtualTime } from './conformance.js'

function simHarness(seed: number, faults: Partial<Faults>) {
  return {
    async create(n: number) {
      const net = new SimNetwork({ seed, faults })
      const endpoints: Transport[] = Array.from({ length: n }, (_, i) => net.endpoint(`sim-${i}`))
      return {
        endpoints,
        unknownAddress: 'sim-nobody',
        ...virtualTime(net.clock),
        teardown: async () => {
          await Promise.all(endpoints.map((e) => e.close()))
        },
      }
    },
  }
}

transportConformance('sim (defaults)', simHarness(1, {}))
// Faults that lose nothing: jitter and reordering must not break any promise the suite checks.
transportConformance('sim (jitter + reorder)', simHarness(2, { delay: [0, 25], reorder: 0.3, reorderDelay: [1, 40] }))

test('sim: an address is held until its endpoint closes', async (t) => {
  const net = new SimNetwork({ seed: 1 })
  const a = net.endpoint('a')
  t.throws(() => net.endpoint('a'), { instanceOf: AddressInUseError })
  await a.close()
  t.is(net.endpoint('a').address, 'a')
})
