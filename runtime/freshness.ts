/**
 * Freshness of sealed one-shot requests (registration, forget: actors/strew/registration.ts). The flock
 * secret proves only that a holder of it sealed a request, not when: without a time and a nonce,
 * anyone who once saw a sealed registration could send it again and again, each copy making the
 * steward call a reeve back and rewrite its whitelist. A request is taken once:
 * - its time must be within ±`skewMs` of ours (300 s, as the original's reeve allowed);
 * - its time must not be before `since`, when this guard started: the nonces a previous incarnation
 *   (before a restart) remembered are gone, so what was sealed before we started may have been taken
 *   already. A node whose clock runs behind ours waits out the difference once, after our start;
 * - its nonce must be new: nonces are kept for twice the skew, the longest a copy stays in the window.
 * The nonces kept are bounded; when full, requests are refused (fail closed) until some expire.
 */

/** Why a sealed request was not taken. */
export type Staleness = 'stale' | 'early' | 'replayed' | 'busy'

/** The window and the bound of a {@link FreshnessGuard}. */
export interface FreshnessInit {
  /** Accepted clock difference, ms. Default 300 000. */
  skewMs?: number
  /** Nonces remembered at most. Default 100 000 (registrations are rare: one per node per steward). */
  maxNonces?: number
  /** When this guard started (ms, the same clock as `now`): nothing sealed earlier is taken. */
  since: number
}

/** Takes each (time, nonce) once, within the window; see the module comment. */
export class FreshnessGuard {
  private readonly skewMs: number
  private readonly maxNonces: number
  private readonly since: number
  /** nonce → when it may be forgotten; insertion order is expiry order (all expire after 2 × skew). */
  private readonly nonces = new Map<string, number>()

  constructor(init: FreshnessInit) {
    this.skewMs = init.skewMs ?? 300_000
    this.maxNonces = init.maxNonces ?? 100_000
    this.since = init.since
  }

  /** Checks the time, then takes the nonce: null when taken, else why not. */
  take(time: number, nonce: string, now: number): Staleness | null {
    if (!Number.isFinite(time) || Math.abs(now - time) > this.skewMs) return 'stale'
    if (time < this.since) return 'early'
    for (const [n, expires] of this.nonces) {
      if (expires > now) break
      this.nonces.delete(n)
    }
    if (this.nonces.has(nonce)) return 'replayed'
    if (this.nonces.size >= this.maxNonces) return 'busy'
    this.nonces.set(nonce, now + 2 * this.skewMs)
    return null
  }

  /** Nonces currently remembered. */
  get remembered(): number {
    return this.nonces.size
  }
}
