/**
 * What the visualiser's live page draws: every node the live feed names, with where it stands. A
 * beacon's MonInfo records name nodes only when something happens to them (a member of a settled
 * flock says nothing; only its leader reports, as a count), so the page also asks the nodes over
 * Confab (actors/viz/live-poll.ts): each node's own `names` answer (role, flock, leader, epoch) and
 * each leader's member list (ids and addresses). This module keeps, per node, the newest of the three
 * sources and the changes MonInfo reported, and groups the nodes by flock under the status
 * analyser's judgement. Pure: times are given, nothing is read or sent here.
 */
import type { ConfabAnswer } from '../../machines/flock/types.js'
import type { FlockStatus, MonRecord, StatusView } from '../../machines/status/types.js'

/** One MonInfo record as it arrived (`at`: the visualiser's clock, ms). */
export interface LiveRecord {
  at: number
  op: MonRecord['op']
  flock: string
  leader: string
  oflock: string
  n: number
  cause: string
}

/** A node's own Confab `names` answer. */
export interface LiveSaid {
  at: number
  role: string
  flock: string
  leader: string
  leaderAddr: string
  epoch: string
  members: number
}

export interface LiveNode {
  id: string
  /** '' while no member list or answer gave it. */
  addr: string
  said: LiveSaid | null
  /** The newest MonInfo record from it. */
  mon: LiveRecord | null
  /** Records from it, newest last, without the periodic ones that repeat where it stands (at most {@link HISTORY}). */
  history: LiveRecord[]
  /** The newest member list of a leader that named it. */
  listed: { at: number; flock: string; leader: string } | null
  /** MonInfo records read from it. */
  records: number
}

export interface LiveState {
  nodes: Map<string, LiveNode>
  /** A node no source mentioned for this long, and whose flock no leader reports, is gone. */
  forgetMs: number
}

/** Where a node stands now, and which source says so. */
export interface LiveStanding {
  role: string
  flock: string
  leader: string
  /** 'node': its own answer; 'leader list': its leader's member list; 'moninfo': its last record. */
  source: 'node' | 'leader list' | 'moninfo'
  at: number
}

/** One node as the page draws it. */
export interface LiveNodeView {
  id: string
  addr: string
  role: string
  leader: string
  epoch: string
  source: LiveStanding['source']
}

export interface LiveFlockView extends FlockStatus {
  /** false: no leader reports this flock to the beacon (the nodes name it themselves). */
  reported: boolean
  members: LiveNodeView[]
}

export interface LiveView {
  at: number
  flocks: LiveFlockView[]
  rebooting: string[]
}

/** A node gone for this many times `forgetMs` is forgotten altogether (its explanation with it). */
export const GONE_FORGETS = 10

/** Records kept per node for its explanation. */
export const HISTORY = 20

export function createLive(forgetMs: number): LiveState {
  return { nodes: new Map(), forgetMs }
}

function node(s: LiveState, id: string): LiveNode {
  let n = s.nodes.get(id)
  if (n === undefined) s.nodes.set(id, (n = { id, addr: '', said: null, mon: null, history: [], listed: null, records: 0 }))
  return n
}

/** Reads one MonInfo record that arrived at `at`. */
export function readMon(s: LiveState, m: MonRecord, at: number): void {
  const n = node(s, m.node)
  const r: LiveRecord = { at, op: m.op, flock: m.flock, leader: m.leader, oflock: m.oflock, n: m.n, cause: m.cause }
  const last = n.mon
  n.mon = r
  n.records++
  // Probes and leader heartbeats repeat while nothing changes: kept only when the standing moved.
  const periodic = m.op === 'Probe' || m.op === 'LeaderHeart'
  if (periodic && last !== null && last.flock === r.flock && last.leader === r.leader) return
  n.history.push(r)
  if (n.history.length > HISTORY) n.history.shift()
}

/** Reads a Confab answer from `from` (the address asked): the node's own standing, and a leader's list page. */
export function readAnswer(s: LiveState, a: ConfabAnswer, from: string, at: number): void {
  if (a.reason !== '' || a.node === '') return
  const n = node(s, a.node)
  n.addr = from
  n.said = { at, role: a.role, flock: a.flock, leader: a.leader.id, leaderAddr: a.leader.addr, epoch: a.epoch, members: a.members }
  if (a.leader.id !== '' && a.leader.addr !== '') {
    const l = node(s, a.leader.id)
    if (l.addr === '') l.addr = a.leader.addr
  }
  // A member's copy of the list may lag; only the leader's own list says who is in the flock.
  if (a.leader.id !== a.node) return
  for (const e of a.entries) {
    const m = node(s, e.id)
    if (e.addr !== '') m.addr = e.addr
    m.listed = { at, flock: a.flock, leader: a.node }
  }
}

/** The newest of what the node said, what its last record said and what a leader's list said. */
export function standingOf(n: LiveNode): LiveStanding | null {
  const c: LiveStanding[] = []
  if (n.said !== null) c.push({ role: n.said.role, flock: n.said.flock, leader: n.said.leader, source: 'node', at: n.said.at })
  if (n.mon !== null) c.push({ role: monRole(n.id, n.mon), flock: n.mon.flock, leader: n.mon.leader, source: 'moninfo', at: n.mon.at })
  if (n.listed !== null) c.push({ role: n.listed.leader === n.id ? 'leader' : 'member', flock: n.listed.flock, leader: n.listed.leader, source: 'leader list', at: n.listed.at })
  if (c.length === 0) return null
  // Ties go to the node's own answer (it names the finer role), then to its own record.
  const best = c.reduce((a, b) => (b.at > a.at ? b : a))
  // Another source that agrees on flock and leader does not lose the node's finer role.
  if (best.source !== 'node' && n.said !== null && n.said.flock === best.flock && n.said.leader === best.leader && best.role !== 'left' && best.role !== 'rebooting') return { ...best, role: n.said.role }
  return best
}

function monRole(id: string, r: LiveRecord): string {
  if (r.op === 'Exit') return 'left'
  if (r.op === 'Reboot') return 'rebooting'
  return r.leader === id ? 'leader' : 'member'
}

const reportedBy = (status: StatusView | null, st: LiveStanding) => status?.flocks.find((f) => f.flock === st.flock && f.leader === st.leader)

/** Every node still there, with where it stands, grouped by flock: the analyser's flocks first, in its order. */
export function liveView(s: LiveState, status: StatusView | null, now: number): LiveView {
  const groups = new Map<string, LiveFlockView>()
  for (const f of status?.flocks ?? []) groups.set(f.flock, { ...f, reported: true, members: [] })
  // Flocks whose leader's member list is fresh: it alone says who is in them.
  const listedFlocks = new Set<string>()
  for (const n of s.nodes.values()) if (n.listed !== null && now - n.listed.at <= s.forgetMs) listedFlocks.add(n.listed.flock)
  for (const n of s.nodes.values()) {
    const st = standingOf(n)
    // A silent member of a flock its leader still reports, with no fresh list to check it against,
    // is still there (MonInfo alone: members say nothing once settled); anyone else stale is gone.
    const gone = st === null || st.role === 'left' || (now - st.at > s.forgetMs && (reportedBy(status, st) === undefined || listedFlocks.has(st.flock)))
    if (gone) {
      // Long gone: forgotten, so nodes that come and go do not pile up (like the analyser's lapsed flocks).
      if (st === null || now - st.at > GONE_FORGETS * s.forgetMs) s.nodes.delete(n.id)
      continue
    }
    let g = groups.get(st.flock)
    if (g === undefined) groups.set(st.flock, (g = { flock: st.flock, leader: st.leader, nodes: 0, since: st.at, stable: false, reported: false, members: [] }))
    g.members.push({ id: n.id, addr: n.addr, role: st.role, leader: st.leader, epoch: n.said?.epoch ?? '', source: st.source })
  }
  const flocks = [...groups.values()].filter((g) => g.reported || g.members.length > 0)
  for (const g of flocks) {
    if (!g.reported) g.nodes = g.members.length
    g.members.sort((a, b) => Number(b.id === g.leader) - Number(a.id === g.leader) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }
  return { at: now, flocks, rebooting: status?.rebooting ?? [] }
}

/** Addresses to ask: every node's `names`, and each leader's member list. */
export function pollTargets(s: LiveState, seeds: readonly string[]): { names: string[]; members: string[] } {
  const names = new Set(seeds)
  const members = new Set<string>()
  for (const n of s.nodes.values()) {
    if (n.addr !== '') names.add(n.addr)
    if (n.said !== null && n.said.leaderAddr !== '') members.add(n.said.leaderAddr)
  }
  return { names: [...names], members: [...members] }
}
