/**
 * Token buckets: `burst` tokens at most, `perS` more each second, one spent per unit of work. The
 * receiver's key-derivation budget (key-budget.ts) keeps many as plain records; a single bucket
 * (`createTokenBucket`) bounds one producer, such as what a service sends its node (actors/picket/).
 */

/** A token bucket's shape: `burst` tokens at most, `perS` added a second. */
export interface BucketShape {
  burst: number
  perS: number
}

/** A bucket's state: its tokens when last refilled, and when (ms). */
export interface Bucket {
  tokens: number
  at: number
}

/** Adds what `shape` grants from `b.at` to `now`, up to its burst. */
export function refill(b: Bucket, shape: BucketShape, now: number): void {
  if (now > b.at) b.tokens = Math.min(shape.burst, b.tokens + ((now - b.at) * shape.perS) / 1000)
  b.at = now
}

/** One bucket, full at first: `take(now)` spends a token if there is one. */
export function createTokenBucket(shape: BucketShape): { take(now: number): boolean } {
  let b: Bucket | undefined
  return {
    take(now) {
      if (b === undefined) b = { tokens: shape.burst, at: now }
      refill(b, shape, now)
      if (b.tokens < 1) return false
      b.tokens--
      return true
    },
  }
}
