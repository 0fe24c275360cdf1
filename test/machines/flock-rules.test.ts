/**
 * The receive rules as a table, in the original's order (original-crux.md §1.7, our changes in
 * docs/PROTOCOL.md): each row is one behaviour of `receive(ctx, info, now, out)`, named
 * `<rule>: <what it does>`, and asserts the returned rule, the context fields it moves and the
 * effects it pushes. Virtual time only: `now` is passed explicitly.
 */
import test, { type ExecutionContext } from 'ava'
import type { Effect } from '../../machines/effects.js'
import { CMD_CANDIDATE, CMD_LEAVE, CMD_REBOOT, VOTE_MAX } from '../../machines/flock/constants.js'
import { digestOf, emptyList, entryOf, listPut } from '../../machines/flock/member-list.js'
import { receive, type Rule } from '../../machines/flock/receive.js'
import type { FlockContext, Info } from '../../machines/flock/types.js'
import {
  admin,
  BIGGER,
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
  pulls,
  SELF,
  sentInfo,
  SMALLER,
  suspectCount,
  timers,
} from '../fixtures/flock-fixtures.js'

interface Row {
  rule: Rule
  does: string
  given: () => FlockContext
  /** Packets received first (their effects are discarded). */
  before?: Info[]
  packet: Info
  now?: number
  then: (t: ExecutionContext, ctx: FlockContext, out: Effect[]) => void
}

const NOW = 10_000
const L = node('L')

/** How long a new member's entry lives, measured on a fresh leader (the refresh must give the same). */
function memberTtl(): number {
  const ctx = leaderCtx()
  receive(ctx, info({ kind: 'beat', me: node('a'), leader: node(SELF), vote: 1, lvote: 500 }), 0, [])
  return ctx.mems['a']!.expires
}

/** A copy of `ids`' list as a leader `L` would hold it at `version`. */
function listOf(ids: string[], version: number) {
  const list = emptyList()
  for (const id of ids) listPut(list, entryOf(node(id)))
  list.version = version
  return list
}

/** Leader `ctx` has suspected member `id` since 1 HB ago. */
function suspecting(ctx: FlockContext, id: string): FlockContext {
  ctx.mems[id]!.suspect = NOW - HB
  return ctx
}

const table: Row[] = [
  // ---- 1. admin (vote 0) ----
  {
    rule: 'admin-reboot',
    does: 'Reboot MonInfo, rebootUntil = now + 3.2–4.8 HB, a matching `reboot` timer, members forgotten',
    given: () => leaderWith(['a', 'b']),
    packet: admin(CMD_REBOOT),
    then: (t, ctx, out) => {
      t.not(ctx.rebootUntil, null)
      const ms = ctx.rebootUntil! - NOW
      t.true(ms >= 3.2 * HB && ms <= 4.8 * HB, `${ms} ms`)
      t.deepEqual(timers(out), [{ name: 'reboot', ms }])
      t.deepEqual(monOps(out), ['Reboot'])
      t.is(ctx.memCount, 0)
      t.deepEqual(ctx.mems, {})
      t.deepEqual(infoSends(out), [])
    },
  },
  {
    rule: 'admin-candidate',
    does: 'pings p.leader ("just send ourself to the address")',
    given: () => leaderCtx(),
    packet: admin(CMD_CANDIDATE, { leader: node('intro') }),
    then: (t, ctx, out) => {
      t.deepEqual(infoSends(out), [['addr-intro', 'ping']])
      t.deepEqual(sentInfo(out, 'addr-intro')!.dest, node('intro'))
      t.is(ctx.flock, OUR_FLOCK)
      t.is(out.length, 1)
    },
  },
  {
    rule: 'admin-leave',
    does: 'a member leaving says so: the leader drops it at once (list version + 1, LeaderDelta)',
    given: () => leaderWith(['a', 'b']),
    packet: admin(CMD_LEAVE, { me: node('a'), leader: node(SELF) }),
    then: (t, ctx, out) => {
      t.is(ctx.memCount, 1)
      t.false('a' in ctx.mems)
      t.false('a' in ctx.list.entries)
      t.is(ctx.list.version, 4)
      t.deepEqual(monOps(out), ['LeaderDelta'])
    },
  },
  {
    rule: 'admin-leave',
    does: 'a leave notice from a node that is not our member changes nothing',
    given: () => leaderWith(['a']),
    packet: admin(CMD_LEAVE, { me: node('stranger') }),
    then: (t, ctx, out) => {
      t.is(ctx.memCount, 1)
      t.deepEqual(out, [])
    },
  },
  {
    rule: 'admin-unknown',
    does: 'an unknown command does nothing',
    given: () => leaderCtx(),
    packet: admin(7),
    then: (t, ctx, out) => {
      t.deepEqual(out, [])
      t.is(ctx.rebootUntil, null)
    },
  },
  {
    rule: 'admin-candidate',
    does: 'admin packets skip history and staleness',
    given: () => leaderCtx(),
    packet: admin(CMD_CANDIDATE, { me: node('op'), leader: node('intro') }),
    then: (t, ctx) => {
      t.false('op' in ctx.history)
      t.false('op' in ctx.lastSent)
    },
  },
  // ---- 2. remember the sender; our own packets ----
  {
    rule: 'from-self',
    does: 'our own packet is ignored, even from a bigger flock, and not remembered',
    given: () => leaderCtx(),
    packet: info({ me: node(SELF), flock: BIGGER }),
    then: (t, ctx, out) => {
      t.deepEqual(out, [])
      t.is(ctx.flock, OUR_FLOCK)
      t.deepEqual(ctx.historyOrder, [])
    },
  },
  {
    rule: 'same',
    does: 'the sender is remembered in history with its sent time',
    given: () => leaderCtx(),
    packet: info({ me: node('q'), leader: node('r'), vote: 100, lvote: 500, sent: 77 }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.history['q'], node('q'))
      t.deepEqual(ctx.historyOrder, ['q'])
      t.is(ctx.lastSent['q'], 77)
      t.deepEqual(out, [])
    },
  },
  // ---- 3. stale ----
  {
    rule: 'stale',
    does: 'an older `sent` from the same sender after a newer one is dropped and counted, even from a bigger flock',
    given: () => leaderCtx(),
    before: [info({ me: node('q'), leader: node('r'), vote: 100, lvote: 500, sent: 500 })],
    packet: info({ me: node('q'), flock: BIGGER, sent: 499 }),
    then: (t, ctx, out) => {
      t.deepEqual(out, [])
      t.is(ctx.stats.dropped, 1)
      t.is(ctx.flock, OUR_FLOCK)
      t.is(ctx.lastSent['q'], 500)
    },
  },
  {
    rule: 'same',
    does: 'a duplicate with the same `sent` is not stale (p.sent < last)',
    given: () => leaderCtx(),
    before: [info({ me: node('q'), leader: node('r'), vote: 100, lvote: 500, sent: 500 })],
    packet: info({ me: node('q'), leader: node('r'), vote: 100, lvote: 500, sent: 500 }),
    then: (t, ctx) => {
      t.is(ctx.stats.dropped, 0)
    },
  },
  {
    rule: 'invite-smaller-flock',
    does: 'staleness is per sender: an older `sent` from another sender is processed',
    given: () => leaderCtx(),
    before: [info({ me: node('q'), leader: node('r'), vote: 100, lvote: 500, sent: 500 })],
    packet: info({ me: node('w'), flock: SMALLER, sent: 1 }),
    then: (t, ctx) => {
      t.is(ctx.stats.dropped, 0)
      t.is(ctx.lastSent['w'], 1)
    },
  },
  // ---- rebooting (crux: asynchronous reboot) ----
  {
    rule: 'rebooting',
    does: 'packets are ignored while rebooting (a bigger flock is not joined), the sender still remembered',
    given: () => leaderCtx({ rebootUntil: NOW + 3 * HB }),
    packet: info({ flock: BIGGER }),
    then: (t, ctx, out) => {
      t.deepEqual(out, [])
      t.is(ctx.flock, OUR_FLOCK)
      t.is(ctx.stats.joins, 0)
      t.deepEqual(ctx.historyOrder, ['p'])
    },
  },
  // ---- 4. horde instruction ----
  {
    rule: 'same',
    does: 'horde instruction: a non-empty dest.horde addressed to us becomes our horde',
    given: () => leaderCtx(),
    packet: info({ me: node('q'), leader: node('r'), vote: 100, lvote: 500, dest: node(SELF, 'h1') }),
    then: (t, ctx) => {
      t.is(ctx.me.horde, 'h1')
    },
  },
  {
    rule: 'invite-smaller-flock',
    does: 'horde instruction applies before the flock rules (step 4 precedes step 7)',
    given: () => leaderCtx(),
    packet: info({ flock: SMALLER, dest: node(SELF, 'h2') }),
    then: (t, ctx, out) => {
      t.is(ctx.me.horde, 'h2')
      t.is(sentInfo(out, 'addr-p')!.me.horde, 'h2')
    },
  },
  {
    rule: 'same',
    does: 'horde instruction: an empty dest.horde leaves ours alone',
    given: () => leaderCtx({}, { self: { addr: `addr-${SELF}`, id: SELF, horde: 'mine' } }),
    packet: info({ me: node('q'), leader: node('r'), vote: 100, lvote: 500 }),
    then: (t, ctx) => {
      t.is(ctx.me.horde, 'mine')
    },
  },
  // ---- 6. join the bigger flock ----
  {
    rule: 'join-bigger-flock',
    does: "p.lvote ≥ our vote: adopt the sender's leader, lvote, services and epoch; become a member",
    given: () => leaderWith(['a', 'b']),
    packet: info({ flock: BIGGER, leader: L, lvote: 600, vote: 100, epoch: 'e9', steward: 'st:1', registry: 'rg:2', beacon: 'bc' }),
    then: (t, ctx, out) => {
      t.is(ctx.flock, BIGGER)
      t.deepEqual(ctx.leader, L)
      t.is(ctx.lvote, 600)
      t.is(ctx.vote, 500)
      t.is(ctx.promotedAt, null)
      t.is(ctx.steward, 'st:1')
      t.is(ctx.registry, 'rg:2')
      t.is(ctx.beacon, 'bc')
      t.is(ctx.epoch, 'e9')
      t.deepEqual(emits(out, 'Epoch'), [{ type: 'Epoch', epoch: 'e9', flock: BIGGER }])
      t.is(ctx.leaderExpires, NOW + 4 * HB) // a new member waits 4 HB before suspecting its leader
      t.is(ctx.stats.joins, 1)
    },
  },
  {
    rule: 'join-bigger-flock',
    does: 'member branch: forgets its members and list (a member copy starts empty)',
    given: () => leaderWith(['a', 'b']),
    packet: info({ flock: BIGGER, leader: L, lvote: 600 }),
    then: (t, ctx) => {
      t.is(ctx.memCount, 0)
      t.deepEqual(ctx.mems, {})
      t.deepEqual(ctx.memByAddr, {})
      t.is(ctx.list.size, 0)
      t.deepEqual(ctx.changes, [])
    },
  },
  {
    rule: 'join-bigger-flock',
    does: 'cascade: pings every old member with the new name, then beats to the new leader',
    given: () => leaderWith(['a', 'b']),
    packet: info({ flock: BIGGER, leader: L, lvote: 600 }),
    then: (t, _ctx, out) => {
      t.deepEqual(infoSends(out), [
        ['addr-a', 'ping'],
        ['addr-b', 'ping'],
        ['addr-L', 'beat'],
      ])
      for (const [to] of infoSends(out)) {
        t.is(sentInfo(out, to)!.flock, BIGGER)
        t.deepEqual(sentInfo(out, to)!.leader, L)
      }
    },
  },
  {
    rule: 'join-bigger-flock',
    does: 'a member also pings its old leader so that it follows into the bigger flock',
    given: () => memberCtx(node('old')),
    packet: info({ flock: BIGGER, leader: L, lvote: 800 }),
    then: (t, _ctx, out) => {
      t.deepEqual(infoSends(out), [
        ['addr-L', 'beat'],
        ['addr-old', 'ping'],
      ])
      t.is(sentInfo(out, 'addr-old')!.flock, BIGGER)
    },
  },
  {
    rule: 'join-bigger-flock',
    does: 'Join MonInfo (oflock = ours, n = our member count), and a checkpoint naming the new flock and leader',
    given: () => leaderWith(['a', 'b']),
    packet: info({ flock: BIGGER, leader: L, lvote: 600 }),
    then: (t, _ctx, out) => {
      t.like(mon(out, 'Join'), { node: SELF, oflock: OUR_FLOCK, n: 2, t: NOW })
      t.like(persists(out)[0], { key: 'checkpoint', value: { id: SELF, flock: BIGGER, leader: L } })
    },
  },
  {
    rule: 'join-bigger-flock',
    does: 'p.lvote < our vote: lead inside the new flock, ourselves on the list, promotion clock restarted',
    given: () => leaderWith(['a']),
    packet: info({ flock: BIGGER, leader: L, lvote: 300, vote: 300, epoch: 'e9' }),
    then: (t, ctx, out) => {
      t.is(ctx.flock, BIGGER)
      t.deepEqual(ctx.leader, ctx.me)
      t.is(ctx.lvote, 500)
      t.is(ctx.vote, 500)
      t.is(ctx.promotedAt, NOW)
      t.is(ctx.epoch, 'e9')
      t.is(ctx.memCount, 0)
      t.deepEqual(Object.keys(ctx.list.entries), [SELF])
      t.is(ctx.list.version, 1)
      t.is(ctx.leaderExpires, NOW + 2 * HB)
      // cascade to our old member, then a ping (not a beat) to the sender's leader so that it follows us
      t.deepEqual(infoSends(out), [
        ['addr-a', 'ping'],
        ['addr-L', 'ping'],
      ])
      t.is(sentInfo(out, 'addr-L')!.vote, 500)
      t.deepEqual(monOps(out), ['Join'])
      t.like(persists(out)[0], { value: { flock: BIGGER, leader: null } })
    },
  },
  {
    rule: 'join-bigger-flock',
    does: 'a sender that names us as its leader: we lead in the new flock even when p.lvote ≥ our vote',
    given: () => leaderCtx(),
    packet: info({ flock: BIGGER, leader: node(SELF), lvote: 900 }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, ctx.me)
      t.is(ctx.lvote, 500)
      t.deepEqual(Object.keys(ctx.list.entries), [SELF])
      t.deepEqual(infoSends(out), [])
    },
  },
  {
    rule: 'join-bigger-flock',
    does: 'a promoted (VOTE_MAX) node re-draws its vote, then follows (p.lvote = VOTE_MAX − 1 beats any draw)',
    given: () => leaderWith(['a'], 0, { vote: VOTE_MAX, lvote: VOTE_MAX }),
    packet: info({ flock: BIGGER, leader: L, lvote: VOTE_MAX - 1 }),
    then: (t, ctx) => {
      t.true(ctx.vote >= 1 && ctx.vote < VOTE_MAX, `vote ${ctx.vote}`)
      t.deepEqual(ctx.leader, L)
      t.is(ctx.lvote, VOTE_MAX - 1)
    },
  },
  {
    rule: 'join-bigger-flock',
    does: 'a promoted visitor re-draws vote 1',
    given: () => leaderCtx({ vote: VOTE_MAX, lvote: VOTE_MAX }, { visitor: true }),
    packet: info({ flock: BIGGER, leader: L, lvote: 2 }),
    then: (t, ctx) => {
      t.is(ctx.vote, 1)
      t.deepEqual(ctx.leader, L)
    },
  },
  // ---- 7. smaller flock ----
  {
    rule: 'invite-smaller-flock',
    does: 'pings the sender back with our flock so that it joins us; nothing else changes',
    given: () => leaderWith(['a']),
    packet: info({ flock: SMALLER, leader: L, lvote: VOTE_MAX, vote: VOTE_MAX }),
    then: (t, ctx, out) => {
      t.deepEqual(infoSends(out), [['addr-p', 'ping']])
      t.is(sentInfo(out, 'addr-p')!.flock, OUR_FLOCK)
      t.is(ctx.flock, OUR_FLOCK)
      t.deepEqual(ctx.leader, ctx.me)
      t.is(ctx.memCount, 1)
    },
  },
  // ---- 9. two stable leaders (crux: the lower leader id follows) ----
  {
    rule: 'two-leaders',
    does: 'our leader id is lower: follow the other leader (beat to it, cascade to our members, 4 HB wait)',
    given: () => leaderWith(['a'], 0, { vote: VOTE_MAX, lvote: VOTE_MAX }),
    packet: info({ me: node('q'), leader: node('zz'), lvote: VOTE_MAX, vote: 400 }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, node('zz'))
      t.is(ctx.lvote, VOTE_MAX)
      t.is(ctx.promotedAt, null)
      t.is(ctx.memCount, 0)
      t.is(ctx.leaderExpires, NOW + 4 * HB)
      t.deepEqual(infoSends(out), [
        ['addr-zz', 'beat'],
        ['addr-a', 'ping'],
      ])
      t.is(ctx.stats.startOvers, 0)
    },
  },
  {
    rule: 'two-leaders',
    does: 'our leader id is higher: ping the sender back and keep leading',
    given: () => leaderWith(['a'], 0, { vote: VOTE_MAX, lvote: VOTE_MAX }),
    packet: info({ me: node('q'), leader: node('aa'), lvote: VOTE_MAX, vote: 400 }),
    then: (t, ctx, out) => {
      t.deepEqual(infoSends(out), [['addr-q', 'ping']])
      t.deepEqual(ctx.leader, ctx.me)
      t.is(ctx.memCount, 1)
      t.is(ctx.vote, VOTE_MAX)
    },
  },
  {
    rule: 'two-leaders',
    does: 'a member of the lower stable leader follows the higher one',
    given: () => memberCtx(node('aa'), { lvote: VOTE_MAX }),
    packet: info({ me: node('q'), leader: node('zz'), lvote: VOTE_MAX, vote: 400 }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, node('zz'))
      t.deepEqual(infoSends(out), [['addr-zz', 'beat']])
    },
  },
  // ---- 10. higher vote ----
  {
    rule: 'higher-vote',
    does: 'p.vote > our lvote: the prober itself becomes our leader (beat to it, lvote = p.vote, ≈ 4 HB wait)',
    given: () => memberCtx(L),
    packet: info({ me: node('q'), leader: node('r'), vote: 800, lvote: 800, epoch: 'e5', steward: 'st' }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, node('q'))
      t.is(ctx.lvote, 800)
      t.is(ctx.vote, 300)
      t.is(ctx.epoch, 'e5')
      t.is(ctx.steward, 'st')
      t.is(ctx.leaderExpires, NOW + 4 * HB)
      t.deepEqual(infoSends(out), [['addr-q', 'beat']])
    },
  },
  {
    rule: 'higher-vote',
    does: 'a leader yields to a higher vote: cascades to its members and forgets them',
    given: () => leaderWith(['a', 'b']),
    packet: info({ me: node('q'), vote: 800, lvote: 800 }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, node('q'))
      t.is(ctx.promotedAt, null)
      t.is(ctx.memCount, 0)
      t.deepEqual(infoSends(out), [
        ['addr-q', 'beat'],
        ['addr-a', 'ping'],
        ['addr-b', 'ping'],
      ])
    },
  },
  {
    rule: 'higher-vote',
    does: 'a promoted node (vote VOTE_MAX) re-draws its vote',
    given: () => memberCtx(L, { vote: VOTE_MAX, lvote: 700 }),
    packet: info({ me: node('q'), vote: 800, lvote: 800 }),
    then: (t, ctx) => {
      t.true(ctx.vote >= 1 && ctx.vote < VOTE_MAX, `vote ${ctx.vote}`)
    },
  },
  {
    rule: 'higher-vote',
    does: "our own leader's promotion (its vote → VOTE_MAX) keeps our list copy and adopts lvote VOTE_MAX",
    given: () => memberCtx(L, { list: listOf(['L', SELF], 2) }),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: VOTE_MAX, lvote: VOTE_MAX, listVersion: 2, listDigest: digestOf(listOf(['L', SELF], 2)) }),
    then: (t, ctx) => {
      t.deepEqual(ctx.leader, L)
      t.is(ctx.lvote, VOTE_MAX)
      t.deepEqual(ctx.list, listOf(['L', SELF], 2))
    },
  },
  // ---- 11a. our leader now follows another (crux) ----
  {
    rule: 'leader-moved',
    does: 'our leader names another leader: follow that one (beat to it, its lvote, ≈ 4 HB wait, empty copy)',
    given: () => memberCtx(L, { list: listOf(['L', SELF], 2) }),
    packet: info({ me: L, leader: node('B'), vote: 700, lvote: 900 }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, node('B'))
      t.is(ctx.lvote, 900)
      t.is(ctx.leaderExpires, NOW + 4 * HB)
      t.is(ctx.list.size, 0)
      t.deepEqual(infoSends(out), [['addr-B', 'beat']])
    },
  },
  {
    rule: 'leader-moved',
    does: 'our leader names us: we lead, with ourselves on the list',
    given: () => memberCtx(L),
    packet: info({ me: L, leader: node(SELF), vote: 700, lvote: 700 }),
    then: (t, ctx) => {
      t.deepEqual(ctx.leader, ctx.me)
      t.deepEqual(Object.keys(ctx.list.entries), [SELF])
    },
  },
  // ---- 11. our leader checking in ----
  {
    rule: 'leader-check-in',
    does: 'leaderExpires = now + 3 HB; services, beacon and lvote adopted',
    given: () => memberCtx(L),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, steward: 'st', registry: 'rg', yurt: 'y', beacon: 'bc' }),
    then: (t, ctx) => {
      t.is(ctx.leaderExpires, NOW + 3 * HB)
      t.is(ctx.steward, 'st')
      t.is(ctx.registry, 'rg')
      t.is(ctx.yurt, 'y')
      t.is(ctx.beacon, 'bc')
      t.is(ctx.lvote, 700)
      t.deepEqual(ctx.leader, L)
    },
  },
  {
    rule: 'leader-check-in',
    does: 'a new epoch is adopted with an Epoch record',
    given: () => memberCtx(L),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, epoch: 'e1' }),
    then: (t, ctx, out) => {
      t.is(ctx.epoch, 'e1')
      t.deepEqual(emits(out, 'Epoch'), [{ type: 'Epoch', epoch: 'e1', flock: OUR_FLOCK }])
    },
  },
  {
    rule: 'leader-check-in',
    does: 'the same epoch: no Epoch record',
    given: () => memberCtx(L),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, epoch: 'e0' }),
    then: (t, _ctx, out) => {
      t.deepEqual(emits(out, 'Epoch'), [])
    },
  },
  {
    rule: 'leader-check-in',
    does: 'an empty copy and a listed leader: list.pull{since 0} to the leader, pulling = now',
    given: () => memberCtx(L),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, listVersion: 3, listDigest: digestOf(listOf(['L', SELF, 'a'], 3)) }),
    then: (t, ctx, out) => {
      t.deepEqual(pulls(out), [{ to: 'addr-L', pull: { flock: OUR_FLOCK, me: ctx.me, since: 0 } }])
      t.is(ctx.pulling, NOW)
      t.deepEqual(infoSends(out), [])
    },
  },
  {
    rule: 'leader-check-in',
    does: 'an older copy: list.pull{since our version}',
    given: () => memberCtx(L, { list: listOf(['L', SELF], 2) }),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, listVersion: 3, listDigest: digestOf(listOf(['L', SELF, 'a'], 3)) }),
    then: (t, _ctx, out) => {
      t.is(pulls(out)[0]!.pull.since, 2)
    },
  },
  {
    rule: 'leader-check-in',
    does: 'the same version with another digest (a corrupt copy): list.pull{since 0}',
    given: () => memberCtx(L, { list: listOf(['L', SELF, 'x'], 3) }),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, listVersion: 3, listDigest: digestOf(listOf(['L', SELF, 'a'], 3)) }),
    then: (t, _ctx, out) => {
      t.is(pulls(out)[0]!.pull.since, 0)
    },
  },
  {
    rule: 'leader-check-in',
    does: 'the same version and digest: no pull, pulling cleared',
    given: () => memberCtx(L, { list: listOf(['L', SELF, 'a'], 3), pulling: NOW - 500 }),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, listVersion: 3, listDigest: digestOf(listOf(['L', SELF, 'a'], 3)) }),
    then: (t, ctx, out) => {
      t.deepEqual(pulls(out), [])
      t.is(ctx.pulling, null)
    },
  },
  {
    rule: 'leader-check-in',
    does: 'a pull still in flight (sent 100 ms ago) is not repeated',
    given: () => memberCtx(L, { pulling: NOW - 100 }),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, listVersion: 3, listDigest: 'x' }),
    then: (t, ctx, out) => {
      t.deepEqual(pulls(out), [])
      t.is(ctx.pulling, NOW - 100)
    },
  },
  {
    rule: 'leader-check-in',
    does: 'a pull unanswered for 2 HB is retried',
    given: () => memberCtx(L, { pulling: NOW - 2 * HB }),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700, listVersion: 3, listDigest: 'x' }),
    then: (t, ctx, out) => {
      t.is(pulls(out).length, 1)
      t.is(ctx.pulling, NOW)
    },
  },
  // ---- 12. a member's beat ----
  {
    rule: 'member-beat',
    does: 'a new member: memCount, mems (expires now + 3 HB), memByAddr, list entry, version + 1, change logged',
    given: () => leaderCtx(),
    packet: info({ kind: 'beat', me: node('a'), leader: node(SELF), vote: 300, lvote: 500 }),
    then: (t, ctx, out) => {
      t.is(ctx.memCount, 1)
      t.deepEqual(ctx.mems['a']!.node, node('a'))
      // expiry on our own clock: at least one missed beat (2 HB) is survived
      t.true(ctx.mems['a']!.expires >= NOW + 2 * HB, `expires ${ctx.mems['a']!.expires}`)
      t.is(ctx.memByAddr['addr-a'], 'a')
      t.deepEqual(ctx.list.entries['a'], entryOf(node('a')))
      t.is(ctx.list.size, 2)
      t.is(ctx.list.version, 2)
      t.deepEqual(ctx.changes, [{ version: 2, op: 'add', entry: entryOf(node('a')) }])
      // the list changed: the next check-in is brought forward to ¼ HB, once
      t.deepEqual(out, [{ type: 'timer.set', name: 'hb', ms: HB / 4 }])
      t.true(ctx.hurry)
    },
  },
  {
    rule: 'member-beat',
    does: 'a refresh only moves the expiry: no version bump, no change logged',
    given: () => leaderWith(['a']),
    packet: info({ kind: 'beat', me: node('a'), leader: node(SELF), vote: 300, lvote: 500 }),
    then: (t, ctx, out) => {
      t.is(ctx.mems['a']!.expires, NOW + memberTtl())
      t.is(ctx.memCount, 1)
      t.is(ctx.list.version, 2)
      t.is(ctx.changes.length, 1)
      t.deepEqual(out, [])
    },
  },
  {
    rule: 'member-beat',
    does: 'a member that moved address: entry replaced, memByAddr moved, version + 1, logged as add',
    given: () => leaderWith(['a']),
    packet: info({ kind: 'beat', me: { id: 'a', addr: 'addr-a2', horde: '' }, leader: node(SELF), vote: 300, lvote: 500 }),
    then: (t, ctx) => {
      t.is(ctx.memCount, 1)
      t.false('addr-a' in ctx.memByAddr)
      t.is(ctx.memByAddr['addr-a2'], 'a')
      t.is(ctx.list.entries['a']!.addr, 'addr-a2')
      t.is(ctx.list.size, 2)
      t.is(ctx.list.version, 3)
      t.like(ctx.changes.at(-1), { version: 3, op: 'add', entry: { id: 'a', addr: 'addr-a2' } })
    },
  },
  // ---- 13. better leader ----
  {
    rule: 'better-leader',
    does: "p.lvote > our lvote: follow the sender's leader (beat to it, lvote adopted, ≈ 4 HB wait)",
    given: () => memberCtx(L),
    packet: info({ me: node('q'), leader: node('B'), vote: 100, lvote: 900, steward: 'st' }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, node('B'))
      t.is(ctx.lvote, 900)
      t.is(ctx.steward, 'st')
      t.is(ctx.leaderExpires, NOW + 4 * HB)
      t.deepEqual(infoSends(out), [['addr-B', 'beat']])
    },
  },
  {
    rule: 'better-leader',
    does: 'a leader follows a better leader: cascades to its members and forgets them',
    given: () => leaderWith(['a']),
    packet: info({ me: node('q'), leader: node('B'), vote: 100, lvote: 900 }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, node('B'))
      t.is(ctx.memCount, 0)
      t.is(ctx.list.size, 0)
      t.deepEqual(infoSends(out), [
        ['addr-B', 'beat'],
        ['addr-a', 'ping'],
      ])
    },
  },
  {
    rule: 'better-leader',
    does: 'named as the better leader ourselves: we lead, with ourselves on the list (crux change)',
    given: () => memberCtx(L),
    packet: info({ me: node('q'), leader: node(SELF), vote: 100, lvote: 900 }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, ctx.me)
      t.is(ctx.promotedAt, NOW)
      t.deepEqual(Object.keys(ctx.list.entries), [SELF])
      t.is(ctx.list.version, 1)
      t.deepEqual(infoSends(out), [])
    },
  },
  // ---- 14. worse leader ----
  {
    rule: 'worse-leader',
    does: 'p.lvote < our lvote: ping the sender back; nothing else changes',
    given: () => memberCtx(L),
    packet: info({ me: node('q'), leader: node('r'), vote: 100, lvote: 600 }),
    then: (t, ctx, out) => {
      t.deepEqual(infoSends(out), [['addr-q', 'ping']])
      t.deepEqual(sentInfo(out, 'addr-q')!.leader, L)
      t.deepEqual(ctx.leader, L)
      t.is(ctx.lvote, 700)
    },
  },
  // ---- nothing applies ----
  {
    rule: 'same',
    does: 'same flock, same lvote, another leader, no higher vote: nothing happens',
    given: () => memberCtx(L),
    packet: info({ me: node('q'), leader: node('r'), vote: 100, lvote: 700 }),
    then: (t, ctx, out) => {
      t.deepEqual(out, [])
      t.deepEqual(ctx.leader, L)
    },
  },
  {
    rule: 'same',
    does: "a beat naming us as leader at a member is not taken as a member's beat",
    given: () => memberCtx(L),
    packet: info({ kind: 'beat', me: node('q'), leader: node(SELF), vote: 100, lvote: 700 }),
    then: (t, ctx, out) => {
      t.is(ctx.memCount, 0)
      t.deepEqual(out, [])
    },
  },
  // ---- 5. (crux) liveness checks within our flock: suspicion before removal ----
  {
    rule: 'check-answered',
    does: 'a check about us is answered `alive` (dest = us) to whoever asked',
    given: () => memberCtx(L),
    packet: info({ kind: 'check', me: node('h'), leader: L, dest: node(SELF), vote: 100, lvote: 700 }),
    then: (t, ctx, out) => {
      t.deepEqual(infoSends(out), [['addr-h', 'alive'], ['addr-L', 'beat']])
      t.is(sentInfo(out, 'addr-h')!.dest.id, SELF)
    },
  },
  {
    rule: 'check-answered',
    does: 'our own leader checking us gets `alive` only (no extra beat)',
    given: () => memberCtx(L),
    packet: info({ kind: 'check', me: L, leader: L, dest: node(SELF), vote: 700, lvote: 700 }),
    then: (t, _ctx, out) => t.deepEqual(infoSends(out), [['addr-L', 'alive']]),
  },
  {
    rule: 'check-relayed',
    does: 'a check about another member is passed on to it, and the asker remembered',
    given: () => memberCtx(L),
    packet: info({ kind: 'check', me: L, leader: L, dest: node('s'), vote: 700, lvote: 700 }),
    then: (t, ctx, out) => {
      t.deepEqual(infoSends(out), [['addr-s', 'check']])
      t.is(sentInfo(out, 'addr-s')!.dest.id, 's')
      t.like(ctx.relays, [{ subject: 's', to: L, until: NOW + HB }])
    },
  },
  {
    rule: 'check-ignored',
    does: 'no more than 16 checks are passed on at once (one node is not a megaphone)',
    given: () => memberCtx(L, { relays: Array.from({ length: 16 }, (_, i) => ({ subject: `x${i}`, to: L, until: NOW + HB })) }),
    packet: info({ kind: 'check', me: L, leader: L, dest: node('s'), vote: 700, lvote: 700 }),
    then: (t, ctx, out) => {
      t.deepEqual(out, [])
      t.is(ctx.relays.length, 16)
    },
  },
  {
    rule: 'invite-smaller-flock',
    does: 'a check from another flock is no liveness business of ours: the flock rules read it',
    given: () => memberCtx(L),
    packet: info({ kind: 'check', flock: SMALLER, me: node('h'), leader: node('h'), dest: node(SELF) }),
    then: (t, _ctx, out) => t.deepEqual(infoSends(out), [['addr-h', 'ping']]),
  },
  {
    rule: 'alive-relayed',
    does: 'the subject of a check we passed on answers: the answer goes back to the asker',
    given: () => memberCtx(L, { relays: [{ subject: 's', to: L, until: NOW + HB }] }),
    packet: info({ kind: 'alive', me: node('s'), leader: L, dest: node('s'), vote: 100, lvote: 700 }),
    then: (t, ctx, out) => {
      t.deepEqual(infoSends(out), [['addr-L', 'alive']])
      t.is(sentInfo(out, 'addr-L')!.dest.id, 's')
      t.deepEqual(ctx.relays, [])
    },
  },
  {
    rule: 'suspicion-refuted',
    does: "a suspect's own beat clears the suspicion and gives it a new lapse",
    given: () => suspecting(leaderWith(['a']), 'a'),
    packet: info({ kind: 'beat', me: node('a'), leader: node(SELF), vote: 1, lvote: 500 }),
    now: NOW,
    then: (t, ctx) => {
      t.is(ctx.mems['a']!.suspect, null)
      t.is(suspectCount(ctx), 0)
      t.is(ctx.stats.refuted, 1)
      t.is(ctx.mems['a']!.expires, NOW + 2.25 * HB)
    },
  },
  {
    rule: 'suspicion-refuted',
    does: 'an `alive` about a suspect, carried back by a helper, clears the suspicion',
    given: () => suspecting(leaderWith(['a', 'h']), 'a'),
    packet: info({ kind: 'alive', me: node('h'), leader: node(SELF), dest: node('a'), vote: 1, lvote: 500 }),
    then: (t, ctx) => {
      t.is(ctx.mems['a']!.suspect, null)
      t.is(suspectCount(ctx), 0)
      t.is(ctx.memCount, 2)
    },
  },
  {
    rule: 'alive',
    does: 'an `alive` about a member not suspected just refreshes it',
    given: () => leaderWith(['a', 'h']),
    packet: info({ kind: 'alive', me: node('h'), leader: node(SELF), dest: node('a'), vote: 1, lvote: 500 }),
    then: (t, ctx, out) => {
      t.is(ctx.mems['a']!.expires, NOW + 2.25 * HB)
      t.deepEqual(infoSends(out), [])
    },
  },
  {
    rule: 'leader-refuted',
    does: 'a member suspecting its leader hears a check-in: suspicion cleared, leaderExpires = now + 3 HB',
    given: () => memberCtx(L, { leaderSuspect: NOW - HB }),
    packet: info({ me: L, leader: L, kind: 'leader-beat', vote: 700, lvote: 700 }),
    then: (t, ctx) => {
      t.is(ctx.leaderSuspect, null)
      t.is(ctx.leaderExpires, NOW + 3 * HB)
    },
  },
  {
    rule: 'leader-refuted',
    does: "an `alive` about our suspected leader, carried back by a helper, clears the suspicion",
    given: () => memberCtx(L, { leaderSuspect: NOW - HB, leaderExpires: NOW - 1 }),
    packet: info({ kind: 'alive', me: node('h'), leader: L, dest: L, vote: 100, lvote: 700 }),
    then: (t, ctx) => {
      t.is(ctx.leaderSuspect, null)
      t.is(ctx.leaderExpires, NOW + 3 * HB)
    },
  },
  {
    rule: 'lost-leader',
    does: 'a third party naming the leader we gave up on is not followed, and not answered',
    given: () => Object.assign(leaderCtx(), { lost: { id: 'L', until: NOW + HB } }),
    packet: info({ me: node('q'), leader: L, vote: 100, lvote: VOTE_MAX }),
    then: (t, ctx, out) => {
      t.deepEqual(ctx.leader, ctx.me)
      t.deepEqual(out, [])
    },
  },
  {
    rule: 'lost-leader',
    does: 'while we suspect our leader, a third party naming it does not refresh it',
    given: () => memberCtx(L, { leaderSuspect: NOW - HB, leaderExpires: NOW - 1 }),
    packet: info({ me: node('q'), leader: L, vote: 100, lvote: VOTE_MAX }),
    then: (t, ctx) => {
      t.is(ctx.leaderExpires, NOW - 1)
      t.not(ctx.leaderSuspect, null)
    },
  },
  {
    rule: 'better-leader',
    does: 'while we suspect our leader, a node following another leader (even a worse one) is followed',
    given: () => memberCtx(L, { leaderSuspect: NOW - HB }),
    packet: info({ me: node('q'), leader: node('M'), vote: 100, lvote: 300 }),
    then: (t, ctx, out) => {
      t.is(ctx.leader.id, 'M')
      t.is(ctx.leaderSuspect, null)
      t.deepEqual(infoSends(out)[0], ['addr-M', 'beat'])
    },
  },
  {
    rule: 'lost-leader',
    does: 'a bigger flock whose leader we gave up on is not joined (its members give up on it too, and find us then)',
    given: () => Object.assign(leaderCtx(), { lost: { id: 'L', until: NOW + HB } }),
    packet: info({ flock: BIGGER, me: node('q'), leader: L, vote: 100, lvote: VOTE_MAX }),
    then: (t, ctx, out) => {
      t.is(ctx.flock, OUR_FLOCK)
      t.deepEqual(ctx.leader, ctx.me)
      t.deepEqual(out, [])
    },
  },
]

for (const row of table) {
  test(`${row.rule}: ${row.does}`, (t) => {
    const ctx = row.given()
    for (const p of row.before ?? []) receive(ctx, p, (row.now ?? NOW) - 1, [])
    const out: Effect[] = []
    t.is(receive(ctx, row.packet, row.now ?? NOW, out), row.rule)
    row.then(t, ctx, out)
  })
}

test('the table covers every rule', (t) => {
  const all: Record<Rule, true> = {
    'admin-reboot': true,
    'admin-candidate': true,
    'admin-leave': true,
    'admin-unknown': true,
    'from-self': true,
    stale: true,
    rebooting: true,
    'join-bigger-flock': true,
    'invite-smaller-flock': true,
    'two-leaders': true,
    'higher-vote': true,
    'leader-moved': true,
    'leader-check-in': true,
    'member-beat': true,
    'better-leader': true,
    'worse-leader': true,
    same: true,
    'lost-leader': true,
    'check-answered': true,
    'check-relayed': true,
    'check-ignored': true,
    'suspicion-refuted': true,
    'leader-refuted': true,
    'alive-relayed': true,
    alive: true,
  }
  t.deepEqual([...new Set(table.map((r) => r.rule))].sort(), Object.keys(all).sort())
})

test('admin-reboot: the reboot lasts 3.2–4.8 HB for any rng state', (t) => {
  for (let seed = 1; seed <= 300; seed++) {
    const ctx = leaderCtx({}, { seed })
    const out: Effect[] = []
    receive(ctx, admin(CMD_REBOOT), 0, out)
    const ms = timers(out)[0]!.ms
    t.true(ms >= 3200 && ms <= 4800, `seed ${seed}: ${ms}`)
  }
})

test('rebooting: admin commands still apply while rebooting', (t) => {
  const ctx = leaderCtx({ rebootUntil: NOW + HB })
  const out: Effect[] = []
  t.is(receive(ctx, admin(CMD_CANDIDATE, { leader: node('intro') }), NOW, out), 'admin-candidate')
  t.deepEqual(infoSends(out), [['addr-intro', 'ping']])
})

// ---- regressions: bugs these tests found in the machine, now fixed ----

test('join-bigger-flock: the Join MonInfo names the new flock (Flock = theirs, Oflock = ours)', (t) => {
  // Was a bug (fixed): receive.ts join(): mon(…'Join'…) runs before `ctx.flock = p.flock`, and mon() takes `flock` from
  // ctx, so the record says flock = oflock = our old flock. Original §1.7 step 6: "Emit JoinOp
  // (Oflock = ours, Flock = theirs, N = len(mems))".
  const ctx = leaderWith(['a', 'b'])
  const out: Effect[] = []
  receive(ctx, info({ flock: BIGGER, leader: L, lvote: 600 }), NOW, out)
  t.like(mon(out, 'Join'), { flock: BIGGER, oflock: OUR_FLOCK, n: 2 })
})

test('two-leaders: a promoted leader that yields re-draws its vote (it no longer leads)', (t) => {
  // Was a bug (fixed): receive.ts rule 9: `if (isLeader(ctx)) ctx.vote = drawVote(…)` runs after follow() has set
  // ctx.leader = p.leader, so isLeader is false and the yielding leader keeps vote = VOTE_MAX as a
  // member. Its Info then carries vote VOTE_MAX, and any same-flock node whose lvote < VOTE_MAX takes
  // it as leader by rule 10 (higher-vote) although it leads nothing. Compare rule 10 (wasPromoted is
  // read before follow) and join (re-draws when vote === VOTE_MAX).
  const ctx = leaderWith(['a'], 0, { vote: VOTE_MAX, lvote: VOTE_MAX })
  receive(ctx, info({ me: node('q'), leader: node('zz'), lvote: VOTE_MAX, vote: 400 }), NOW, [])
  t.deepEqual(ctx.leader, node('zz'))
  t.true(ctx.vote >= 1 && ctx.vote < VOTE_MAX, `vote ${ctx.vote}`)
})

test('member-beat: a member whose id is an Object.prototype key is added, not a crash', (t) => {
  // Was a bug (fixed): receive.ts addMember: `ctx.mems[p.me.id]` on a plain object returns Object.prototype.constructor
  // for id 'constructor' (Object.prototype itself for '__proto__'), then `m.node.addr` throws
  // TypeError inside the machine's action. Same pattern in mems, memByAddr, history, lastSent and
  // list.entries. An id arrives from the wire (and from --id / a checkpoint).
  for (const id of ['constructor', 'toString', '__proto__']) {
    const ctx = leaderCtx()
    const me = { id, addr: 'addr-x', horde: '' }
    t.notThrows(() => receive(ctx, info({ kind: 'beat', me, leader: node(SELF), vote: 1, lvote: 500 }), NOW, []), id)
    t.is(ctx.memCount, 1, id)
    t.is(ctx.list.size, 2, id)
  }
})

test('horde instruction at a leader: its own list entry and the leader it announces carry the new horde', (t) => {
  // Was a bug (fixed): receive.ts step 4 replaces ctx.me only. On a leader, ctx.leader still holds the old NodeId
  // (makeInfo sends it as `leader`) and the leader's own entry in ctx.list keeps the old horde, so
  // every member's copy of the list shows the leader in its old horde (members' own entries are
  // updated by their next beat: addMember sees the horde change).
  const ctx = leaderWith(['a'])
  receive(ctx, info({ me: node('q'), leader: node('r'), vote: 100, lvote: 500, dest: node(SELF, 'h1') }), NOW, [])
  t.is(ctx.me.horde, 'h1')
  t.is(ctx.leader.horde, 'h1')
  t.is(ctx.list.entries[SELF]!.horde, 'h1')
})

test('epoch: a leader that yields on this packet does not first announce an epoch it never uses', (t) => {
  // Was a bug (fixed): receive.ts, the "leader hears of a later epoch" step runs before rules 9/10/13. When the same
  // packet then makes the leader follow the sender (here rule 10), it has emitted Epoch seq 4 and
  // then, adopting the sender's, Epoch seq 3: two records in one step, the second going back.
  const ctx = leaderWith(['a'], 0, { epoch: '3-aaaa' })
  const out: Effect[] = []
  t.is(receive(ctx, info({ me: node('q'), vote: 800, lvote: 800, epoch: '3-bbbb' }), NOW, out), 'higher-vote')
  t.deepEqual(emits(out, 'Epoch'), [{ type: 'Epoch', epoch: '3-bbbb', flock: OUR_FLOCK }])
})
