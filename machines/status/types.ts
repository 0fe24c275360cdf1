/**
 * The status analyser's shapes (original-crux.md §2.4): the MonInfo records it reads and the view of
 * flocks it publishes. Pure module.
 */

/** The MonInfo ops (original §2.1). */
export const MON_OPS = ['Join', 'LeaderStart', 'LeaderHeart', 'LeaderDelta', 'Probe', 'Reboot', 'HeartBeat', 'Exit', 'ServiceRestart', 'ServiceFailed', 'ServiceUpgrade'] as const

/** The ops of a node's services (picket, docs/SERVICES.md): shown by watchers, not judged. */
export const SERVICE_OPS: ReadonlySet<string> = new Set(['ServiceRestart', 'ServiceFailed', 'ServiceUpgrade'])

/** A MonInfo record as a fulcrum emits it (machines/flock/context.ts `mon`) and a beacon relays it. */
export interface MonRecord {
  op: (typeof MON_OPS)[number]
  /** The node that emitted it. */
  node: string
  flock: string
  leader: string
  /** Members besides the leader (LeaderStart, LeaderHeart, LeaderDelta); probes sent (Probe); a service's restarts. */
  n: number
  /** The flock the node left (Join, LeaderStart). */
  oflock: string
  /** The node's clock, ms. */
  t: number
  /** The rule that caused it; why a service ended, failed or was rolled back. */
  cause: string
  /** The service's name on its node (the Service ops only). */
  service?: string
}

/** One flock as the analyser sees it. */
export interface FlockStatus {
  flock: string
  leader: string
  /** Nodes in the flock, the leader included. */
  nodes: number
  /** When the leader and node count last changed (analyser clock, ms). */
  since: number
  /** Same leader and node count for the stable period, and no node rebooting. */
  stable: boolean
}

/** What the analyser publishes whenever its judgement changes. */
export interface StatusView {
  /** Analyser clock, ms. */
  at: number
  /** Largest flock first, then by name. */
  flocks: FlockStatus[]
  /** Nodes that said Reboot and have not started leading or following since. */
  rebooting: string[]
}

export interface StatusInput {
  /** How long a flock must keep its leader and size to count as stable (ms; the beacon's default is 15 s). */
  stableMs: number
}
