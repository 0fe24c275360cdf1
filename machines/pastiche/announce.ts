/**
 * Pastiche in the catalog (issue 16: "each node's pastiche is a service in the catalog, with what it
 * holds announced as it changes"). The machine registers its node's pastiche with the node's reeve
 * (`reeve.register`, as any local service does, on the road: the answer comes back into its mailbox),
 * its endpoint's tags naming the blobs it holds, and registers again whenever that set changes, one
 * registration at a time. Peers read the tags back from their catalog (`peers.holds`), so a holder is
 * known without asking it.
 *
 * A tag is `<hash>/<bytes>` (`sha256:<64 hex>/1048576`: at most 88 characters, within the catalog's
 * 256). The catalog takes at most 64 tags per endpoint, so at most {@link MAX_ANNOUNCED} blobs are
 * named, wanted ones first, then in hash order; when more are held the tag {@link PARTIAL_TAG} says so,
 * and peers go on asking about blobs not named (an absent name then says nothing). Mutates the
 * context in place and pushes effects. Pure module.
 */
import type { Effect } from '../effects.js'
import type { CatalogEndpoint } from '../steward/types.js'
import type { AnnouncedHold, PasticheContext } from './types.js'

/** Blobs named in one announcement (the catalog's 64 tags, one kept for {@link PARTIAL_TAG}). */
export const MAX_ANNOUNCED = 63
/** The tag that says more blobs are held than are named. */
export const PARTIAL_TAG = 'partial'
/** The API pastiche registers under (original-crux.md §5.10: peers are the catalog's Pastiche entries). */
export const PASTICHE_API = 'Pastiche1'

/** Where and as whom the machine announces: its registration without tags, the reeve, its own address. */
export interface AnnounceInput {
  /** The endpoint to register (`/bloc/horde/node/Pastiche/Pastiche1` at the node's gRPC address). */
  endpoint: CatalogEndpoint
  /** The reeve's actor (`<node>/reeve`) and the KeyID a local caller of it presents (the node's own). */
  reeve: string
  keyId: string
  /** This machine's actor address: where the reeve answers. */
  self: string
}

/** How the announcement stands. */
export interface AnnounceState {
  input: AnnounceInput
  /** The tags the reeve last took (null: none yet). */
  announced: string[] | null
  /** The registration on its way: its id and tags. */
  sending: { id: number; tags: string[] } | null
  /** After a refused or failed registration, none is sent before this time (the `announce` timer). */
  notBefore: number
}

const HASH = /^sha256:[0-9a-f]{64}$/

/** The tag naming `hash` of `bytes` bytes. */
export const holdTag = (hash: string, bytes: number): string => `${hash}/${bytes}`

/** What a peer's tags announce: the blobs named (malformed tags skipped) and whether the list is partial. */
export function parseHoldTags(tags: readonly string[]): { holds: AnnouncedHold[]; partial: boolean } {
  const holds: AnnouncedHold[] = []
  let partial = false
  for (const t of tags) {
    if (t === PARTIAL_TAG) partial = true
    const slash = t.lastIndexOf('/')
    const hash = t.slice(0, slash)
    const bytes = Number(t.slice(slash + 1))
    if (slash > 0 && HASH.test(hash) && /^\d{1,16}$/.test(t.slice(slash + 1)) && Number.isSafeInteger(bytes)) holds.push({ hash, bytes })
  }
  return { holds, partial }
}

/** The tags for what this node holds now. */
export function tagsOf(ctx: PasticheContext): string[] {
  const held = Object.keys(ctx.held).sort()
  const wanted = held.filter((h) => ctx.wants[h] !== undefined)
  const rest = held.filter((h) => ctx.wants[h] === undefined)
  const named = wanted.concat(rest).slice(0, MAX_ANNOUNCED)
  const tags = named.map((h) => holdTag(h, ctx.held[h]!))
  if (held.length > named.length) tags.push(PARTIAL_TAG)
  return tags
}

const same = (a: readonly string[] | null, b: readonly string[]) => a !== null && a.length === b.length && a.every((t, i) => t === b[i])

/** Registers again if what is held changed since the last registration the reeve took, and none is on its way. */
export function announce(ctx: PasticheContext, out: Effect[]): void {
  const a = ctx.announce
  if (a === null || a.sending !== null || ctx.now < a.notBefore) return
  const tags = tagsOf(ctx)
  if (same(a.announced, tags)) return
  const id = ctx.nextId++
  a.sending = { id, tags }
  const endpoint: CatalogEndpoint = { ...a.input.endpoint, tags }
  const event = { type: 'reeve.register', id, endpoint, from: a.input.self, caller: a.input.keyId }
  out.push({ type: 'send', to: a.input.reeve, event, cls: 'control' })
}

/** The reeve took registration `id`. */
export function announced(ctx: PasticheContext, id: number): void {
  const a = ctx.announce
  if (a === null || a.sending?.id !== id) return
  a.announced = a.sending.tags
  a.sending = null
}

/** Registration `id` was refused or failed: tried again after `backoffMaxMs` (the `announce` timer). */
export function announceFailed(ctx: PasticheContext, id: number | undefined, out: Effect[]): void {
  const a = ctx.announce
  if (a === null || a.sending === null || a.sending.id !== id) return
  a.sending = null
  a.notBefore = ctx.now + ctx.config.backoffMaxMs
  out.push({ type: 'timer.set', name: 'announce', ms: ctx.config.backoffMaxMs })
}
