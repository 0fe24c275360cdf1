/**
 * Everything random the flock draws, from the seeded state in its context: flock names and monikers
 * (original `crux.SmallID`: two base-62 words of 32 bits), votes, epochs and probe addresses.
 * Each function advances `ctx.rng` in place and returns the draw.
 */
import { rngNext, type RngState } from '../rng.js'
import { HIST_REWORK, PROBE_TRIES, VOTE_MAX } from './constants.js'
import type { NodeId, ProbeRange, ProbeSpec } from './types.js'

const ALPHABET = 'qwertyuiopasdfghjklzxcvbnmQWERTYUIOPASDFGHJKLZXCVBNM1234567890'

interface HasRng {
  rng: RngState
}

export function u32(ctx: HasRng): number {
  const [v, next] = rngNext(ctx.rng)
  ctx.rng = next
  return v
}

/** Uniform in [0, n). */
export function below(ctx: HasRng, n: number): number {
  return Math.floor((u32(ctx) / 4294967296) * n)
}

export function chance(ctx: HasRng, p: number): boolean {
  return p >= 1 || (p > 0 && u32(ctx) / 4294967296 < p)
}

/**
 * Up to `k` items of `pool` chosen uniformly at random (reservoir sampling), skipping those `skip`
 * names: one pass, whatever the pool's size.
 */
export function sample<T>(ctx: HasRng, pool: Iterable<T>, k: number, skip: (x: T) => boolean = () => false): T[] {
  const out: T[] = []
  let seen = 0
  for (const x of pool) {
    if (skip(x)) continue
    seen++
    if (out.length < k) out.push(x)
    else {
      const i = below(ctx, seen)
      if (i < k) out[i] = x
    }
  }
  return out
}

function word(v: number): string {
  if (v === 0) return '0'
  let s = ''
  while (v > 0) {
    s += ALPHABET[v % 62]
    v = Math.floor(v / 62)
  }
  return s
}

/** Two base-62 words joined by `_` (least significant digit first, as the original). */
export function smallId(ctx: HasRng): string {
  return `${word(u32(ctx))}_${word(u32(ctx))}`
}

/** A vote in [1, VOTE_MAX − 1]; a visitor always votes 1. */
export function drawVote(ctx: HasRng, visitor: boolean): number {
  return visitor ? 1 : 1 + below(ctx, VOTE_MAX - 1)
}

/**
 * The next key epoch after `previous`: `<seq>-<64 random bits>`. The sequence number makes epochs
 * ordered within a flock (the history checker verifies they never go back); the random part makes
 * them unguessable. A new flock starts at 1.
 */
export function drawEpoch(ctx: HasRng, previous = ''): string {
  const seq = epochSeq(previous) + 1
  return `${seq}-${u32(ctx).toString(16).padStart(8, '0')}${u32(ctx).toString(16).padStart(8, '0')}`
}

/** The sequence number of an epoch (0 for none or a malformed one). */
export function epochSeq(epoch: string): number {
  const dash = epoch.indexOf('-')
  const n = dash > 0 ? Number(epoch.slice(0, dash)) : NaN
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

function fromRange(ctx: HasRng, r: ProbeRange): string {
  if (r.kind === 'names') return `${r.prefix}${r.from + below(ctx, r.to - r.from + 1)}`
  const ip = (r.base + below(ctx, r.count)) >>> 0
  const port = r.portFrom + below(ctx, r.portTo - r.portFrom + 1)
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${port}`
}

function rangeSize(r: ProbeRange): number {
  return r.kind === 'names' ? r.to - r.from + 1 : r.count * (r.portTo - r.portFrom + 1)
}

/** One random probe address from the spec, or null for an empty slot (density < 1, or nothing to probe). */
export function randomProbe(ctx: HasRng, spec: ProbeSpec): string | null {
  const total = spec.seeds.length + spec.ranges.reduce((s, r) => s + rangeSize(r), 0)
  if (total === 0) return null
  if (spec.ranges.length > 0 && !chance(ctx, spec.density)) return null
  let k = below(ctx, total)
  if (k < spec.seeds.length) return spec.seeds[k]!
  k -= spec.seeds.length
  for (const r of spec.ranges) {
    const size = rangeSize(r)
    if (k < size) return fromRange(ctx, r)
    k -= size
  }
  return null
}

/**
 * A probe round (original §1.6, with its bug 11 fixed): up to `nh` = max(1, n × 10 %) addresses from
 * history by reservoir sampling, then random slots up to `n`, skipping ourselves, members, the
 * leader and addresses already chosen.
 */
export function probeRound(ctx: HasRng, n: number, spec: ProbeSpec, history: Record<string, NodeId>, order: string[], skip: (addr: string) => boolean, self: string): string[] {
  let nh = Math.max(1, Math.floor(n * HIST_REWORK))
  if (n <= 1) {
    n = 1
    nh = 0
  }
  const picked: string[] = []
  let k = 0
  for (const id of order) {
    const h = history[id]
    if (h === undefined || h.addr === self || skip(h.addr)) continue
    k++
    if (picked.length < nh) picked.push(h.addr)
    else {
      const x = below(ctx, k)
      if (x < nh) picked[x] = h.addr
    }
  }
  const chosen = new Set(picked)
  // An empty slot (density miss) uses the slot up, as the original test's ("", true) did; an
  // unusable address (ourselves, a member, a repeat) is retried, within 5n tries.
  let slots = n - chosen.size
  for (let tries = 0; slots > 0 && tries < PROBE_TRIES * n; tries++) {
    const a = randomProbe(ctx, spec)
    if (a === null) {
      slots--
      continue
    }
    if (a === self || chosen.has(a) || skip(a)) continue
    chosen.add(a)
    slots--
  }
  return [...chosen]
}
