/**
 * The pastiche checker of `crux sim --blobs B`: at every mark, no live node holds a blob whose bytes do
 * not hash to its name, and none loses a wanted blob it held; at the end, every blob wanted on a live
 * node is held there (and pinned) whenever some live honest node holds it to fetch from, within
 * `doneHb` heartbeats of the last fault (of the start, without faults).
 */
import type { PasticheCounters } from '../../machines/pastiche/types.js'
import type { Fault } from './check-faults.js'
import { blobName } from './pastiche-blobs.js'

export const PASTICHE_VIOLATION_KINDS = ['pastiche-wrong-blob', 'pastiche-lost', 'pastiche-missing', 'pastiche-late', 'pastiche-unpinned'] as const
export type PasticheViolationKind = (typeof PASTICHE_VIOLATION_KINDS)[number]

export interface PasticheBounds {
  /** A wanted blob is held within this many heartbeats of the last fault. */
  doneHb: number
}

export const DEFAULT_PASTICHE_BOUNDS: PasticheBounds = { doneHb: 30 }

/** One live node at a mark. */
export interface PasticheNodeView {
  node: string
  /** It serves the bytes it holds (a corrupt node does not). */
  honest: boolean
  store: ReadonlyMap<string, Uint8Array>
  pins: ReadonlySet<string>
  /** Its machine's counters (absent when the machine is not running). */
  counters?: PasticheCounters
}

/** The summary's `pastiche` object. */
export interface PasticheSummary {
  blobs: number
  /** Holdings: (blob, node) pairs. */
  wanted: number
  /** Blobs completed by a fetch, over all nodes. */
  fetched: number
  /** Ranges found bad (and lone senders of an assembly that hashed wrong), over all nodes. */
  bad_ranges: number
  /** Assemblies that hashed wrong, ranges that failed, range transfers asked. */
  bad_assemblies: number
  failed_ranges: number
  ranges: number
  /** Holdings on live nodes that no live honest node could serve at the end (not judged). */
  unservable: number
  /** The longest a holding took, from the heartbeat it was given to the first mark it was seen held at. */
  done_hb_max: number
  violations: string[]
}

export class PasticheChecker {
  readonly found: Array<{ kind: PasticheViolationKind; message: string }> = []
  private readonly bounds: PasticheBounds
  private readonly dead = new Set<string>()
  private lastFaultHb = 0
  private readonly doneAt = new Map<string, number>()
  private readonly verified = new WeakSet<Uint8Array>()
  private readonly counters = new Map<string, PasticheCounters>()
  private unservable = 0
  /** At the last mark: every holding on a live node that some live honest node can serve is held. */
  complete = false

  constructor(
    private readonly holdings: ReadonlyArray<{ hash: string; node: string; atHb: number }>,
    private readonly blobs: number,
    bounds: Partial<PasticheBounds> = {},
  ) {
    this.bounds = { ...DEFAULT_PASTICHE_BOUNDS, ...bounds }
  }

  fault(hb: number, f: Fault): void {
    this.lastFaultHb = hb
    if (f.kind === 'crash') for (const n of f.nodes ?? []) this.dead.add(n)
  }

  private report(kind: PasticheViolationKind, message: string): void {
    if (this.found.length < 100) this.found.push({ kind, message })
  }

  /** Judges the live nodes at heartbeat `hb`. */
  observe(hb: number, all: readonly PasticheNodeView[]): void {
    const views = new Map(all.filter((v) => !this.dead.has(v.node)).map((v) => [v.node, v]))
    for (const v of views.values()) {
      if (v.counters !== undefined) this.counters.set(v.node, { ...v.counters })
      for (const [hash, bytes] of v.store) {
        if (this.verified.has(bytes)) continue
        if (blobName(bytes) !== hash) this.report('pastiche-wrong-blob', `HB ${hb}: ${v.node} holds ${short(hash)}, whose bytes hash to ${short(blobName(bytes))}`)
        this.verified.add(bytes)
      }
    }
    let open = 0
    this.unservable = 0
    for (const h of this.holdings) {
      const v = views.get(h.node)
      if (v === undefined) continue
      const key = `${h.node} ${h.hash}`
      if (v.store.has(h.hash)) {
        if (!this.doneAt.has(key)) this.doneAt.set(key, hb)
        continue
      }
      if (hb < h.atHb) {
        open++
        continue
      }
      if (this.doneAt.has(key)) {
        this.report('pastiche-lost', `HB ${hb}: ${h.node} held ${short(h.hash)}, wanted there, and lost it`)
        this.doneAt.delete(key)
      }
      if ([...views.values()].some((o) => o.honest && o.store.has(h.hash))) open++
      else this.unservable++
    }
    this.complete = open === 0
  }

  /** The end of the run at heartbeat `hb` (after a last `observe`). */
  finish(hb: number, all: readonly PasticheNodeView[]): void {
    const views = new Map(all.filter((v) => !this.dead.has(v.node)).map((v) => [v.node, v]))
    for (const h of this.holdings) {
      const v = views.get(h.node)
      if (v === undefined) continue
      const done = this.doneAt.get(`${h.node} ${h.hash}`)
      const servable = [...views.values()].some((o) => o.honest && o.store.has(h.hash))
      if (done === undefined && servable) this.report('pastiche-missing', `HB ${hb}: ${short(h.hash)} is wanted on ${h.node}, held by a live honest node, and not there`)
      if (done !== undefined && done > Math.max(h.atHb, this.lastFaultHb) + this.bounds.doneHb) this.report('pastiche-late', `${short(h.hash)} reached ${h.node} at HB ${done}, wanted from HB ${h.atHb}: over ${this.bounds.doneHb} HB after that and after the last fault (HB ${this.lastFaultHb})`)
      if (done !== undefined && !v.pins.has(h.hash)) this.report('pastiche-unpinned', `HB ${hb}: ${short(h.hash)} is held for a holding on ${h.node} but not pinned`)
    }
  }

  kinds(): Partial<Record<PasticheViolationKind, number>> {
    const out: Partial<Record<PasticheViolationKind, number>> = {}
    for (const v of this.found) out[v.kind] = (out[v.kind] ?? 0) + 1
    return out
  }

  summary(): PasticheSummary {
    const sum = (k: keyof PasticheCounters) => [...this.counters.values()].reduce((n, c) => n + c[k], 0)
    return {
      blobs: this.blobs,
      wanted: this.holdings.length,
      fetched: sum('completed'),
      bad_ranges: sum('bad'),
      bad_assemblies: sum('badAssemblies'),
      failed_ranges: sum('failed'),
      ranges: sum('fetches'),
      unservable: this.unservable,
      done_hb_max: Math.max(0, ...this.holdings.map((h) => (this.doneAt.get(`${h.node} ${h.hash}`) ?? h.atHb) - h.atHb)),
      violations: this.found.map((v) => v.message),
    }
  }
}

/** A blob name cut to its first 12 hex digits, for messages. */
function short(hash: string): string {
  return hash.slice(0, 'sha256:'.length + 12)
}
