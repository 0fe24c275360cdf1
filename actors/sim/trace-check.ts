/**
 * `crux check`: rebuilds the flock from a simulator trace by replaying it, and runs the history
 * checker at each heartbeat mark the simulator wrote, with the faults it recorded. A trace of a run
 * with services (`crux sim --services K`) also holds every node's strew actors: the strew checker
 * then judges their replayed contexts at the same marks, as the simulator judged the live ones; one
 * with picket (`--run R`) also has the picket checker judge the history its machines' steps tell
 * (actors/sim/picket-trace.ts); one with placement (`--place P`) has the placement checker judge the
 * replayed picket and proctor contexts at the marks, the program taken when a proctor's replayed step
 * answers the simulator's apply.
 */
import { productMachines } from '../../machines/index.js'
import type { FlockContext } from '../../machines/flock/types.js'
import { JournalError } from '../../runtime/errors.js'
import { readLines, replayJournal, type Divergence } from '../../runtime/replayer.js'
import { parseHeader } from '../../runtime/journal.js'
import { FlockChecker, type CheckBounds, type ViolationKind } from './check.js'
import { observeContexts } from '../flock/observe.js'
import { StrewChecker, type StrewNodeView, type StrewSummary } from './strew-check.js'
import { createServedChanges, strewActorIds, strewViewOf } from './strew-views.js'
import type { PicketSummary } from './picket-check.js'
import { PicketTrace } from './picket-trace.js'
import { picketViewOf } from './picket-views.js'
import { PlacementChecker, type PlacementSummary } from './placement-check.js'
import { PLACEMENT_ANSWERS, placementViewOf } from './placement-views.js'

export interface TraceCheck {
  marks: number
  nodes: number
  agreed: boolean
  violations: string[]
  /** Whether the steady state was judged (the trace's run was given --until-hb). */
  steady: boolean
  /** The violations counted by kind. */
  violation_kinds: Partial<Record<ViolationKind, number>>
  diverged: false | Divergence
  /** With services: the strew checker's verdict (its violations are in `violations` too). */
  strew?: StrewSummary
  /** With picket (`--run`): the picket checker's verdict (its violations are in `violations` too). */
  picket?: PicketSummary
  /** With placement (`--place`): the placement checker's verdict (its violations are in `violations` too). */
  placement?: PlacementSummary
}

export function checkTrace(path: string, bounds: Partial<CheckBounds> = {}): TraceCheck {
  const lines = readLines(path)
  const first = lines.next()
  if (first.done === true) throw new JournalError(`${path} is empty (no header line)`)
  // The simulator writes its options into the header: a run given --until-hb has a steady state to judge.
  const header = parseHeader(first.value)
  const steady = header.config.untilHb != null
  const checker = new FlockChecker(bounds, { steady })
  const strew = strewCheckerOf(header.config)
  const picket = picketTraceOf(header.config)
  const placement = placementCheckerOf(header.config)
  const reeveNode = new Map<string, string>()
  /** Per flock node id: the node's journal name and its clock's skew (its flock's spawn time: every node is made at 0). */
  const nodeOf = new Map<string, { addr: string; offset: number }>()
  const servedChanges = createServedChanges()
  const dead = new Set<string>()
  let marks = 0
  let lastHb = 0
  let agreed = false
  const report = replayJournal(withFirst(first.value, lines), {
    machines: productMachines,
    // Catalog pushes and node lists time the strew checker's lags exactly, as the simulator's do.
    onStep: (step) => {
      if (step.input === null && step.actor.endsWith('/flock') && !nodeOf.has((step.cell.context as FlockContext).me.id)) nodeOf.set((step.cell.context as FlockContext).me.id, { addr: step.actor.slice(0, -'/flock'.length), offset: step.t })
      if (picket !== null && step.actor.endsWith('/picket')) {
        const n = nodeOf.get(step.actor.slice(0, -'/picket'.length))
        if (n !== undefined) picket.step(n.addr, step, n.offset)
      }
      // The program as the proctor took it: its apply, answered applied to the simulator.
      if (placement !== null && step.actor.endsWith('/proctor') && (step.input as { type?: string } | null)?.type === 'placement.apply') {
        const took = (step.res.out as Array<{ type: string; to?: string; event?: { type?: string } }>).some((e) => e.type === 'send' && e.to === PLACEMENT_ANSWERS && e.event?.type === 'placement.applied')
        const n = nodeOf.get(step.actor.slice(0, -'/proctor'.length))
        if (took && n !== undefined) placement.applied(step.t - n.offset, String((step.input as { text?: unknown }).text))
      }
      if (strew === null) return
      // A node's strew actors are named by its flock id: learn it when its flock spawns.
      if (step.input === null && step.actor.endsWith('/flock')) reeveNode.set(`${(step.cell.context as FlockContext).me.id}/reeve`, step.actor.slice(0, -'/flock'.length))
      const node = step.input === null ? undefined : reeveNode.get(step.actor)
      if (node === undefined) return
      const ids = servedChanges(step.actor, step.input!, step.cell.context)
      // On the simulator's clock, as the marks and faults are (the journal's times are the node's).
      if (ids !== undefined) strew.catalogChanged(node, step.t - (nodeOf.get(step.actor.slice(0, -'/reeve'.length))?.offset ?? 0), ids)
    },
    onNote: (note, cells) => {
      const body = (note.mark ?? note.fault)!
      const hb = Number(body.hb)
      if (!Number.isSafeInteger(hb)) throw new JournalError(`seq ${note.seq}: a mark or fault without an integer "hb"`)
      if (note.fault !== undefined) {
        const f = note.fault as { kind: string; groups?: string[][]; nodes?: string[] }
        checker.fault(hb, f)
        strew?.fault(note.t, f)
        picket?.checker.fault(note.t, f)
        placement?.fault(note.t, f)
        if (f.kind === 'crash') for (const n of f.nodes ?? []) dead.add(n)
        return
      }
      marks++
      lastHb = hb
      const views: Array<{ node: string; ctx: FlockContext }> = []
      for (const [id, cell] of cells) {
        // The strew actors of a node share its journal name; the flock's actor is `<node>/flock`.
        if (!id.endsWith('/flock')) continue
        const node = id.slice(0, -'/flock'.length)
        if (!dead.has(node) && !cell.failed) views.push({ node, ctx: cell.context as FlockContext })
      }
      agreed = observeContexts(views.map((v) => v.ctx)).agreed
      checker.observe(hb, views, agreed)
      const context = (id: string) => {
        const c = cells.get(id)
        return c === undefined || c.failed ? undefined : c.context
      }
      picket?.checker.observe(note.t, views.map((v) => picketViewOf(v.node, context(`${v.ctx.me.id}/picket`), context(`${v.ctx.me.id}/reeve`))), agreed)
      placement?.observe(note.t, views.map((v) => placementViewOf(v.node, context(`${v.ctx.me.id}/picket`), context(`${v.ctx.me.id}/proctor`))), agreed)
      if (strew !== null) {
        const sv: StrewNodeView[] = views.map((v) => {
          const a = strewActorIds(v.ctx.me.id)
          return strewViewOf(v.node, context(a.reeve), context(a.driver), context(a.steward))
        })
        strew.observe(note.t, sv, agreed)
      }
    },
  })
  if (marks === 0) throw new JournalError(`${path} has no heartbeat marks: crux check reads traces written by crux sim --trace`)
  checker.finish(lastHb)
  const violations = [...checker.violations, ...(strew?.found.map((v) => v.message) ?? []), ...(picket?.checker.found.map((v) => v.message) ?? []), ...(placement?.found.map((v) => v.message) ?? [])]
  const kinds = { ...checker.kinds(), ...strew?.kinds(), ...picket?.checker.kinds(), ...placement?.kinds() }
  return { marks, nodes: report.nodes, agreed, steady, violations, violation_kinds: kinds, diverged: report.diverged, ...(strew === null ? {} : { strew: strew.summary() }), ...(picket === null ? {} : { picket: picket.checker.summary() }), ...(placement === null ? {} : { placement: placement.summary() }) }
}

/** The strew checker of a run with services, with the simulator's heartbeat and bounds (from the header's options); null without. */
function strewCheckerOf(config: Record<string, unknown>): StrewChecker | null {
  if (!(Number(config.services) > 0)) return null
  const hbMs = Number((config.config as { hbMs?: unknown } | undefined)?.hbMs)
  if (!(hbMs > 0)) throw new JournalError('the header of a run with services names no heartbeat (config.config.hbMs)')
  return new StrewChecker(hbMs, (config.strewCheck as object | undefined) ?? {})
}

/** The picket reader of a run with picket (`--run R`), with the simulator's heartbeat and bounds; null without. */
function picketTraceOf(config: Record<string, unknown>): PicketTrace | null {
  if (!(Number(config.run) > 0)) return null
  const hbMs = Number((config.config as { hbMs?: unknown } | undefined)?.hbMs)
  if (!(hbMs > 0)) throw new JournalError('the header of a run with picket names no heartbeat (config.config.hbMs)')
  return new PicketTrace(hbMs, (config.picketCheck as object | undefined) ?? {})
}

/** The placement checker of a run that placed services (`--place P`), with the simulator's heartbeat and bounds; null without. */
function placementCheckerOf(config: Record<string, unknown>): PlacementChecker | null {
  if (!(Number(config.place) > 0)) return null
  const hbMs = Number((config.config as { hbMs?: unknown } | undefined)?.hbMs)
  if (!(hbMs > 0)) throw new JournalError('the header of a run with placement names no heartbeat (config.config.hbMs)')
  return new PlacementChecker(hbMs, (config.placementCheck as object | undefined) ?? {})
}

function* withFirst(first: string, rest: Iterator<string>): Generator<string> {
  yield first
  for (let r = rest.next(); r.done !== true; r = rest.next()) yield r.value
}
