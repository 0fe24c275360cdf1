/**
 * A small seeded PRNG (sfc32: 128 bits of state, passes PractRand to 2^40+, ~4 ns a draw). Its state
 * is four uint32s, so it serialises into a journal header or a machine's context and can be resumed.
 * Machines that need randomness carry an {@link RngState} in their context and call the pure
 * {@link rngNext}; effectful code may use the {@link Rng} class around the same function.
 */

/** The whole state of the generator. */
export type RngState = readonly [number, number, number, number]

/** Advances `state` and returns [uint32, next state]. Pure. */
export function rngNext(state: RngState): [number, RngState] {
  let [a, b, c, d] = state
  const t = (((a + b) | 0) + d) | 0
  d = (d + 1) | 0
  a = b ^ (b >>> 9)
  b = (c + (c << 3)) | 0
  c = (c << 21) | (c >>> 11)
  c = (c + t) | 0
  return [t >>> 0, [a, b, c, d]]
}

/**
 * Expands a seed (any integer, or a string) into a well-mixed state. Uses splitmix32 so that seeds 1
 * and 2 give unrelated streams, then discards 12 outputs as sfc32's authors recommend.
 */
export function rngSeed(seed: number | string): RngState {
  let h = typeof seed === 'number' ? seed >>> 0 : hashString(seed)
  const mix = (): number => {
    h = (h + 0x9e3779b9) | 0
    let z = h
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let s: RngState = [mix(), mix(), mix(), mix()]
  for (let i = 0; i < 12; i++) s = rngNext(s)[1]
  return s
}

function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

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
