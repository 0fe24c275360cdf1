/**
 * What each timer does (original-crux.md §1.6, changes in docs/PROTOCOL.md), one behaviour per test,
 * on virtual time: the handlers in machines/flock/ticks.ts are called with an explicit `now`. Every
 * periodic handler re-arms its own timer, asserted as a `timer.set` effect.
 */
import test from 'ava'
import fc from 'fast-check'
import type { Effect } from '../../machines/effects.js'
import { VOTE_MAX } from '../../machines/flock/constants.js'
import { remember } from '../../machines/flock/context.js'
import { keepKnown } from '../../machines/flock/known.js'
import { digestOf } from '../../machines/flock/member-list.js'
import { receive } from '../../machines/flock/receive.js'
import { onCheckpoint, onHeartbeat, onKeyPeriod, onProbe, onPrune, onRebootDone } from '../../machines/flock/ticks.js'
import type { FlockContext, Info } from '../../machines/flock/types.js'
import {
  emits,
  HB,
  info,
  infoSends,
  leaderCtx,
  leaderWith,
  memberCtx,
  mon,
  monOps,
  node,
  OUR_FLOCK,
  persists,
  SELF,
  sends,
  sentInfo,
  suspectCount,
  timers,
} from '../fixtures/flock-fixtures.js'

const L = node('L')
const SMALLER_FLOCK = '!small'

// ---- hb on a member ----

test('hb (member): beats to its leader and re-arms hb', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 3 * HB })
  const out: Effect[] = []
  t.is(onHeartbeat(ctx, 2 * HB, out), 'beat')
  t.deepEqual(infoSends(out), [['addr-L', 'beat']])
  t.like(sentInfo(out, 'addr-L'), { flock: OUR_FLOCK, leader: L, vote: 300, lvote: 700, sent: 2 * HB })
  t.deepEqual(timers(out), [{ name: 'hb', ms: HB }])
  t.deepEqual(monOps(out), [])
})

test('hb (member): a member sends no list version or digest (only a leader does)', (t) => {
  const ctx = memberCtx(L)
  const out: Effect[] = []
  onHeartbeat(ctx, HB, out)
  t.like(sentInfo(out, 'addr-L'), { listVersion: 0, listDigest: '', n: 0 })
})

test('hb (member): the leader is still followed exactly at leaderExpires, though suspected', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 3 * HB, leaderSuspect: 2 * HB })
  t.is(onHeartbeat(ctx, 3 * HB, []), 'suspect-leader')
  t.deepEqual(ctx.leader, L)
})

test('hb (member): a leader silent for 2 HB is suspected: checked directly and through 3 other members', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 3 * HB, list: leaderWith(['L', 'a', 'b', 'c', 'd']).list })
  const out: Effect[] = []
  t.is(onHeartbeat(ctx, 2 * HB + 1, out), 'suspect-leader')
  t.is(ctx.leaderSuspect, 2 * HB + 1)
  const sent = infoSends(out)
  t.deepEqual(sent.slice(0, 2), [['addr-L', 'beat'], ['addr-L', 'check']])
  const helpers = sent.slice(2)
  t.is(helpers.length, 3)
  for (const [to, kind] of helpers) {
    t.is(kind, 'check')
    t.true(['addr-a', 'addr-b', 'addr-c', 'addr-d'].includes(to))
    t.is(sentInfo(out, to)!.dest.id, 'L') // the helper is asked about the leader, not about itself
  }
})

test('hb (member): a suspected leader is given up only once the suspicion window has passed', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 3 * HB, leaderSuspect: 2.5 * HB })
  t.is(onHeartbeat(ctx, 3 * HB + 1, []), 'suspect-leader') // expired, but suspected only ½ HB
  t.is(onHeartbeat(ctx, 3.5 * HB, []), 'leader-expired')
})

test('hb (member): the window widens with the loss the member observes (Lifeguard)', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 3 * HB, leaderSuspect: 2.5 * HB, lossSums: { got: 80, missed: 20 } }) // 20 %: window 5 HB
  t.is(onHeartbeat(ctx, 7 * HB, []), 'suspect-leader')
  t.is(onHeartbeat(ctx, 7.5 * HB, []), 'leader-expired')
})

test('hb (member): loss is judged from the gaps between check-ins, not from a dead leader\'s silence', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 3 * HB, lossSums: { got: 0, missed: 0 } })
  const checkIn = (at: number) => receive(ctx, info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, sent: at }), at, [])
  checkIn(1 * HB)
  checkIn(2 * HB)
  checkIn(4 * HB) // one check-in lost on the way
  onHeartbeat(ctx, 4.5 * HB, [])
  t.true(Math.abs(ctx.loss - 1 / 3) < 1e-9, String(ctx.loss)) // 1 missed of 3
  onHeartbeat(ctx, 5.5 * HB, []) // nothing arrived: no sample, the estimate stands
  t.true(Math.abs(ctx.loss - 1 / 3) < 1e-9)
})

test('hb (member): the check-in that carries its leader\'s promotion (rule 10) counts for the loss estimate', (t) => {
  // Uncounted, the next check-in came 2 HB after the last counted one and read as a lost one at every
  // member of a flock whose leader was just promoted: the window widened to ~3 HB for the next ~12 HB.
  const ctx = memberCtx(L, { leaderExpires: 3 * HB, lossSums: { got: 0, missed: 0 } })
  const checkIn = (at: number, vote: number) => receive(ctx, info({ me: L, leader: L, kind: 'leader-beat', vote, lvote: vote, sent: at }), at, [])
  t.is(checkIn(1 * HB, 700), 'leader-check-in')
  t.is(checkIn(2 * HB, 700), 'leader-check-in')
  t.is(checkIn(3 * HB, VOTE_MAX), 'higher-vote') // promoted after 6 HB of leadership
  t.is(checkIn(4 * HB, VOTE_MAX), 'leader-check-in')
  onHeartbeat(ctx, 4.5 * HB, [])
  t.is(ctx.loss, 0) // 3 arrivals, none missed
  t.is(ctx.checkInAt, 4 * HB)
})

test('hb (member): leader expiry → start over (new flock, leads itself, LeaderStart, Epoch, checkpoint)', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 3 * HB, leaderSuspect: 2 * HB, list: leaderWith(['x']).list })
  const out: Effect[] = []
  t.is(onHeartbeat(ctx, 3 * HB + 1, out), 'leader-expired')
  t.not(ctx.flock, OUR_FLOCK)
  t.regex(ctx.flock, /^_\w+_\w+$/)
  t.deepEqual(ctx.leader, ctx.me)
  t.is(ctx.lvote, ctx.vote)
  t.true(ctx.vote >= 1 && ctx.vote < VOTE_MAX)
  t.is(ctx.promotedAt, 3 * HB + 1)
  t.is(ctx.leaderExpires, 3 * HB + 1 + 2 * HB)
  t.deepEqual(Object.keys(ctx.list.entries), [SELF])
  t.is(ctx.stats.startOvers, 1)
  t.like(mon(out, 'LeaderStart'), { flock: ctx.flock, oflock: OUR_FLOCK, n: 0, cause: 'leader-expired' })
  t.deepEqual(emits(out, 'Epoch'), [{ type: 'Epoch', epoch: ctx.epoch, flock: ctx.flock }])
  t.like(persists(out)[0], { key: 'checkpoint', value: { id: SELF, flock: ctx.flock, leader: null } })
  // Leading again arms prune; a probe round comes within ¼ HB, to find the old flock's members.
  const [hbT, prune, probe] = timers(out)
  t.deepEqual([hbT, prune], [{ name: 'hb', ms: HB }, { name: 'prune', ms: ctx.cfg.pruneEveryHb * HB }])
  t.is(probe!.name, 'probe')
  t.true(probe!.ms >= 1 && probe!.ms <= HB / 4)
})

test('hb (member): start-over keeps the lost list as known peers, and the old leader as lost', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 3 * HB, leaderSuspect: 2 * HB, list: leaderWith(['L', 'x', 'y']).list })
  onHeartbeat(ctx, 3 * HB + 1, [])
  t.deepEqual(Object.keys(ctx.known).sort(), ['L', 'x', 'y'])
  t.deepEqual(ctx.lost, { id: 'L', until: 3 * HB + 1 + 10 * HB })
  // Its next probe round goes to them (the old leader included: it may be back).
  const out: Effect[] = []
  onProbe(ctx, 3 * HB + 2, out)
  t.deepEqual(infoSends(out).map(([a]) => a).sort(), ['addr-L', 'addr-x', 'addr-y'])
})

test('hb (member): leader expiry reminds the old leader with a ping carrying the new flock', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 0, leaderSuspect: -HB })
  const out: Effect[] = []
  onHeartbeat(ctx, 1, out)
  t.deepEqual(infoSends(out), [['addr-L', 'ping']])
  t.like(sentInfo(out, 'addr-L'), { flock: ctx.flock, leader: ctx.me })
})

test('hb (member): a visitor that starts over draws vote 1', (t) => {
  const ctx = memberCtx(L, { leaderExpires: 0, leaderSuspect: -HB }, { visitor: true })
  onHeartbeat(ctx, 1, [])
  t.is(ctx.vote, 1)
  t.is(ctx.lvote, 1)
})

// ---- hb on a leader ----

test('hb (leader): the first heartbeat after taking over starts the promotion clock', (t) => {
  const ctx = leaderCtx({ promotedAt: null })
  onHeartbeat(ctx, 5 * HB, [])
  t.is(ctx.promotedAt, 5 * HB)
})

test('hb (leader): not promoted 1 ms before promotedAt + 6 HB', (t) => {
  const ctx = leaderWith(['a'], 0, { promotedAt: HB })
  onHeartbeat(ctx, 7 * HB - 1, [])
  t.is(ctx.vote, 500)
  t.is(ctx.lvote, 500)
})

test('hb (leader): promoted to VOTE_MAX exactly at promotedAt + 6 HB', (t) => {
  const ctx = leaderWith(['a'], 0, { promotedAt: HB })
  const out: Effect[] = []
  onHeartbeat(ctx, 7 * HB, out)
  t.is(ctx.vote, VOTE_MAX)
  t.is(ctx.lvote, VOTE_MAX)
  t.like(sentInfo(out, 'addr-a'), { vote: VOTE_MAX, lvote: VOTE_MAX })
})

test('hb (leader): a lone leader is promoted too (the check precedes the members test)', (t) => {
  const ctx = leaderCtx({ promotedAt: 0 })
  onHeartbeat(ctx, 6 * HB, [])
  t.is(ctx.vote, VOTE_MAX)
})

test('hb (leader): alone, LeaderHeart (n 0) every heartbeat and nothing sent', (t) => {
  const ctx = leaderCtx()
  for (let k = 1; k <= 3; k++) {
    const out: Effect[] = []
    t.is(onHeartbeat(ctx, k * HB, out), 'lead')
    t.like(mon(out, 'LeaderHeart'), { n: 0, t: k * HB, leader: SELF })
    t.deepEqual(sends(out), [])
    t.deepEqual(timers(out), [{ name: 'hb', ms: HB }])
  }
})

test('hb (leader): one leader-beat packet to every member with list version, digest and size', (t) => {
  const ctx = leaderWith(['a', 'b'])
  const out: Effect[] = []
  onHeartbeat(ctx, HB, out)
  t.deepEqual(infoSends(out), [
    ['addr-a', 'leader-beat'],
    ['addr-b', 'leader-beat'],
  ])
  const sends = out.filter((e) => e.type === 'send')
  t.is(sends[0]!.event, sends[1]!.event, 'the same event object, so the runtime encodes it once')
  for (const id of ['a', 'b']) {
    const i = sentInfo(out, `addr-${id}`)!
    t.deepEqual(i.dest, { id: '', addr: '', horde: '' }) // a check-in carries no horde instruction
    t.like(i, { me: ctx.me, leader: ctx.me, flock: OUR_FLOCK, listVersion: 3, listDigest: digestOf(ctx.list), n: 3, sent: HB })
  }
  t.like(mon(out, 'LeaderHeart'), { n: 2 })
  t.deepEqual(timers(out), [{ name: 'hb', ms: HB }])
})

test('hb (leader): no epoch rotation without the key timer', (t) => {
  const ctx = leaderWith(['a'])
  const out: Effect[] = []
  onHeartbeat(ctx, HB, out)
  t.is(ctx.epoch, 'e0')
  t.deepEqual(emits(out, 'Epoch'), [])
})

test('hb (leader): after `key` fired, the next heartbeat rotates the epoch (Epoch record, beats carry it)', (t) => {
  const ctx = leaderWith(['a'])
  onKeyPeriod(ctx, [])
  const out: Effect[] = []
  onHeartbeat(ctx, HB, out)
  t.not(ctx.epoch, 'e0')
  t.false(ctx.rotate)
  t.deepEqual(emits(out, 'Epoch'), [{ type: 'Epoch', epoch: ctx.epoch, flock: OUR_FLOCK }])
  t.is(sentInfo(out, 'addr-a')!.epoch, ctx.epoch)
  const again: Effect[] = []
  const epoch = ctx.epoch
  onHeartbeat(ctx, 2 * HB, again)
  t.is(ctx.epoch, epoch, 'rotates once per key period')
})

test('hb (leader): a lone leader defers the rotation until it has members', (t) => {
  const ctx = leaderCtx()
  onKeyPeriod(ctx, [])
  onHeartbeat(ctx, HB, [])
  t.is(ctx.epoch, 'e0')
  t.true(ctx.rotate)
})

// ---- probe ----

function probeCtx(seed: number) {
  const seeds = ['addr-self', 'addr-m1', 'addr-m2', ...Array.from({ length: 30 }, (_, k) => `s${k}`)]
  // A flock settled long ago: its leader probes at the normal rate.
  const ctx = leaderWith(['m1', 'm2'], 0, { promotedAt: -1000 * HB, listChangedAt: -1000 * HB })
  ctx.probe = { seeds, ranges: [], density: 1 }
  ctx.rng = leaderCtx({}, { seed }).rng
  for (const id of ['h1', 'h2', 'h3', 'm1']) remember(ctx, node(id))
  return ctx
}

test('probe: a round of ≤ probeN distinct probes, Probe MonInfo with the count, re-arms probe', (t) => {
  const ctx = probeCtx(1)
  const out: Effect[] = []
  const n = onProbe(ctx, 3 * HB, out)
  const to = infoSends(out)
  t.true(n > 0 && n <= ctx.cfg.probeN)
  t.is(to.length, n)
  t.is(new Set(to.map(([a]) => a)).size, n)
  t.true(to.every(([, kind]) => kind === 'probe'))
  t.like(mon(out, 'Probe'), { n })
  t.is(ctx.lastProbe, 3 * HB)
  t.deepEqual(timers(out), [{ name: 'probe', ms: ctx.cfg.probeEveryHb * HB }])
})

test('probe: the address stands in for the unknown moniker', (t) => {
  const ctx = probeCtx(1)
  const out: Effect[] = []
  onProbe(ctx, 0, out)
  for (const s of sends(out)) t.deepEqual((s.event.info as Info).dest, { id: s.to, addr: s.to, horde: '' })
})

test('probe: at least one probe goes to a history node that is not a member', (t) => {
  for (let seed = 1; seed <= 50; seed++) {
    const out: Effect[] = []
    onProbe(probeCtx(seed), 0, out)
    const to = infoSends(out).map(([a]) => a)
    t.true(
      to.some((a) => ['addr-h1', 'addr-h2', 'addr-h3'].includes(a)),
      `seed ${seed}: ${to.join(' ')}`,
    )
  }
})

test('probe: never probes ourselves or a member (from history or the seeds)', (t) => {
  for (let seed = 1; seed <= 50; seed++) {
    const out: Effect[] = []
    onProbe(probeCtx(seed), 0, out)
    const to = infoSends(out).map(([a]) => a)
    t.false(to.includes('addr-self'))
    t.false(to.includes('addr-m1'))
    t.false(to.includes('addr-m2'))
  }
})

test('probe: a member (non-stable flock) probes, but never its leader', (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const ctx = memberCtx(L, {}, { seed })
    ctx.probe = { seeds: ['addr-L', 's1', 's2', 's3'], ranges: [], density: 1 }
    remember(ctx, L)
    const out: Effect[] = []
    onProbe(ctx, 0, out)
    const to = infoSends(out).map(([a]) => a)
    t.true(to.length > 0)
    t.false(to.includes('addr-L'), `seed ${seed}: ${to.join(' ')}`)
  }
})

test('probe: probeN = 1 takes no history slot (original: n ≤ 1 → nh = 0)', (t) => {
  const ctx = probeCtx(3)
  ctx.cfg = { ...ctx.cfg, probeN: 1 }
  ctx.probe = { seeds: ['s0'], ranges: [], density: 1 }
  const out: Effect[] = []
  onProbe(ctx, 0, out)
  t.deepEqual(infoSends(out), [['s0', 'probe']])
})

test('probe: a member of a stable flock does not probe by default (memberProbeEveryHb 0), but re-arms', (t) => {
  const ctx = memberCtx(L, { lvote: VOTE_MAX, listChangedAt: -100 * HB })
  ctx.probe = { seeds: ['s1', 's2'], ranges: [], density: 1 }
  remember(ctx, node('h1'))
  const out: Effect[] = []
  t.is(onProbe(ctx, 3 * HB, out), 0)
  t.deepEqual(sends(out), [])
  t.deepEqual(monOps(out), [])
  t.is(ctx.lastProbe, null)
  t.deepEqual(timers(out), [{ name: 'probe', ms: ctx.cfg.probeEveryHb * HB }])
})

test('probe: with memberProbeEveryHb = 5 a stable member probes at most every 5 HB', (t) => {
  const ctx = memberCtx(L, { lvote: VOTE_MAX, listChangedAt: -100 * HB }, { config: { hbMs: HB, memberProbeEveryHb: 5 } })
  ctx.probe = { seeds: ['s1', 's2'], ranges: [], density: 1 }
  t.true(onProbe(ctx, 3 * HB, []) > 0)
  t.is(onProbe(ctx, 6 * HB, []), 0)
  t.true(onProbe(ctx, 8 * HB, []) > 0)
})

test('probe: a member of a stable flock whose list changed lately still probes (other flocks are likely near)', (t) => {
  const ctx = memberCtx(L, { lvote: VOTE_MAX, listChangedAt: 0 })
  ctx.probe = { seeds: ['s1', 's2'], ranges: [], density: 1 }
  t.true(onProbe(ctx, (ctx.cfg.youngFlockHb - 1) * HB, []) > 0)
  t.is(onProbe(ctx, ctx.cfg.youngFlockHb * HB, []), 0)
})

test('probe: a leader alone since lately, or whose list changed lately, probes twice the slots every HB, then falls back to the normal rate', (t) => {
  const ctx = leaderCtx({ promotedAt: 0, listChangedAt: 0 })
  ctx.probe = { seeds: Array.from({ length: 40 }, (_, k) => `s${k}`), ranges: [], density: 1 }
  const out: Effect[] = []
  t.is(onProbe(ctx, HB, out), 2 * ctx.cfg.probeN)
  t.deepEqual(timers(out), [{ name: 'probe', ms: HB }])
  const later: Effect[] = []
  t.is(onProbe(ctx, 2 * ctx.cfg.youngFlockHb * HB, later), ctx.cfg.probeN)
  t.deepEqual(timers(later), [{ name: 'probe', ms: ctx.cfg.probeEveryHb * HB }])
  // A member joins: the flock is young again.
  receive(ctx, info({ kind: 'beat', me: node('a'), leader: node(SELF), vote: 1, lvote: 500 }), 70 * HB, [])
  t.deepEqual(timers(probeAt(ctx, 71 * HB)), [{ name: 'probe', ms: HB }])
})

function probeAt(ctx: FlockContext, at: number): Effect[] {
  const out: Effect[] = []
  onProbe(ctx, at, out)
  return out
}

test('probe: known peers not with us are probed, each with its own doubling backoff', (t) => {
  const ctx = leaderWith(['m1'], 0, { promotedAt: -1000 * HB, listChangedAt: -1000 * HB })
  keepKnown(ctx, node('k1'), 0)
  keepKnown(ctx, node('m1'), 0) // a known peer that is with us is skipped
  const probed = (at: number): string[] => {
    const out: Effect[] = []
    onProbe(ctx, at, out)
    return infoSends(out).map(([a]) => a)
  }
  t.deepEqual(probed(0), ['addr-k1'])
  t.deepEqual(probed(3 * HB - 1), []) // next after 3 HB (one probe period)
  t.deepEqual(probed(3 * HB), ['addr-k1'])
  t.deepEqual(probed(8 * HB), []) // then 6 HB
  t.deepEqual(probed(9 * HB), ['addr-k1'])
  // It answers (any packet): the backoff starts over.
  receive(ctx, info({ me: node('k1'), flock: SMALLER_FLOCK }), 10 * HB, [])
  t.deepEqual(probed(10 * HB), ['addr-k1'])
})

test('probe: a known peer not heard for knownForgetHb is forgotten', (t) => {
  const ctx = leaderWith(['m1'], 0, { promotedAt: -1000 * HB, listChangedAt: -1000 * HB })
  keepKnown(ctx, node('k1'), 0)
  const out: Effect[] = []
  onProbe(ctx, (ctx.cfg.knownForgetHb + 1) * HB, out)
  t.deepEqual(infoSends(out), [])
  t.false('k1' in ctx.known)
  t.deepEqual(ctx.knownOrder, [])
})

test('probe: property — any history, members and seeds: distinct, ≤ probeN, skips self/members/leader, ≥ 1 from history', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.integer({ min: 2, max: 20 }),
      fc.integer({ min: 0, max: 10 }),
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 30 }),
      (seed, probeN, nHist, nMem, nSeeds) => {
        const mems = Array.from({ length: nMem }, (_, k) => `m${k}`)
        const ctx = leaderWith(mems, 0, { promotedAt: -1000 * HB, listChangedAt: -1000 * HB })
        ctx.cfg = { ...ctx.cfg, probeN }
        ctx.rng = leaderCtx({}, { seed }).rng
        ctx.probe = { seeds: ['addr-self', ...mems.map((m) => `addr-${m}`), ...Array.from({ length: nSeeds }, (_, k) => `s${k}`)], ranges: [], density: 1 }
        for (const m of mems) remember(ctx, node(m))
        const hist = Array.from({ length: nHist }, (_, k) => `h${k}`)
        for (const h of hist) remember(ctx, node(h))
        const out: Effect[] = []
        const n = onProbe(ctx, 0, out)
        const to = infoSends(out).map(([a]) => a)
        if (to.length !== n || n > probeN || new Set(to).size !== n) return false
        if (to.some((a) => a === 'addr-self' || mems.some((m) => a === `addr-${m}`))) return false
        if (nHist > 0 && !to.some((a) => hist.some((h) => a === `addr-${h}`))) return false
        return true
      },
    ),
    { numRuns: 300 },
  )
  t.pass()
})

// ---- prune: suspicion before removal ----

/** Two prune ticks: the first suspects, the second (a clean network's window later) confirms. */
function pruneTwice(ctx: FlockContext, at: number, out: Effect[] = []): string {
  onPrune(ctx, at, [])
  return onPrune(ctx, at + ctx.cfg.suspicionHb * HB, out)
}

test('prune: a member silent past its lapse is suspected, not removed, and checked directly and through 3 helpers', (t) => {
  const ctx = leaderWith(['a', 'b', 'c', 'd', 'e'], 0) // all lapse at 3 HB
  for (const id of ['b', 'c', 'd', 'e']) receive(ctx, info({ kind: 'beat', me: node(id), leader: node(SELF), vote: 1, lvote: 500 }), 2 * HB, [])
  const out: Effect[] = []
  t.is(onPrune(ctx, 3 * HB + 1, out), 'suspect-member')
  t.is(ctx.mems['a']!.suspect, 3 * HB) // since it lapsed, not since the tick noticed
  t.is(ctx.memCount, 5)
  t.is(suspectCount(ctx), 1)
  const sent = infoSends(out)
  t.deepEqual(sent[0], ['addr-a', 'check'])
  t.is(sent.length, 4)
  for (const [to, kind] of sent.slice(1)) {
    t.is(kind, 'check')
    t.not(to, 'addr-a')
    t.is(sentInfo(out, to)!.dest.id, 'a')
  }
  t.deepEqual(monOps(out), [])
})

test('prune: a suspect silent for the whole window is removed (mems, memByAddr, memCount, list)', (t) => {
  const ctx = leaderWith(['a', 'b'], 0) // both lapse at 3 HB
  receive(ctx, info({ kind: 'beat', me: node('b'), leader: node(SELF), vote: 1, lvote: 500 }), 3 * HB, []) // b refreshed
  t.is(pruneTwice(ctx, 3 * HB + 1), 'suspicion-confirmed')
  t.deepEqual(Object.keys(ctx.mems), ['b'])
  t.deepEqual(ctx.memByAddr, { 'addr-b': 'b' })
  t.is(ctx.memCount, 1)
  t.is(suspectCount(ctx), 0)
  t.deepEqual(Object.keys(ctx.list.entries).sort(), ['b', SELF])
  t.true(ctx.known['a'] !== undefined) // removed from the list, still a known peer
})

test('prune: a suspect is kept until the window is over', (t) => {
  const ctx = leaderWith(['a'], 0)
  onPrune(ctx, 3 * HB + 1, [])
  t.is(onPrune(ctx, 3 * HB + HB / 2, []), 'prune')
  t.is(ctx.memCount, 1)
})

test('prune: the window widens with the loss the leader observes (Lifeguard)', (t) => {
  const ctx = leaderWith(['a'], 0, { loss: 0.2, lossSums: { got: 80, missed: 20 } }) // 1 + 20 × 0.2 = 5 HB
  onPrune(ctx, 3 * HB + 1, [])
  onPrune(ctx, 7 * HB, [])
  t.is(ctx.memCount, 1)
  onPrune(ctx, 8 * HB + 1, [])
  t.is(ctx.memCount, 0)
})

test('prune: loss is judged from the gaps between one member\'s beats', (t) => {
  const ctx = leaderWith(['a', 'b'], 0)
  const beat = (id: string, at: number) => receive(ctx, info({ kind: 'beat', me: node(id), leader: node(SELF), vote: 1, lvote: 500, sent: at }), at, [])
  beat('a', 1 * HB) // 0.75 HB after its last (leaderWith's beat at 0 set a lapse of 3 HB: taken as heard at 0.75 HB)
  beat('a', 3 * HB) // one beat lost
  beat('b', 2 * HB)
  onHeartbeat(ctx, 3.5 * HB, [])
  t.true(ctx.loss > 0 && ctx.loss < 0.2, String(ctx.loss))
})

test('prune: a removal bumps the list version and is logged for deltas', (t) => {
  const ctx = leaderWith(['a', 'b'], 0)
  ctx.mems['b']!.expires = 10 * HB
  pruneTwice(ctx, 4 * HB)
  t.is(ctx.list.version, 4)
  t.deepEqual(ctx.changes.at(-1), { version: 4, op: 'remove', entry: { id: 'a', addr: 'addr-a', horde: '' } })
})

test('prune: LeaderDelta with the remaining member count; re-arms prune', (t) => {
  const ctx = leaderWith(['a', 'b'], 0)
  ctx.mems['b']!.expires = 10 * HB
  const out: Effect[] = []
  pruneTwice(ctx, 4 * HB, out)
  t.deepEqual(monOps(out), ['LeaderDelta'])
  t.like(mon(out, 'LeaderDelta'), { n: 1, t: 5 * HB })
  // re-armed, and the list changed: the next check-in is brought forward to ¼ HB
  t.deepEqual(timers(out), [{ name: 'prune', ms: ctx.cfg.pruneEveryHb * HB }, { name: 'hb', ms: HB / 4 }])
})

test('prune: a member exactly at its expiry is kept; nothing removed → no LeaderDelta, no version bump', (t) => {
  const ctx = leaderWith(['a'], 0)
  const out: Effect[] = []
  t.is(onPrune(ctx, 3 * HB, out), 'prune')
  t.is(ctx.memCount, 1)
  t.is(ctx.list.version, 2)
  t.deepEqual(monOps(out), [])
  t.deepEqual(timers(out), [{ name: 'prune', ms: ctx.cfg.pruneEveryHb * HB }])
})

test('prune: all members gone leaves the leader alone with itself on the list', (t) => {
  const ctx = leaderWith(['a', 'b'], 0)
  pruneTwice(ctx, 100 * HB)
  t.is(ctx.memCount, 0)
  t.deepEqual(Object.keys(ctx.list.entries), [SELF])
})

// ---- checkpoint ----

test('checkpoint (leader): persist {id, flock, leader: null, history, known}; re-arms checkpoint', (t) => {
  const ctx = leaderWith(['m1'])
  remember(ctx, node('h1'))
  remember(ctx, node('h2'))
  keepKnown(ctx, node('k1'), 0)
  const out: Effect[] = []
  onCheckpoint(ctx, out)
  // known: the members it holds first, then the known peers, newest first
  t.deepEqual(persists(out), [{ type: 'persist', key: 'checkpoint', value: { id: SELF, flock: OUR_FLOCK, leader: null, history: [node('h1'), node('h2')], known: [node('m1'), node('k1')] } }])
  t.deepEqual(timers(out), [{ name: 'checkpoint', ms: ctx.cfg.checkpointEveryHb * HB }])
})

test('checkpoint (member): names its leader', (t) => {
  const ctx = memberCtx(L)
  const out: Effect[] = []
  onCheckpoint(ctx, out)
  t.deepEqual(persists(out)[0]!.value, { id: SELF, flock: OUR_FLOCK, leader: L, history: [], known: [] })
})

test('checkpoint: keeps the newest 32 history entries, newest last', (t) => {
  const ctx = leaderCtx()
  for (let k = 0; k < 40; k++) remember(ctx, node(`h${k}`))
  const out: Effect[] = []
  onCheckpoint(ctx, out)
  const h = (persists(out)[0]!.value as { history: Array<{ id: string }> }).history
  t.is(h.length, 32)
  t.is(h[0]!.id, 'h8')
  t.is(h[31]!.id, 'h39')
})

test('checkpoint: a list that grew is persisted within 2 HB, not only every period', (t) => {
  const ctx = leaderCtx()
  receive(ctx, info({ kind: 'beat', me: node('a'), leader: node(SELF), vote: 1, lvote: 500 }), HB, [])
  t.is(ctx.knownDirty, HB)
  t.deepEqual(persists(runHb(ctx, 2 * HB)), [])
  const p = persists(runHb(ctx, 3 * HB))
  t.is(p.length, 1)
  t.deepEqual((p[0]!.value as { known: unknown }).known, [node('a')])
  t.is(ctx.knownDirty, null)
})

function runHb(ctx: FlockContext, at: number): Effect[] {
  const out: Effect[] = []
  onHeartbeat(ctx, at, out)
  return out
}

// ---- key ----

test('key: sets rotate and re-arms key', (t) => {
  const ctx = leaderCtx()
  const out: Effect[] = []
  onKeyPeriod(ctx, out)
  t.true(ctx.rotate)
  t.deepEqual(timers(out), [{ name: 'key', ms: ctx.cfg.keyPeriodHb * HB }])
  t.deepEqual(emits(out), [])
})

// ---- reboot done ----

test('reboot done: clears rebootUntil and starts over (new flock, LeaderStart cause reboot)', (t) => {
  const ctx = leaderWith(['a'], 0, { rebootUntil: 4 * HB })
  const out: Effect[] = []
  onRebootDone(ctx, 4 * HB, out)
  t.is(ctx.rebootUntil, null)
  t.not(ctx.flock, OUR_FLOCK)
  t.deepEqual(ctx.leader, ctx.me)
  t.is(ctx.memCount, 0)
  t.like(mon(out, 'LeaderStart'), { oflock: OUR_FLOCK, n: 0, cause: 'reboot', t: 4 * HB })
  t.is(persists(out).length, 1)
})

test('reboot done: the reboot timer is one-shot (not re-armed)', (t) => {
  const ctx = leaderCtx({ rebootUntil: 4 * HB })
  const out: Effect[] = []
  onRebootDone(ctx, 4 * HB, out)
  t.false(timers(out).some((x) => x.name === 'reboot'))
})

test('reboot done: probes again within the heartbeat (history still names the old flock)', (t) => {
  const ctx = leaderCtx({ rebootUntil: 4 * HB })
  const out: Effect[] = []
  onRebootDone(ctx, 4 * HB, out)
  const probe = timers(out).filter((x) => x.name === 'probe')
  t.is(probe.length, 1)
  t.true(probe[0]!.ms >= 1 && probe[0]!.ms <= HB)
})

test('prune: dropping an expired member keeps the address index of a live member at the same address', (t) => {
  // Was a bug (fixed): ticks.ts onPrune: `delete ctx.memByAddr[m.node.addr]` without checking the index still points at
  // the pruned id. A node that restarts with a new id at the same address (no checkpoint) is indexed
  // under its address by addMember; when the old id lapses, prune deletes that index entry, and probe
  // rounds no longer skip the live member. (receive.ts addMember's `delete ctx.memByAddr[m.node.addr]`
  // on an address change has the same shape.)
  const ctx = leaderWith(['a1'], 0) // a1 at addr-a1 lapses at 3 HB
  receive(ctx, info({ kind: 'beat', me: { id: 'a2', addr: 'addr-a1', horde: '' }, leader: node(SELF), vote: 1, lvote: 500 }), 2 * HB, [])
  pruneTwice(ctx, 3 * HB + 1)
  t.deepEqual(Object.keys(ctx.mems), ['a2'])
  t.deepEqual(ctx.memByAddr, { 'addr-a1': 'a2' })
})
