/**
 * Whether the steward takes a reeve's update (StewardService.UpdateEndpoints), and why not: the
 * protocol half of what the edge's channel check (a whitelisted key) leaves. The update must be for
 * this steward's term (a captured update is worthless to the next steward), the caller's key must be a
 * reeve key of the node the update speaks for, every endpoint must be that node's, the node must be a
 * member of the flock (once the steward has been told the members), and a reeve the
 * steward does not know (new, or retired with its node) must send everything. Pure module.
 */
import { IdFormatError, parseKeyId, parseNodeId } from '../strew/ids.js'
import { REEVE_REV } from '../strew/addresses.js'
import type { CallCode, EndpointsUpdate } from '../strew/events.js'
import type { StewardContext } from './rules.js'

/** At most this many endpoints in one update. */
export const MAX_ENDPOINTS = 100_000

export type Admission = { ok: true; node: string; horde: string } | { ok: false; code: CallCode; message: string }

const no = (code: CallCode, message: string): Admission => ({ ok: false, code, message })

function nodeOf(id: string): string | null {
  try {
    return parseNodeId(id).node
  } catch (err) {
    if (err instanceof IdFormatError) return null
    throw err
  }
}

/** Judges update `ev` from `caller` against an active steward. */
export function admit(ctx: StewardContext, ev: EndpointsUpdate, caller: string): Admission {
  if (ev.term !== ctx.term) return no('FAILED_PRECONDITION', `the update is for term ${ev.term}; this steward's is ${ctx.term}`)
  const u = ev.update
  let reeve: { node: string; horde: string }
  try {
    reeve = parseNodeId(u.reeve)
  } catch (err) {
    if (err instanceof IdFormatError) return no('INVALID_ARGUMENT', `reeve: ${err.message}`)
    throw err
  }
  let key: { rev: string; principal: string; query: boolean }
  try {
    key = parseKeyId(caller)
  } catch (err) {
    if (err instanceof IdFormatError) return no('PERMISSION_DENIED', 'call refused')
    throw err
  }
  if (key.query || key.rev !== REEVE_REV || key.principal !== reeve.node) return no('PERMISSION_DENIED', 'call refused')
  if (u.upsert.length + u.remove.length > MAX_ENDPOINTS) return no('INVALID_ARGUMENT', `at most ${MAX_ENDPOINTS} endpoints per update`)
  for (const id of [...u.upsert.map((e) => e.nodeId), ...u.remove]) {
    const node = nodeOf(id)
    if (node === null) return no('INVALID_ARGUMENT', `endpoint NodeID ${JSON.stringify(id).slice(0, 200)} is not /bloc/horde/node/service/api`)
    if (node !== reeve.node) return no('PERMISSION_DENIED', `a reeve speaks only for its own node, not for ${id}`)
  }
  // A node the flock does not list (dead, or not yet back) has no endpoints here: a late or captured
  // full update must not bring a dead node's services back.
  if (ctx.members !== null && ctx.members[reeve.node] === undefined) return no('FAILED_PRECONDITION', 'not a member of the flock')
  const known = ctx.reeves[u.reeve]
  if (!u.full && (known === undefined || known.retired)) return no('FAILED_PRECONDITION', 'unknown reeve: send everything')
  return { ok: true, node: reeve.node, horde: u.horde || reeve.horde }
}
