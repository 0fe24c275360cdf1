import test from 'ava'
import { whatIfOptions } from '../../../actors/viz/server.js'

test('a what-if request becomes simulator options, faults and timer settings included', (t) => {
  t.deepEqual(
    whatIfOptions({ nodes: 12, seed: 2, hbMs: 500, untilHb: 40, partition: { atHb: 10, groups: 2, healHb: 20 }, dropLink: { atHb: 5, a: 0, b: 3, healHb: 9 }, crash: { atHb: 7, fraction: 0.25 }, probeEveryHb: 2, memberLapseHb: 4 }),
    { nodes: 12, seed: 2, hbMs: 500, untilHb: 40, partition: { atHb: 10, groups: 2, healHb: 20 }, dropLink: { atHb: 5, a: 0, b: 3, healHb: 9 }, crash: { atHb: 7, fraction: 0.25 }, config: { probeEveryHb: 2, memberLapseHb: 4 } },
  )
})

test('a what-if request outside the bounds is refused, naming the field', (t) => {
  t.throws(() => whatIfOptions({ nodes: 5000, seed: 1 }), { message: /^nodes must be an integer in \[1, 300\]/ })
  t.throws(() => whatIfOptions({ nodes: 5, seed: 1, partition: { atHb: 10, groups: 2, healHb: 5 } }), { message: /healHb must come after/ })
  t.throws(() => whatIfOptions({ nodes: 5, seed: 1, dropLink: { atHb: 3, a: 0, b: 9 } }), { message: /^dropLink\.b must be an integer in \[0, 4\]/ })
  t.throws(() => whatIfOptions({ nodes: 5, seed: 1, dropLink: { atHb: 3, a: 2, b: 2 } }), { message: /two different nodes/ })
  t.throws(() => whatIfOptions({ nodes: 5, seed: 1, memberLapseHb: 0 }), { message: /^memberLapseHb must be a number/ })
  t.throws(() => whatIfOptions('nodes=5'), { message: /JSON object/ })
  t.throws(() => whatIfOptions({ nodes: 5, seed: 1, services: 11 }), { message: /^services must be an integer in \[0, 10\]/ })
  t.throws(() => whatIfOptions({ nodes: 5, seed: 1, crashMemberAtHb: 0 }), { message: /^crashMemberAtHb must be an integer in \[1, 400\]/ })
})

test('a what-if may run every node\'s strew machines and crash a member', (t) => {
  t.deepEqual(whatIfOptions({ nodes: 6, seed: 3, services: 2, crashMemberAtHb: 20 }), { nodes: 6, seed: 3, hbMs: 1000, untilHb: 60, services: 2, crashMemberAtHb: 20 })
  t.deepEqual(whatIfOptions({ nodes: 6, seed: 3, services: 0 }), { nodes: 6, seed: 3, hbMs: 1000, untilHb: 60 }, 'no services: the flock alone')
})

test('the live explanation of a node the feed never named is a 404 naming it; without a beacon there is none', async (t) => {
  const { startVizServer } = await import('../../../actors/viz/server.js')
  const live = await startVizServer({ host: '127.77.131.1', port: 0, beacon: { address: '127.77.131.2:28351', secret: new Uint8Array(32).fill(7), stableMs: 1000, ask: ['127.77.131.3:23123'] } })
  t.teardown(() => live.close())
  const r = await fetch(`${live.url}api/live/node?id=nobody`)
  t.is(r.status, 404)
  t.deepEqual(await r.json(), { error: 'no node "nobody" in the live feed' })
  const still = await startVizServer({ host: '127.77.131.1', port: 0 })
  t.teardown(() => still.close())
  const s = await fetch(`${still.url}api/live/node?id=x`)
  t.is(s.status, 404)
  t.regex(((await s.json()) as { error: string }).error, /^no beacon/)
})
