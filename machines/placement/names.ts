/**
 * How placement names what it runs. Each instance of a placed service is a picket service named
 * `<service>-<n>` on its node (n from 1, unique on the node), so a placed service must itself be a
 * picket name short enough to take the suffix. What a muster says of an instance is read as a khan
 * stage (`start`, `ready`, `done`, `unknown`) for start clauses. Pure module.
 */
import type { ServiceState } from '../picket/types.js'

/** A service placement can run: a picket name that leaves room for `-<n>` (picket's 63 characters). */
export const PLACED_SERVICE = /^[a-z][a-z0-9_-]{0,54}$/

/** The services a program's picks place, in name order (what needs a bundle). */
export const placedServices = (picks: ReadonlyArray<{ service: string }>): string[] => [...new Set(picks.map((p) => p.service))].sort()

/** The picket name of instance `n` of `service`. */
export const instanceName = (service: string, n: number): string => `${service}-${n}`

/** The service and number of picket name `name`, when it is an instance of one of `services`; else null. */
export function instanceOf(name: string, services: ReadonlySet<string>): { service: string; n: number } | null {
  const m = /^(.+)-([1-9]\d{0,5})$/.exec(name)
  return m !== null && services.has(m[1]!) ? { service: m[1]!, n: Number(m[2]) } : null
}

/** Whether a muster's state counts as an instance that runs or is on its way (not stopped or failed). */
export const isLive = (state: ServiceState): boolean => state !== 'stopped' && state !== 'failed'

/**
 * Whether an instance in `state` (registered and beating when `up`) is in khan stage `stage`: `start`
 * once spawned, `ready` once registered and beating, `done` once it stopped, `unknown` before it runs
 * (preparing its bundle, waiting out a backoff) or when it cannot run.
 */
export function inStage(stage: string, state: ServiceState, up: boolean): boolean {
  switch (stage) {
    case 'ready':
      return up
    case 'start':
      return state === 'starting' || state === 'running' || state === 'stopping'
    case 'done':
      return state === 'stopped'
    default:
      return state === 'preparing' || state === 'backoff' || state === 'failed'
  }
}
