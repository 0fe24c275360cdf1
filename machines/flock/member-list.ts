/**
 * The member list and its digest. The digest is the XOR of a 64-bit hash of every entry, so adding or
 * removing one entry updates it in O(1) and two lists with the same entries have the same digest
 * whatever order they were built in. Everything mutates in place: the leader applies a heartbeat
 * batch without copying a list of ten thousand entries.
 */
import type { ListChange, ListChunk, MemberEntry, MemberList, NodeId } from './types.js'

export function emptyList(): MemberList {
  return { version: 0, lo: 0, hi: 0, entries: {}, size: 0 }
}

/** Two independent 32-bit FNV-1a style hashes of the entry's fields. */
function entryHash(e: MemberEntry): [number, number] {
  const s = `${e.id}\u0000${e.addr}\u0000${e.horde}`
  let a = 0x811c9dc5
  let b = 0x01000193 ^ s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  return [a >>> 0, b >>> 0]
}

export function digestOf(list: MemberList): string {
  return (list.hi >>> 0).toString(16).padStart(8, '0') + (list.lo >>> 0).toString(16).padStart(8, '0')
}

/** Adds or replaces an entry. Returns true when the list changed. */
export function listPut(list: MemberList, e: MemberEntry): boolean {
  const old = list.entries[e.id]
  if (old !== undefined) {
    if (old.addr === e.addr && old.horde === e.horde) return false
    xor(list, old)
  } else {
    list.size++
  }
  const copy = { id: e.id, addr: e.addr, horde: e.horde }
  list.entries[e.id] = copy
  xor(list, copy)
  return true
}

/** Removes an entry by id. Returns the removed entry, if any. */
export function listRemove(list: MemberList, id: string): MemberEntry | undefined {
  const old = list.entries[id]
  if (old === undefined) return undefined
  xor(list, old)
  delete list.entries[id]
  list.size--
  return old
}

function xor(list: MemberList, e: MemberEntry): void {
  const [a, b] = entryHash(e)
  list.lo = (list.lo ^ a) >>> 0
  list.hi = (list.hi ^ b) >>> 0
}

export function entryOf(n: NodeId): MemberEntry {
  return { id: n.id, addr: n.addr, horde: n.horde }
}

/** Leader: records a change and trims the log to `max` entries. */
export function logChange(log: ListChange[], change: ListChange, max: number): void {
  log.push(change)
  if (log.length > max) log.splice(0, log.length - max)
}

/**
 * Leader: the chunks answering a pull `since`. A delta when the log still covers `since`, else the
 * whole list. Each chunk carries at most `per` entries, so it fits one datagram.
 */
export function answerPull(list: MemberList, log: ListChange[], since: number, per: number, flock: string, leader: NodeId): ListChunk[] {
  const digest = digestOf(list)
  const base = { flock, leader, version: list.version, digest, since }
  const oldest = log.length > 0 ? log[0]!.version : list.version + 1
  if (since > 0 && since <= list.version && since >= oldest - 1) {
    // Net effect per id since `since`: the last change wins.
    const net = new Map<string, ListChange>()
    for (let i = log.length - 1; i >= 0 && log[i]!.version > since; i--) {
      const c = log[i]!
      if (!net.has(c.entry.id)) net.set(c.entry.id, c)
    }
    const added: MemberEntry[] = []
    const removed: string[] = []
    for (const c of net.values()) {
      if (c.op === 'add') added.push(c.entry)
      else removed.push(c.entry.id)
    }
    added.sort(byId)
    removed.sort()
    const count = Math.max(1, Math.ceil((added.length + removed.length) / per))
    const chunks: ListChunk[] = []
    let ai = 0
    let ri = 0
    for (let index = 0; index < count; index++) {
      const a = added.slice(ai, ai + per)
      ai += a.length
      const r = removed.slice(ri, ri + (per - a.length))
      ri += r.length
      chunks.push({ ...base, full: false, index, count, added: a, removed: r })
    }
    return chunks
  }
  const all = Object.values(list.entries).sort(byId)
  const count = Math.max(1, Math.ceil(all.length / per))
  const chunks: ListChunk[] = []
  for (let index = 0; index < count; index++) {
    chunks.push({ ...base, since: 0, full: true, index, count, added: all.slice(index * per, (index + 1) * per), removed: [] })
  }
  return chunks
}

function byId(a: MemberEntry, b: MemberEntry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
