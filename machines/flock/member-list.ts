/**
 * The member list and its digest. The digest is the XOR of a 64-bit hash of every entry, so adding or
 * removing one entry updates it in O(1) and two lists with the same entries have the same digest
 * whatever order they were built in. Everything mutates in place: the leader applies a heartbeat
 * batch without copying a list of ten thousand entries.
 */
import type { ListChange, ListChunk, MemberEntry, MemberList, NodeId } from './types.js'

/**
 * A record keyed by ids from the wire. No prototype, so an id like `constructor` or `__proto__` is an
 * ordinary key instead of something inherited from Object.prototype.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>
}

export function emptyList(): MemberList {
  return { version: 0, lo: 0, hi: 0, entries: dict(), size: 0 }
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

/** UTF-8 length of a string, without allocating. */
/** UTF-8 bytes of `s` (protobuf string length). */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3
  }
  return n
}

/** Encoded size of an entry in a chunk, with protobuf's tags and length prefixes (an upper bound). */
export function entryBytes(e: MemberEntry): number {
  return utf8Length(e.id) + utf8Length(e.addr) + utf8Length(e.horde) + 12
}

/** Splits items into runs whose summed `cost` stays within `budget`, at most `max` items each. */
function pack<T>(items: T[], cost: (x: T) => number, budget: number, max: number): T[][] {
  const out: T[][] = []
  let cur: T[] = []
  let used = 0
  for (const x of items) {
    const c = cost(x)
    if (cur.length > 0 && (used + c > budget || cur.length >= max)) {
      out.push(cur)
      cur = []
      used = 0
    }
    cur.push(x)
    used += c
  }
  if (cur.length > 0 || out.length === 0) out.push(cur)
  return out
}

/** Most entries (added plus removed) in one chunk: the wire codec's limit. */
const MAX_CHUNK_ITEMS = 64

/** The list's entries, sorted by id, in pages of at most `budget` encoded bytes (Confab answers). */
export function listPages(list: MemberList, budget: number): MemberEntry[][] {
  return pack(Object.values(list.entries).sort(byId), entryBytes, budget, MAX_CHUNK_ITEMS)
}

/**
 * Leader: the chunks answering a pull `since`. A delta when the log still covers `since`, else the
 * whole list. Chunks are packed by encoded size: each carries entries worth at most `budget` bytes,
 * so with the chunk's own fields it fits one datagram (typical entries: 25–40 per chunk).
 */
export function answerPull(
  list: MemberList,
  log: ListChange[],
  since: number,
  budget: number,
  flock: string,
  leader: NodeId,
  cache?: { full: ListChunk[] | null },
): ListChunk[] {
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
    const items: Array<MemberEntry | string> = [...added, ...removed]
    const runs = pack(items, (x) => (typeof x === 'string' ? utf8Length(x) + 3 : entryBytes(x)), budget, MAX_CHUNK_ITEMS)
    return runs.map((run, index) => ({
      ...base,
      full: false,
      index,
      count: runs.length,
      added: run.filter((x): x is MemberEntry => typeof x !== 'string'),
      removed: run.filter((x): x is string => typeof x === 'string'),
    }))
  }
  // The whole list is the same answer for every member at this version: build it once. While a big
  // flock forms, thousands of members pull it within one heartbeat.
  const cached = cache?.full
  if (cached && cached.length > 0 && cached[0]!.version === list.version && cached[0]!.flock === flock && cached[0]!.digest === digest) return cached
  const runs = pack(Object.values(list.entries).sort(byId), entryBytes, budget, MAX_CHUNK_ITEMS)
  const chunks = runs.map((added, index) => ({ ...base, since: 0, full: true, index, count: runs.length, added, removed: [] }))
  if (cache !== undefined) cache.full = chunks
  return chunks
}

function byId(a: MemberEntry, b: MemberEntry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
