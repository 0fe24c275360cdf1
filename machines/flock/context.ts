/**
 * Building the flock context and the small helpers every rule uses: making and sending an Info,
 * MonInfo records, starting over. All of them mutate the context in place and push effects onto
 * `out`; the machine emits `out` after the step (see flock.machine.ts).
 */
import type { Effect } from '../effects.js'
import { rngSeed } from '../rng.js'
import { DEFAULT_FLOCK_CONFIG, VOTE_MAX } from './constants.js'
import { forgetKnown, keepKnown, keepList, knownForCheckpoint } from './known.js'
import { dict, digestOf, emptyList, entryOf, listPut, listRemove, logChange } from './member-list.js'
import { drawEpoch, drawVote, smallId } from './random.js'
import type { FlockContext, FlockInput, Info, InfoKind, NodeId } from './types.js'

/** MonInfo operations (original §2.1). */
export type MonOp = 'Join' | 'LeaderStart' | 'LeaderHeart' | 'LeaderDelta' | 'Probe' | 'Reboot' | 'HeartBeat' | 'Exit'

/** The loss a node assumes before its first samples (window 3 HB; ~10 clean samples bring it under 0.01). */
const INITIAL_LOSS = 0.1

export function createContext(input: FlockInput & { now?: number }): FlockContext {
  const cfg = { ...DEFAULT_FLOCK_CONFIG, ...input.config }
  const ctx = { rng: rngSeed(input.seed) } as FlockContext
  const id = input.checkpoint?.id ?? input.self.id ?? smallId(ctx)
  const me: NodeId = { id, addr: input.self.addr, horde: input.self.horde ?? '' }
  Object.assign(ctx, {
    cfg,
    probe: input.probe,
    visitor: input.visitor === true,
    me,
    flock: '',
    leader: me,
    vote: 0,
    lvote: 0,
    epoch: '',
    steward: input.steward ?? '',
    registry: input.registry ?? '',
    yurt: input.yurt ?? '',
    beacon: input.beacon ?? '',
    own: { steward: input.steward ?? '', registry: input.registry ?? '', yurt: input.yurt ?? '' },
    leaderExpires: 0,
    promotedAt: null,
    mems: dict(),
    memByAddr: dict(),
    memCount: 0,
    lastProbe: null,
    list: emptyList(),
    changes: [],
    answers: { full: null },
    pulling: null,
    pending: null,
    history: dict(),
    historyOrder: [],
    lastSent: dict(),
    rotate: false,
    hurry: false,
    rebootUntil: null,
    known: dict(),
    knownOrder: [],
    lost: { id: '', until: 0 },
    leaderSuspect: null,
    relays: [],
    // Until its own samples say otherwise, a node assumes some loss: a node that has heard too little
    // to judge judges slowly (a new member's window would otherwise be 1 HB at any loss).
    loss: INITIAL_LOSS,
    lossSums: { got: 10 * (1 - INITIAL_LOSS), missed: 10 * INITIAL_LOSS },
    heard: { got: 0, missed: 0 },
    checkInAt: 0,
    listChangedAt: 0,
    knownDirty: null,
    confab: { startedAt: input.now ?? 0, answers: dict(), order: [] },
    stats: { joins: 0, startOvers: 0, dropped: 0, suspected: 0, refuted: 0, confirmed: 0 },
  } satisfies Omit<FlockContext, 'rng'>)
  // A restarted node remembers whom it heard from and the members it knew: its first probe rounds
  // go there, so it finds the flock again even when every seed is gone.
  for (const h of input.checkpoint?.history ?? []) remember(ctx, h)
  if (input.checkpoint?.leader) remember(ctx, input.checkpoint.leader)
  // (A checkpoint written before known peers existed has none; an entry of the wrong shape is skipped.)
  const known = input.checkpoint?.known
  if (Array.isArray(known)) for (const k of known) if (isNodeId(k)) keepKnown(ctx, k, input.now ?? 0)
  return ctx
}

function isNodeId(x: unknown): x is NodeId {
  const n = x as NodeId
  return typeof n === 'object' && n !== null && typeof n.id === 'string' && typeof n.addr === 'string' && typeof n.horde === 'string' && n.id !== '' && n.addr !== ''
}

export function hb(ctx: FlockContext, k: number): number {
  return ctx.cfg.hbMs * k
}

export function isLeader(ctx: FlockContext): boolean {
  return ctx.leader.id === ctx.me.id
}

/**
 * The flock's steward, registry and yurt: a leader's own, a member's as its leader announced them.
 * (The original announced whatever a node started with, so a member promoted to leader went on
 * naming the old leader's steward.)
 */
export function servicesOf(ctx: FlockContext): { steward: string; registry: string; yurt: string } {
  return isLeader(ctx) ? ctx.own : { steward: ctx.steward, registry: ctx.registry, yurt: ctx.yurt }
}

/** The Info this node sends now. */
export function makeInfo(ctx: FlockContext, kind: InfoKind, dest: NodeId, now: number): Info {
  const leading = isLeader(ctx)
  const services = servicesOf(ctx)
  return {
    kind,
    flock: ctx.flock,
    dest,
    me: ctx.me,
    leader: ctx.leader,
    lvote: ctx.lvote,
    vote: ctx.vote,
    sent: now,
    epoch: ctx.epoch,
    steward: services.steward,
    registry: services.registry,
    yurt: services.yurt,
    beacon: ctx.beacon,
    listVersion: leading ? ctx.list.version : 0,
    listDigest: leading ? digestOf(ctx.list) : '',
    n: leading ? ctx.list.size : 0,
  }
}

/** An admin command addressed to ourselves (original §1.7 rule 1: vote 0, the command in lvote). */
export function adminInfo(ctx: FlockContext, cmd: number, leader: NodeId = ctx.me, now = 0): Info {
  return { ...makeInfo(ctx, 'admin', ctx.me, now), vote: 0, lvote: cmd, leader }
}

/** Original `ping`: send our Info to `dest` unless it is ourselves. */
export function ping(ctx: FlockContext, out: Effect[], dest: NodeId, kind: InfoKind, now: number, override?: Partial<Info>): void {
  if (dest.id === ctx.me.id || dest.addr === ctx.me.addr) return
  const info = makeInfo(ctx, kind, dest, now)
  out.push({ type: 'send', to: dest.addr, event: { type: 'info', info: override === undefined ? info : { ...info, ...override } } })
}

/** A node known only by address (a probe target): the address stands in for the moniker. */
export function byAddr(addr: string): NodeId {
  return { id: addr, addr, horde: '' }
}

export function mon(ctx: FlockContext, out: Effect[], op: MonOp, now: number, cause: string, extra: { oflock?: string; n?: number } = {}): void {
  out.push({
    type: 'emit',
    record: { type: 'MonInfo', op, node: ctx.me.id, flock: ctx.flock, leader: ctx.leader.id, n: extra.n ?? ctx.memCount, oflock: extra.oflock ?? '', t: now, cause },
  })
}

/** Keeps `n` in history (bounded; oldest forgotten first). Members and the leader are filtered at use. */
export function remember(ctx: FlockContext, n: NodeId): void {
  if (n.id === ctx.me.id) return
  if (ctx.history[n.id] === undefined) {
    ctx.historyOrder.push(n.id)
    if (ctx.historyOrder.length > ctx.cfg.historyMax) {
      const old = ctx.historyOrder.shift()!
      delete ctx.history[old]
      delete ctx.lastSent[old]
    }
  }
  ctx.history[n.id] = n
}

/**
 * Forget every member (leader side) and the list copy; the list restarts with just us. The members
 * it named stay known peers (known.ts), so a node whose flock fell apart can find them again.
 */
export function resetMembers(ctx: FlockContext, now: number): void {
  keepList(ctx, now)
  ctx.mems = dict()
  ctx.checkInAt = 0
  ctx.leaderSuspect = null
  ctx.listChangedAt = now
  ctx.memByAddr = dict()
  ctx.memCount = 0
  ctx.list = emptyList()
  ctx.changes = []
  ctx.answers = { full: null }
  ctx.pulling = null
  ctx.pending = null
}

export type Tick = 'hb' | 'probe' | 'prune' | 'checkpoint' | 'key' | 'reboot'

/** Each periodic timer's period in heartbeats: the one place that knows them. */
function periodHb(ctx: FlockContext, name: Exclude<Tick, 'reboot'>): number {
  switch (name) {
    case 'hb':
      return 1
    case 'probe':
      return ctx.cfg.probeEveryHb
    case 'prune':
      return ctx.cfg.pruneEveryHb
    case 'checkpoint':
      return ctx.cfg.checkpointEveryHb
    case 'key':
      return ctx.cfg.keyPeriodHb
  }
}

/** (Re)arms periodic timer `name` one period from now. */
export function arm(ctx: FlockContext, out: Effect[], name: Exclude<Tick, 'reboot'>): void {
  out.push({ type: 'timer.set', name, ms: hb(ctx, periodHb(ctx, name)) })
}

/**
 * We lead, afresh: the list holds just us (the leader's own list names the leader, so every member's
 * copy names the whole flock), and the prune timer runs, which only a leader needs.
 */
export function leadList(ctx: FlockContext, out: Effect[], now: number): void {
  resetMembers(ctx, now)
  listPut(ctx.list, entryOf(ctx.me))
  ctx.list.version = 1
  arm(ctx, out, 'prune')
}

/**
 * Original `startOver`: a new random flock name and vote, lead ourselves, a fresh epoch. Unlike the
 * original (bug 4) the old members are forgotten, so they are not pinged with the new name.
 */
export function startOver(ctx: FlockContext, out: Effect[], now: number, cause: string): void {
  const oflock = ctx.flock
  ctx.flock = `_${smallId(ctx)}`
  ctx.vote = drawVote(ctx, ctx.visitor)
  ctx.me = { ...ctx.me, horde: '' }
  ctx.leader = ctx.me
  ctx.lvote = ctx.vote
  ctx.epoch = drawEpoch(ctx)
  ctx.leaderExpires = now + hb(ctx, ctx.cfg.shortLeaderHb)
  ctx.promotedAt = now
  ctx.rotate = false
  ctx.stats.startOvers++
  leadList(ctx, out, now)
  out.push({ type: 'emit', record: { type: 'Epoch', epoch: ctx.epoch, flock: ctx.flock } })
  mon(ctx, out, 'LeaderStart', now, cause, { oflock, n: 0 })
  checkpoint(ctx, out)
}

/**
 * Leader: after a change of the member list, the next check-in comes within ¼ HB instead of up to a
 * whole heartbeat, so members learn of a join or a departure (and pull it) sooner. Once per beat: a
 * join storm does not keep pushing the check-in back.
 */
export function hurryCheckIn(ctx: FlockContext, out: Effect[]): void {
  if (ctx.hurry) return
  ctx.hurry = true
  out.push({ type: 'timer.set', name: 'hb', ms: Math.max(1, Math.floor(ctx.cfg.hbMs / 4)) })
}

/** Leader: removes member `id` (pruned, or gone by its own notice): a logged list change. */
export function dropMember(ctx: FlockContext, id: string, now: number, out: Effect[], cause: string): void {
  const m = ctx.mems[id]
  if (m === undefined) return
  delete ctx.mems[id]
  if (ctx.memByAddr[m.node.addr] === id) delete ctx.memByAddr[m.node.addr]
  ctx.memCount--
  ctx.listChangedAt = now
  // Gone from the list, not from memory: if it comes back, a probe finds it. One that said goodbye
  // is forgotten, as Serf forgets members that left.
  if (cause === 'member-left') forgetKnown(ctx, id)
  else keepKnown(ctx, m.node, now)
  const old = listRemove(ctx.list, id)
  if (old !== undefined) {
    ctx.list.version++
    logChange(ctx.changes, { version: ctx.list.version, op: 'remove', entry: old }, ctx.cfg.listLogSize)
    hurryCheckIn(ctx, out)
  }
  // A prune round reports once for all it dropped (ticks.ts); a departure reports itself.
  if (cause !== 'prune') mon(ctx, out, 'LeaderDelta', now, cause)
}

/** Known peers a checkpoint keeps: enough to find a flock again, small enough to write often. */
const CHECKPOINT_KNOWN = 256

export function checkpoint(ctx: FlockContext, out: Effect[]): void {
  const history = ctx.historyOrder.slice(-32).map((id) => ctx.history[id]!)
  const known = knownForCheckpoint(ctx, CHECKPOINT_KNOWN)
  ctx.knownDirty = null
  out.push({ type: 'persist', key: 'checkpoint', value: { id: ctx.me.id, flock: ctx.flock, leader: isLeader(ctx) ? null : ctx.leader, history, known } })
}

export function promoted(ctx: FlockContext): boolean {
  return ctx.vote === VOTE_MAX
}
