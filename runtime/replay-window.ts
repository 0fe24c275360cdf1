/**
 * A sliding replay window over per-key packet counters (ARCHITECTURE.md §5: ≥ 2048 packets per
 * session). It remembers the highest counter accepted and, for the `size` counters ending at it, which
 * were seen; anything older is refused outright. Reordering within the window is tolerated, which UDP
 * needs, and memory is fixed at size/8 bytes whatever an attacker sends.
 *
 * `check` and `mark` are separate so that a caller records a counter only after the packet carrying it
 * authenticated: a forged packet must not be able to move the window and so make genuine ones stale.
 */
import { InvalidArgumentError } from './errors.js'

/** The default and smallest window, in packets. */
export const DEFAULT_REPLAY_WINDOW = 2048

/** What {@link ReplayWindow.check} says about a counter. */
export type ReplayVerdict = 'ok' | 'replay' | 'stale'

function isCounter(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0
}

/** A bitmap replay window; see the module comment. */
export class ReplayWindow {
  /** Window size in packets: counters in (highest − size, highest] are remembered. */
  readonly size: number
  // A ring: counter c lives at bit (c mod size). Each slot holds exactly one counter of the window,
  // so advancing the window only has to clear the slots of the counters it passes over.
  private readonly words: Uint32Array
  private top = -1

  /** @param size packets remembered; an integer ≥ 2048 and a multiple of 32 (whole words). */
  constructor(size: number = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isSafeInteger(size) || size < DEFAULT_REPLAY_WINDOW || size % 32 !== 0) {
      throw new InvalidArgumentError(
        `replay window size must be a multiple of 32 and at least ${DEFAULT_REPLAY_WINDOW}, got ${size}`,
      )
    }
    this.size = size
    this.words = new Uint32Array(size / 32)
  }

  /** The highest counter marked so far, or −1 before the first. */
  get highest(): number {
    return this.top
  }

  /**
   * Classifies `counter` without changing anything: 'stale' when it is older than the window (or not
   * a non-negative safe integer, which no honest sender produces), 'replay' when it is inside the
   * window and already marked, else 'ok'.
   */
  check(counter: number): ReplayVerdict {
    if (!isCounter(counter)) return 'stale'
    if (counter > this.top) return 'ok'
    if (this.top - counter >= this.size) return 'stale'
    const bit = counter % this.size
    return (this.words[bit >>> 5]! & (1 << (bit & 31))) !== 0 ? 'replay' : 'ok'
  }

  /**
   * Records `counter` as accepted, sliding the window forward when it is the new highest. Marking a
   * stale counter does nothing (it could not be told apart from a replay anyway); marking twice is
   * harmless. Throws {@link InvalidArgumentError} for a counter that is not a non-negative safe integer.
   */
  mark(counter: number): void {
    if (!isCounter(counter)) throw new InvalidArgumentError(`replay counter must be a safe non-negative integer, got ${counter}`)
    if (counter > this.top) {
      this.advance(counter)
    } else if (this.top - counter >= this.size) {
      return
    }
    const bit = counter % this.size
    this.words[bit >>> 5]! |= 1 << (bit & 31)
  }

  /** Forgets everything, as for a fresh key. */
  reset(): void {
    this.words.fill(0)
    this.top = -1
  }

  /** Moves `top` to `counter`, clearing the slots of the counters that fall out of the window. */
  private advance(counter: number): void {
    let n = counter - this.top
    this.top = counter
    if (n >= this.size) {
      this.words.fill(0)
      return
    }
    // Slots (old top + 1 .. counter) mod size held the counters now dropping off the old end.
    let bit = (counter - n + 1) % this.size
    while (n > 0) {
      if ((bit & 31) === 0 && n >= 32) {
        this.words[bit >>> 5] = 0
        bit += 32
        n -= 32
      } else {
        this.words[bit >>> 5]! &= ~(1 << (bit & 31))
        bit++
        n--
      }
      if (bit === this.size) bit = 0
    }
  }
}
