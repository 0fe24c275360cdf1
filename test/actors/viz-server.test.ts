import test from 'ava'
import { whatIfOptions } from '../../actors/viz-server.js'

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
})
