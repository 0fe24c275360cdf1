/**
 * Fault settings of the simulated network, and their checked, flattened form. The simulator reads
 * the flattened {@link LinkFaults} once per packet, so it holds plain numbers only: no tuples to
 * unpack, no optional fields to default on the hot path.
 */
import { InvalidArgumentError } from './errors.js'

/** A delay in ms: fixed, or a range drawn uniformly per packet. */
export type Delay = number | readonly [min: number, max: number]

/** What a link does to the packets crossing it. Probabilities are in [0, 1]. */
export interface Faults {
  /** Probability a packet is lost. */
  loss: number
  /** Probability a packet is delivered twice (the copy gets its own delay draw). */
  duplicate: number
  /** Probability a packet is held back by an extra {@link Faults.reorderDelay}, so later ones overtake it. */
  reorder: number
  /** Transit time. A range with whole-number bounds draws a whole number of ms in [min, max]. */
  delay: Delay
  /** Extra transit time of a reordered packet. */
  reorderDelay: Delay
}

/** Defaults: a perfect link with 1 ms of latency, and a 1–10 ms hold-back for reordered packets. */
export const DEFAULT_FAULTS: Readonly<Faults> = Object.freeze({
  loss: 0,
  duplicate: 0,
  reorder: 0,
  delay: 1,
  reorderDelay: [1, 10] as const,
})

/** A {@link Faults} checked and flattened for the per-packet path. */
export class LinkFaults {
  readonly loss: number
  readonly duplicate: number
  readonly reorder: number
  readonly delayMin: number
  /** max − min, or 0 for a fixed delay (then nothing is drawn). */
  readonly delaySpan: number
  /** True when the range has whole-number bounds: draw an integer, inclusive of max. */
  readonly delayWhole: boolean
  readonly reorderMin: number
  readonly reorderSpan: number
  readonly reorderWhole: boolean

  constructor(readonly faults: Readonly<Faults>) {
    this.loss = probability('loss', faults.loss)
    this.duplicate = probability('duplicate', faults.duplicate)
    this.reorder = probability('reorder', faults.reorder)
    ;[this.delayMin, this.delaySpan, this.delayWhole] = range('delay', faults.delay)
    ;[this.reorderMin, this.reorderSpan, this.reorderWhole] = range('reorderDelay', faults.reorderDelay)
  }

  /** `base` with `patch` applied; unknown keys are rejected so a typo cannot silently disable a fault. */
  static merge(base: Readonly<Faults>, patch: Partial<Faults>): Faults {
    for (const key of Object.keys(patch)) {
      if (!(key in DEFAULT_FAULTS)) throw new InvalidArgumentError(`unknown fault setting ${JSON.stringify(key)}`)
    }
    const out: Faults = { ...base }
    for (const [key, value] of Object.entries(patch)) {
      if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value
    }
    return out
  }
}

function probability(name: string, p: number): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new InvalidArgumentError(`${name} must be a probability in [0, 1], got ${String(p)}`)
  }
  return p
}

function range(name: string, d: Delay): [min: number, span: number, whole: boolean] {
  const [min, max] = typeof d === 'number' ? [d, d] : d
  if (typeof min !== 'number' || typeof max !== 'number' || !(min >= 0) || !(max >= min) || !Number.isFinite(max)) {
    throw new InvalidArgumentError(`${name} must be ms ≥ 0 or [min, max] with 0 ≤ min ≤ max, got ${JSON.stringify(d)}`)
  }
  return [min, max - min, Number.isInteger(min) && Number.isInteger(max)]
}
