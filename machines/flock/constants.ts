/**
 * Protocol constants (original §1.2, appendix b) and crux's defaults. Times are in heartbeats (HB)
 * unless named otherwise.
 */
import type { FlockConfig } from './types.js'

/** A promoted (stable) leader's vote; normal votes are 1 … VOTE_MAX − 1, a visitor's is 1, admin is 0. */
export const VOTE_MAX = 100_000
export const CMD_REBOOT = 0
export const CMD_CANDIDATE = 1
/** crux's addition: a member leaving gracefully tells its leader, which drops it at once. */
export const CMD_LEAVE = 2
/** Fraction of a probe round's slots that come from history (at least one). */
export const HIST_REWORK = 0.1
/** Random-slot tries per probe round, as a multiple of probeN. */
export const PROBE_TRIES = 5

/** Production defaults (original §1.15, UDPFlock), plus crux's own additions. */
export const DEFAULT_FLOCK_CONFIG: Readonly<FlockConfig> = Object.freeze({
  hbMs: 1000,
  probeEveryHb: 3,
  probeN: 12,
  memberProbeEveryHb: 0,
  keyPeriodHb: 100,
  // A silent member is suspected after two missed beats and, on a clean network, removed 1 HB later
  // unless it or a helper answers: a dead member is out of every list 3–4 HB after it died, as
  // before suspicion existed; under loss the window widens (suspicion.ts) instead of live members
  // being removed.
  pruneEveryHb: 0.5,
  memberLapseHb: 2.25,
  suspicionHb: 1,
  suspicionMaxHb: 10,
  checkHelpers: 3,
  knownMax: 512,
  // Serf forgets a failed member after 72 h (reconnect_timeout); a day of heartbeats here.
  knownForgetHb: 86_400,
  knownBackoffMaxHb: 48,
  youngFlockHb: 30,
  checkpointEveryHb: 60,
  shortLeaderHb: 2,
  specLeaderHb: 10,
  stableLeaderHb: 6,
  rebootHb: 4,
  // Entry bytes per list chunk: with the chunk's own fields (≤ 362 B) and the envelope it fits 1400 B.
  listChunkBytes: 900,
  listLogSize: 16_384,
  historyMax: 1024,
  listSync: true,
  // Confab (PROTOCOL.md): a query's time may be this far off ours; admin query ids are kept twice
  // as long, at most confabIdsMax of them; a query smaller than a full envelope payload (1 370 B,
  // runtime/envelope.ts MAX_ENVELOPE_PLAINTEXT) gets no answer, so none is larger than its query.
  confabSkewMs: 30_000,
  confabIdsMax: 4096,
  confabMinBytes: 1370,
})
