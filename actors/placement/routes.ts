/**
 * Placement on the road (runtime/road-routes.ts): PlacementService.Apply arrives at `<node>/proctor`
 * as `placement.apply`; DeanService.Assign arrives at `<node>/dean` as `dean.assign`, and the
 * proctor's `dean.assign` leaves as that call, its answer coming back as `dean.assigned`. List reads
 * the proctor's context at the edge (`direct`, set by actors/placement/placement.ts) and changes
 * nothing. Shape checks happen here (INVALID_ARGUMENT); who may call is the service's trust (the
 * node's own key and its flock members').
 */
import { BUNDLE_HASH, SERVICE_NAME } from '../../machines/picket/context.js'
import type { DeanAssignMsg, PlacementApplied, PlacementProgram } from '../../machines/placement/types.js'
import { DeanServiceService, PlacementServiceService, type AssignRequest, type AssignResponse, type PlacementServiceListResponse, type Program } from '../../protos/gen/crux/v1/placement.js'
import { InvalidArgumentError, UnavailableError } from '../../runtime/errors.js'
import { unary, type KeyLookup } from '../../runtime/grpc-server.js'
import type { InboundService, OutboundRoute } from '../../runtime/road-routes.js'
import type { Placement } from './placement.js'

/** A program's text may be this long (bytes of UTF-16 code units); longer is INVALID_ARGUMENT. */
export const MAX_PROGRAM = 64 * 1024
/** At most this many services in a program's bundles or in one node's assignment. */
export const MAX_ENTRIES = 10_000

function checkMap(m: Record<string, string>, what: string, key: RegExp, keyRule: string): Record<string, string> {
  const entries = Object.entries(m)
  if (entries.length > MAX_ENTRIES) throw new InvalidArgumentError(`${what}: ${entries.length} entries, at most ${MAX_ENTRIES}`)
  for (const [k, v] of entries) {
    if (!key.test(k)) throw new InvalidArgumentError(`${what}: bad name ${JSON.stringify(k.slice(0, 80))}: ${keyRule}`)
    if (!BUNDLE_HASH.test(v)) throw new InvalidArgumentError(`${what}: bad bundle hash ${JSON.stringify(v.slice(0, 80))} for ${k}: expected sha256:<64 lower-case hex>`)
  }
  return Object.fromEntries(entries)
}

function checkText(text: string): string {
  if (text.length > MAX_PROGRAM) throw new InvalidArgumentError(`program too long: ${text.length} characters, at most ${MAX_PROGRAM}`)
  return text
}

const SERVICE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/

function toProgram(p: Program | undefined): PlacementProgram {
  if (p === undefined) throw new InvalidArgumentError('an assignment needs its program')
  return { version: p.version, text: checkText(p.text), bundles: checkMap(p.bundles, 'program bundles', SERVICE_KEY, 'a khan service name') }
}

/** The routes of a node's proctor and dean. */
export function createPlacementRoutes(): { inbound: InboundService[]; outbound: Record<string, OutboundRoute> } {
  const placement: InboundService = {
    definition: PlacementServiceService,
    methods: {
      apply: {
        method: PlacementServiceService.apply,
        actor: 'proctor',
        event: (r: { text: string; bundles: Record<string, string> }, caller) => ({ type: 'placement.apply', id: 0, caller, text: checkText(r.text), bundles: checkMap(r.bundles, 'bundles', SERVICE_KEY, 'a khan service name') }),
        response: (a: PlacementApplied) => ({ version: a.version, services: a.services, warnings: a.warnings }),
      },
    },
  }
  const dean: InboundService = {
    definition: DeanServiceService,
    methods: {
      assign: {
        method: DeanServiceService.assign,
        actor: 'dean',
        event: (r: AssignRequest, caller) => ({ type: 'dean.assign', id: 0, caller, term: r.term, program: toProgram(r.program), services: checkMap(r.services, 'services', SERVICE_NAME, 'a picket service name') }),
        response: (a: { programVersion: number; program: PlacementProgram | null; taken: boolean }): AssignResponse => ({ programVersion: a.programVersion, program: a.program ?? undefined, taken: a.taken }),
      },
    },
  }
  const outbound: Record<string, OutboundRoute> = {
    'dean.assign': {
      method: DeanServiceService.assign,
      request: (ev: DeanAssignMsg): AssignRequest => ({ term: ev.term, program: ev.program, services: ev.services }),
      answer: (res: AssignResponse, ev: DeanAssignMsg) => ({ type: 'dean.assigned', id: ev.id, programVersion: res.programVersion, program: res.program === undefined ? null : toProgram(res.program), taken: res.taken }),
    },
  }
  return { inbound: [placement, dean], outbound }
}

/**
 * Placement's routes for a fulcrum, made before the machines exist: PlacementService (Apply to the
 * proctor; List read at the edge, UNAVAILABLE until `bind` gives it the running placement) and
 * DeanService, both taking the keys `trust` takes (the node's own and its flock members').
 */
export function placementRoutes(trust: { lookup: KeyLookup }): { inbound: InboundService[]; outbound: Record<string, OutboundRoute>; bind(p: Placement): void } {
  let placement: Placement | undefined
  const r = createPlacementRoutes()
  const [service, dean] = r.inbound as [InboundService, InboundService]
  service.lookup = trust.lookup
  dean.lookup = trust.lookup
  service.direct = {
    list: unary((): PlacementServiceListResponse => {
      if (placement === undefined) throw new UnavailableError('placement is not running yet')
      return placement.list()
    }),
  }
  return { inbound: r.inbound, outbound: r.outbound, bind: (p) => void (placement = p) }
}
