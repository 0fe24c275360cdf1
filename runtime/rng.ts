/**
 * The seeded PRNG for effectful code (the simulator, the host). The algorithm and the pure functions
 * live in machines/rng.ts so machines can use them; this adds a mutable, inlined wrapper.
 */
import { rngSeed, type RngState } from '../machines/rng.js'

export { rngNext, rngSeed, rngFloat, type RngState } from '../machines/rng.js'

/** Checks that `x` is a valid serialised state (four integers in uint32 range). */
export function isRngState(x: unknown): x is RngState {
  return (
    Array.isArray(x) &&
    x.length === 4 &&
    x.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= -0x80000000 && n <= 0xffffffff)
  )
}

/** Mutable wrapper for effectful code (the simulator, the host). */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seedOrState: number | string | RngState) {
    const s = typeof seedOrState === 'object' ? seedOrState : rngSeed(seedOrState)
    this.a = s[0] | 0
    this.b = s[1] | 0
    this.c = s[2] | 0
    this.d = s[3] | 0
  }

  /** A uniform uint32. Same algorithm as {@link rngNext}, inlined for the simulator's hot path. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n)
  }

  /** True with probability p. Draws nothing when p ≤ 0, so turning a fault off does not shift the stream. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p
  }

  /** The current state, to store or to resume from. */
  state(): RngState {
    return [this.a, this.b, this.c, this.d]
  }
}
