/**
 * Client connect by selector (seed 001): a selector names an API and, optionally, an instance pattern
 * (`*` matches any run of characters). Among the up endpoints that match, the lexicographically
 * greatest instance wins, so every client of a catalog picks the same one; on failure the client
 * rescans without the ones that failed. Pure module.
 */
import type { CatalogEndpoint } from '../steward/types.js'

export interface Selector {
  api: string
  /** Instance pattern; default `*`. */
  instance?: string
}

function matcher(pattern: string): (s: string) => boolean {
  if (pattern === '*' || pattern === '') return () => true
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  return (s) => re.test(s)
}

/** Parses `API` or `API/INSTANCE-PATTERN`. */
export function parseSelector(s: string): Selector {
  const slash = s.indexOf('/')
  if (slash < 0) return { api: s }
  return { api: s.slice(0, slash), instance: s.slice(slash + 1) }
}

/** The endpoint `selector` picks, skipping `failed` (NodeIDs), or undefined. */
export function pick(endpoints: readonly CatalogEndpoint[], selector: Selector, failed: ReadonlySet<string> = new Set()): CatalogEndpoint | undefined {
  const instanceOk = matcher(selector.instance ?? '*')
  let best: CatalogEndpoint | undefined
  for (const e of endpoints) {
    if (e.state !== 'up' || e.api !== selector.api || !instanceOk(e.instance) || failed.has(e.nodeId)) continue
    if (best === undefined || e.instance > best.instance || (e.instance === best.instance && e.nodeId > best.nodeId)) best = e
  }
  return best
}
