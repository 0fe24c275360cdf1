/**
 * A small seeded PRNG (sfc32: 128 bits of state, passes PractRand to 2^40+, ~4 ns a draw). Its state
 * is four uint32s, so it serialises into a journal header or a machine's context and can be resumed.
 * Machines carry an {@link RngState} in their context and call the pure {@link rngNext}; the runtime's
 * `Rng` class (runtime/rng.ts) wraps the same algorithm for effectful code.
 *
 * Pure module: lives under machines/ because machines may import nothing from the runtime.
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

/** A uniform float in [0, 1) and the next state. Pure. */
export function rngFloat(state: RngState): [number, RngState] {
  const [v, next] = rngNext(state)
  return [v / 4294967296, next]
}
