/**
 * The derivation budget of a receiver (issue 13 item 4): how many key ids it has never heard may
 * cost it a key derivation. Any 32-bit key id is well-formed, so only deriving its key and trying the
 * tag tells a forged one from a new sender's; without a bound, a flood of random ids from one
 * process costs the receiver a derivation each and takes its core. Token buckets, one per source
 * address (so a flooding source spends only its own) and one for all sources (so spoofing many
 * sources gains nothing), refilled on the receiver's clock. Known key ids never touch the budget: a
 * flock's members and clients already heard keep working however hard the budget is pressed.
 */
import type { Clock } from './clock.js'
import { refill, type Bucket, type BucketShape } from './token-bucket.js'

export type { BucketShape }

/** How a {@link KeyBudget} is shaped and timed. */
export interface KeyBudgetInit {
  /** Time source (the transport's clock; tests use a VirtualClock). */
  clock: Pick<Clock, 'now'>
  /** Per source host. Default 32 at once, 16/s: a flock of 32 on one host forms at once. */
  perSource?: BucketShape
  /** For all sources together. Default 256 at once, 128/s. */
  global?: BucketShape
  /** Sources whose buckets are kept (least recently seen forgotten: it comes back full). Default 1 024. */
  maxSources?: number
}

/** The defaults, as docs/LIMITS.md states them. */
export const KEY_BUDGET_DEFAULTS = { perSource: { burst: 32, perS: 16 }, global: { burst: 256, perS: 128 }, maxSources: 1024 } as const

/** Decides whether an unknown key id from a source may cost a derivation now. */
export class KeyBudget {
  private readonly clock: Pick<Clock, 'now'>
  private readonly perSource: BucketShape
  private readonly globalShape: BucketShape
  private readonly maxSources: number
  private readonly global: Bucket
  private readonly sources = new Map<string, Bucket>() // least recently seen first
  private newest = '' // the last entry of `sources`: a flood from one host skips the reordering

  constructor(init: KeyBudgetInit) {
    this.clock = init.clock
    this.perSource = init.perSource ?? KEY_BUDGET_DEFAULTS.perSource
    this.globalShape = init.global ?? KEY_BUDGET_DEFAULTS.global
    this.maxSources = init.maxSources ?? KEY_BUDGET_DEFAULTS.maxSources
    this.global = { tokens: this.globalShape.burst, at: this.clock.now() }
  }

  /**
   * Takes one token from `from`'s bucket and the global one, or none if either is empty. `from` is
   * `HOST:PORT`; the port is left out, as a sender picks it freely. Constant work: a Map lookup.
   */
  take(from: string): boolean {
    const now = this.clock.now()
    const colon = from.lastIndexOf(':')
    const host = colon < 0 ? from : from.slice(0, colon)
    let b = this.sources.get(host)
    if (b === undefined) {
      b = { tokens: this.perSource.burst, at: now }
      if (this.sources.size >= this.maxSources) this.sources.delete(this.sources.keys().next().value!)
      this.sources.set(host, b)
      this.newest = host
    } else if (host !== this.newest) {
      this.sources.delete(host)
      this.sources.set(host, b)
      this.newest = host
    }
    refill(b, this.perSource, now)
    refill(this.global, this.globalShape, now)
    // Checked before either is spent: a source over its own budget must not drain the global one.
    if (b.tokens < 1 || this.global.tokens < 1) return false
    b.tokens--
    this.global.tokens--
    return true
  }
}
