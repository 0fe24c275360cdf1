import test from 'ava'
import type { HostEvent } from '../../machines/effects.js'
import { createRouter, type RoadPort } from '../../runtime/router.js'

function fixture() {
  const seen: string[] = []
  const grpc: RoadPort = {
    call: (hp, name, e, from) => void seen.push(`grpc ${hp} ${name} ${e.type} ${from}`),
    reply: (id, e) => void seen.push(`reply ${id} ${e.type}`),
  }
  const router = createRouter({ udp: (to, e, from) => void seen.push(`udp ${to} ${e.type} ${from}`), grpc, ports: { health: (e, from) => void seen.push(`port health ${e.type} ${from}`) } })
  return { seen, router }
}

const ev: HostEvent = { type: 'x.y' }

test('each address kind goes to its carrier', (t) => {
  const { seen, router } = fixture()
  router.outbound('10.0.0.1:7000', ev, 'n/flock', 'data', undefined)
  router.outbound('grpc://[::1]:5/steward', ev, 'n/reeve', 'data', undefined)
  router.outbound('reply:4', ev, 'n/steward', 'data', undefined)
  router.outbound('port:health', ev, 'n/reeve', 'data', undefined)
  t.deepEqual(seen, ['udp 10.0.0.1:7000 x.y n/flock', 'grpc [::1]:5 steward x.y n/reeve', 'reply 4 x.y', 'port health x.y n/reeve'])
  t.like(router.counters, { udp: 1, grpc: 1, reply: 1, port: 1, dropped: {} })
})

test('what cannot go anywhere is dropped and counted by reason, never thrown', (t) => {
  const { seen, router } = fixture()
  router.outbound('nonsense', ev, 'n/a', 'data', undefined)
  router.outbound('grpc://x/steward', ev, 'n/a', 'data', undefined)
  router.outbound('other/actor', ev, 'n/a', 'data', undefined)
  router.outbound('port:nope', ev, 'n/a', 'data', undefined)
  router.port('boom', () => {
    throw new Error('boom')
  })
  router.outbound('port:boom', ev, 'n/a', 'data', undefined)
  t.deepEqual(seen, [])
  t.deepEqual(router.counters.dropped, { unparseable: 2, 'no-actor': 1, 'no-port': 1, 'port-failed': 1 })
  const bare = createRouter({})
  bare.outbound('1.2.3.4:5', ev, 'n/a', 'data', undefined)
  bare.outbound('grpc://1.2.3.4:5/x', ev, 'n/a', 'data', undefined)
  bare.outbound('reply:1', ev, 'n/a', 'data', undefined)
  t.deepEqual(bare.counters.dropped, { 'no-udp': 1, 'no-grpc': 2 })
})
