/**
 * A fixed-size set of node indices as 32-bit words: the solver's sets, where `&`, `|` and `!` over a
 * thousand nodes cost 32 word operations each.
 */
export class Bits {
  private constructor(
    /** How many nodes the universe holds. */
    readonly n: number,
    private readonly w: Uint32Array,
  ) {}

  /** The empty set of a universe of `n` nodes. */
  static empty(n: number): Bits {
    return new Bits(n, new Uint32Array((n + 31) >>> 5))
  }

  /** Every node of a universe of `n`. */
  static full(n: number): Bits {
    return Bits.empty(n).not()
  }

  /** The set of the given indices. */
  static of(n: number, indices: Iterable<number>): Bits {
    const b = Bits.empty(n)
    for (const i of indices) b.w[i >>> 5]! |= 1 << (i & 31)
    return b
  }

  has(i: number): boolean {
    return (this.w[i >>> 5]! & (1 << (i & 31))) !== 0
  }

  and(o: Bits): Bits {
    return this.map((a, i) => a & o.w[i]!)
  }

  or(o: Bits): Bits {
    return this.map((a, i) => a | o.w[i]!)
  }

  /** This set without the nodes of `o`. */
  minus(o: Bits): Bits {
    return this.map((a, i) => a & ~o.w[i]!)
  }

  /** The complement within the universe (the last word's spare bits stay clear). */
  not(): Bits {
    const r = this.map((a) => ~a)
    const spare = r.n & 31
    if (spare !== 0) r.w[r.w.length - 1]! &= (1 << spare) - 1
    return r
  }

  /** How many nodes the set holds. */
  count(): number {
    let c = 0
    for (let x of this.w) {
      x = x - ((x >>> 1) & 0x55555555)
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
      c += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
    }
    return c
  }

  /** The indices, ascending. */
  indices(): number[] {
    const out: number[] = []
    for (let k = 0; k < this.w.length; k++) {
      let x = this.w[k]!
      while (x !== 0) {
        const low = x & -x
        out.push((k << 5) + 31 - Math.clz32(low))
        x ^= low
      }
    }
    return out
  }

  private map(f: (a: number, i: number) => number): Bits {
    const r = new Uint32Array(this.w.length)
    for (let i = 0; i < r.length; i++) r[i] = f(this.w[i]!, i)
    return new Bits(this.n, r)
  }
}
