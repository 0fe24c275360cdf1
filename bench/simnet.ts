/**
 * SimNetwork throughput: N endpoints, each sending one packet to a random peer every virtual
 * millisecond, with loss, duplication, reordering and a delay range on; the clock advances 1 ms
 * per round so deliveries interleave with sends as in a real simulation (a few thousand packets in
 * flight, not millions). Counts every send; the time includes delivery to a handler.
 *
 *   npm run bench -- simnet [--packets N] [--nodes N] [--payload BYTES] [--seed S]
 */
import { SimNetwork } from '../runtime/sim-network.js'
import { Rng } from '../runtime/rng.js'
import type { Faults } from '../runtime/sim-faults.js'

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = Number(args[i + 1])
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
  return v
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const packets = flag(args, 'packets', 2_000_000)
  const nodes = flag(args, 'nodes', 1_000)
  const payload = flag(args, 'payload', 100)
  const seed = flag(args, 'seed', 1)
  const faults: Faults = { loss: 0.05, duplicate: 0.02, reorder: 0.05, delay: [1, 20], reorderDelay: [1, 10] }

  const net = new SimNetwork({ seed, faults })
  const addresses = Array.from({ length: nodes }, (_, i) => `node-${i}`)
  const endpoints = addresses.map((a) => net.endpoint(a))
  let received = 0
  const onPacket = (): void => {
    received++
  }
  for (const ep of endpoints) ep.onReceive(onPacket)
  const traffic = new Rng(seed + 1) // picks destinations; separate from the network's fate stream
  const bytes = new Uint8Array(payload).fill(7)

  const t0 = performance.now()
  let sent = 0
  while (sent < packets) {
    const round = Math.min(nodes, packets - sent)
    for (let i = 0; i < round; i++) endpoints[i]!.send(addresses[traffic.int(nodes)]!, bytes)
    sent += round
    net.clock.advance(1)
  }
  net.clock.runAll()
  const wall = (performance.now() - t0) / 1000

  const s = net.stats()
  if (received !== s.delivered) throw new Error(`handlers saw ${received} packets, stats say ${s.delivered}`)
  return {
    packets: s.sent,
    packets_per_s: Math.round(s.sent / wall),
    delivered: s.delivered,
    dropped: s.dropped.total,
    duplicated: s.duplicated,
    reordered: s.reordered,
    wall_s: Number(wall.toFixed(3)),
    nodes,
    payload_bytes: payload,
    faults,
  }
}
