/**
 * A fulcrum started with another flock's secret runs alone and, without this, says nothing (issue
 * 14). Its peers' handshakes do not open, nor do its own at them: the session transport tells of
 * each such datagram (`onUnopenable`), and this logs one warning per peer address per minute naming
 * the likely cause. The limiter is pure, timed by the clock the fulcrum passes in, so a flood from
 * many addresses costs bounded memory and a bounded number of log lines.
 */
import type { Clock } from '../../runtime/clock.js'
import type { SessionDropReason } from '../../runtime/session-transport.js'
import type { Walrus } from '../../runtime/walrus.js'

/** Bounds of {@link WarnLimiter}. */
export interface WarnLimits {
  /** At most one warning per source in this long, ms. Default one minute. */
  windowMs: number
  /** Sources remembered (least recently warned about forgotten first). Default 1 024. */
  maxSources: number
  /** Warnings in one window, all sources together; the rest are counted, and said with the next. Default 16. */
  maxPerWindow: number
}

const LIMITS: WarnLimits = { windowMs: 60_000, maxSources: 1024, maxPerWindow: 16 }

/** One warning per source per window, and at most `maxPerWindow` in all. */
export class WarnLimiter {
  private readonly limits: WarnLimits
  /** Source → when it was last warned about; oldest first. */
  private readonly last = new Map<string, number>()
  private windowStart = -Infinity
  private inWindow = 0
  private suppressed = 0

  constructor(limits: Partial<WarnLimits> = {}) {
    this.limits = { ...LIMITS, ...limits }
  }

  /**
   * Whether to warn about `source` at `now` (ms). When yes, `suppressed` counts the warnings the
   * overall cap held back since the last one said.
   */
  take(source: string, now: number): { suppressed: number } | null {
    const { windowMs, maxSources, maxPerWindow } = this.limits
    const at = this.last.get(source)
    if (at !== undefined && now - at < windowMs) return null
    if (now - this.windowStart >= windowMs) {
      this.windowStart = now
      this.inWindow = 0
    }
    if (this.inWindow >= maxPerWindow) {
      this.suppressed++
      return null
    }
    this.inWindow++
    this.last.delete(source)
    this.last.set(source, now)
    if (this.last.size > maxSources) this.last.delete(this.last.keys().next().value!)
    const said = { suppressed: this.suppressed }
    this.suppressed = 0
    return said
  }

  /** Sources remembered now (for tests: bounded by `maxSources`). */
  get size(): number {
    return this.last.size
  }
}

/** The likely cause of a datagram that did not open, in words an operator can act on. */
export function likelyCause(reason: SessionDropReason): string {
  // Only a node in bloc mode checks certificates, so `cert` comes only there.
  if (reason === 'cert') return 'another bloc CA: its certificate is not from this bloc\'s CA (or names another bloc, has expired, or is missing)'
  return 'another flock secret: its handshakes are sealed under a secret other than this node\'s --secret-file'
}

/** The `onUnopenable` hook of a fulcrum's session transport: warns on `log`, limited on `clock`. */
export function unopenableWarner(clock: Clock, log: Walrus, limits?: Partial<WarnLimits>): (source: string, reason: SessionDropReason) => void {
  const limiter = new WarnLimiter(limits)
  return (source, reason) => {
    const said = limiter.take(source, clock.now())
    if (said === null) return
    log.warn('datagrams from a peer cannot be opened; it is not of this flock', { peer: source, reason, cause: likelyCause(reason), ...(said.suppressed > 0 ? { suppressed: said.suppressed } : {}) })
  }
}
