/**
 * Restart policy for a failing actor: exponential backoff, and a ceiling on restarts within a sliding
 * window, after which the supervisor gives up (the failure is persistent, restarting only burns CPU).
 * Pure bookkeeping over times handed in by the caller, so it runs on the virtual clock in tests and
 * the simulator exactly as on the real one.
 */

export interface SupervisorPolicy {
  /** Restarts allowed within `windowMs`; one more failure gives up. */
  maxRestarts: number
  windowMs: number
  /** Delay before the first restart in a window. */
  backoffBaseMs: number
  /** Ceiling on the delay. */
  backoffMaxMs: number
  /** Multiplier per restart already in the window. */
  factor: number
}

export const DEFAULT_SUPERVISOR_POLICY: Readonly<SupervisorPolicy> = Object.freeze({
  maxRestarts: 5,
  windowMs: 60_000,
  backoffBaseMs: 100,
  backoffMaxMs: 10_000,
  factor: 2,
})

export type SupervisorDecision =
  | { action: 'restart'; delayMs: number; attempt: number }
  | { action: 'give-up'; restartsInWindow: number }

export class Supervisor {
  readonly policy: SupervisorPolicy
  /** Times of restarts still inside the window, oldest first. */
  private recent: number[] = []
  /** Restarts ever granted. */
  total = 0

  constructor(policy: Partial<SupervisorPolicy> = {}) {
    this.policy = { ...DEFAULT_SUPERVISOR_POLICY, ...policy }
    const p = this.policy
    if (!(p.maxRestarts >= 0 && p.windowMs > 0 && p.backoffBaseMs >= 0 && p.backoffMaxMs >= p.backoffBaseMs && p.factor >= 1)) {
      throw new RangeError(`invalid supervisor policy ${JSON.stringify(p)}`)
    }
  }

  /** Decides what to do about a failure at time `now` (ms on the injected clock). */
  onFailure(now: number): SupervisorDecision {
    const p = this.policy
    while (this.recent.length > 0 && this.recent[0]! <= now - p.windowMs) this.recent.shift()
    if (this.recent.length >= p.maxRestarts) return { action: 'give-up', restartsInWindow: this.recent.length }
    const delayMs = Math.min(p.backoffMaxMs, p.backoffBaseMs * p.factor ** this.recent.length)
    this.recent.push(now)
    this.total++
    return { action: 'restart', delayMs, attempt: this.recent.length }
  }
}
